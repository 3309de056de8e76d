#[tasklane::test(seed = 1, seeds = 10)]
async fn both() {}

#[tasklane::test(seeds = 0)]
async fn none() {}

#[tasklane::test(seed = 1, flavor = "current_thread")]
async fn with_flavor() {}

#[tasklane::main(seeds = 3)]
async fn main() {}

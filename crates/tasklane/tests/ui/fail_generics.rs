#[tasklane::main]
async fn main<T: Default>() {}

#[tasklane::test]
async fn generic_test<'a>() {}

#[tasklane::main(flavor = "single")]
async fn main() {}

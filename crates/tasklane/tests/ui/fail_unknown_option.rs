#[tasklane::main(core_threads = 2)]
async fn main() {}

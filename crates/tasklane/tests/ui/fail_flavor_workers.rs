#[tasklane::test(flavor = "current_thread", worker_threads = 2)]
async fn on_one_thread() {}

fn main() {}

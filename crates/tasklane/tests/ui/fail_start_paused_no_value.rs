#[tasklane::test(start_paused)]
async fn paused() {}

fn main() {}

#[tasklane::test]
fn not_async() {}

fn main() {}

#[tasklane::main]
fn main() {}

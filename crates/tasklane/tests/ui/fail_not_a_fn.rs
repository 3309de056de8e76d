#[tasklane::main]
struct Main;

fn main() {}

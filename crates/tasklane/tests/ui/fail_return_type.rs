// A body of the wrong type is reported at the body's last statement.
#[tasklane::main]
async fn entry() -> u32 {
    let s = " not a number ";
    s.trim()
}

fn main() {
    entry();
}

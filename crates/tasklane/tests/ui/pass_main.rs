#[tasklane::main]
async fn main() {
    let v = tasklane::spawn(async { 6 * 7 }).await.unwrap();
    assert_eq!(v, 42);
}

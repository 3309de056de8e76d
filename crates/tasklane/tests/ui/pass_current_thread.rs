//! `flavor = "current_thread"`: every task runs on the thread of `main`,
//! and a `!Send` future can be spawned.

use std::rc::Rc;

#[tasklane::main(flavor = "current_thread")]
async fn main() {
    let me = std::thread::current().id();
    let on = tasklane::spawn(async { std::thread::current().id() }).await.unwrap();
    assert_eq!(on, me);
    let rc = Rc::new(7);
    let n = tasklane::task::spawn_local(async move {
        tasklane::yield_now().await;
        *rc
    })
    .await
    .unwrap();
    assert_eq!(n, 7);
}

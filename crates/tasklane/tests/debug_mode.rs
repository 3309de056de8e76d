//! Debug mode: each mistake the warnings are for, provoked once, gives one
//! WARN with target `tasklane::debug` naming the task; the same program on
//! a runtime not in debug mode gives none.

#[path = "common/capture.rs"]
mod capture;

use capture::{Capture, EventRec};
use std::future::pending;
use std::time::{Duration, Instant};
use tasklane::Runtime;
use tasklane::task::{self, TaskState, cancellable};
use tasklane::time::sleep;

fn rt(debug: bool) -> Runtime {
    Runtime::builder()
        .worker_threads(2)
        .debug(debug)
        .cancel_warn_after(Duration::from_millis(50))
        .build()
        .unwrap()
}

fn debug_warnings(cap: &Capture, task: &str) -> Vec<EventRec> {
    cap.events()
        .into_iter()
        .filter(|e| e.target == "tasklane::debug" && e.fields.get("name") == Some(task))
        .collect()
}

fn message(e: &EventRec) -> &str {
    e.fields.get("message").unwrap_or("")
}

/// Waits (under a deadline) until `cond` holds.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A task that catches its cancellation, then completes with a value.
async fn swallower() -> u32 {
    match cancellable(sleep(Duration::from_secs(30))).await {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

#[test]
fn a_swallowed_cancellation_is_reported_in_debug_mode_only() {
    for debug in [true, false] {
        let cap = Capture::default();
        cap.run(|| {
            let rt = rt(debug);
            let h = task::Builder::new()
                .name("swallower")
                .spawn_on(swallower(), &rt.handle());
            wait_until("suspended", || h.state() == TaskState::Suspended);
            h.cancel();
            assert_eq!(rt.block_on(h).unwrap(), 1);
        });
        let w = debug_warnings(&cap, "swallower");
        if debug {
            // Only this kind: a slow delivery may also be warned about as
            // pending too long, which is not what this test is about.
            let swallowed: Vec<_> = w
                .iter()
                .filter(|e| message(e).contains("swallowed"))
                .collect();
            assert_eq!(swallowed.len(), 1, "{w:?}");
            assert!(
                swallowed[0]
                    .fields
                    .get("spawned_at")
                    .unwrap()
                    .contains("debug_mode.rs")
            );
        } else {
            assert!(w.is_empty(), "{w:?}");
        }
    }
}

#[test]
fn a_catch_point_left_unpolled_by_a_delivery_is_reported() {
    let cap = Capture::default();
    cap.run(|| {
        let rt = rt(true);
        let h = task::Builder::new().name("select-arm").spawn_on(
            async {
                // The catch point is registered (first polled), then held
                // in a future that is no longer polled: a `select!` arm
                // that lost, kept alive.
                let mut held = Box::pin(cancellable(pending::<()>()));
                let _ = futures_lite::future::poll_once(held.as_mut()).await;
                sleep(Duration::from_secs(30)).await;
                drop(held);
            },
            &rt.handle(),
        );
        wait_until("suspended", || h.state() == TaskState::Suspended);
        h.cancel();
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
    });
    let w = debug_warnings(&cap, "select-arm");
    // Only this kind, as above.
    let unpolled: Vec<_> = w
        .iter()
        .filter(|e| message(e).contains("none polled"))
        .collect();
    assert_eq!(unpolled.len(), 1, "{w:?}");
    assert_eq!(unpolled[0].fields.get("catch_points"), Some("1"));
}

#[test]
fn a_panic_nobody_retrieves_is_reported() {
    let cap = Capture::default();
    cap.run(|| {
        let rt = rt(true);
        // Detached: nobody can retrieve it.
        let h = task::Builder::new()
            .name("detached-panic")
            .spawn_on(async { panic!("lost") }, &rt.handle());
        let r = h.task_ref();
        h.detach();
        wait_until("ended", || r.state() == TaskState::Panicked);
        // Retrieved: no warning.
        let h = task::Builder::new()
            .name("awaited-panic")
            .spawn_on(async { panic!("seen") }, &rt.handle());
        assert!(rt.block_on(h).unwrap_err().is_panic());
        // Its handle dropped once it ended, unread.
        let h = task::Builder::new()
            .name("dropped-panic")
            .spawn_on(async { panic!("unread") }, &rt.handle());
        wait_until("ended", || h.is_finished());
        drop(h);
    });
    assert_eq!(debug_warnings(&cap, "detached-panic").len(), 1);
    assert_eq!(debug_warnings(&cap, "dropped-panic").len(), 1);
    assert!(debug_warnings(&cap, "awaited-panic").is_empty());
    let w = debug_warnings(&cap, "detached-panic");
    assert!(message(&w[0]).contains("nobody retrieved"), "{w:?}");
}

#[test]
fn a_cancellation_pending_too_long_is_reported_and_shown_in_the_dump() {
    let cap = Capture::default();
    cap.run(|| {
        let rt = rt(true);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let h = task::Builder::new().name("stuck").spawn_on(
            async move {
                // One poll that blocks its worker until the test lets go.
                let _ = rx.recv();
            },
            &rt.handle(),
        );
        wait_until("running", || h.state() == TaskState::Running);
        h.cancel();
        wait_until("the warning", || !debug_warnings(&cap, "stuck").is_empty());
        let dump = rt.handle().dump().to_string();
        assert!(dump.contains("cancel pending for"), "{dump}");
        tx.send(()).unwrap();
        let _ = rt.block_on(h);
    });
    let w = debug_warnings(&cap, "stuck");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(message(&w[0]).contains("not been delivered"), "{w:?}");
    let waited: u64 = w[0].fields.get("waited_ms").unwrap().parse().unwrap();
    assert!(waited >= 50, "{waited}");
}

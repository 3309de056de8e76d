//! Where a runtime is "current", and what happens where none is: spawning
//! outside a runtime panics with a clear message, `Handle::try_current()`
//! tells the two apart, and bad builder settings are refused.

mod common;

use common::{Counts, Tracked, payload_str, rt};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use tasklane::{Builder, Handle, Runtime};

/// Runs `f`, expecting a panic whose message mentions a missing runtime.
fn expect_outside_panic<R>(what: &str, f: impl FnOnce() -> R) {
    let err = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("{what} outside a runtime did not panic"),
        Err(e) => e,
    };
    let msg = payload_str(&*err).unwrap_or_else(|| panic!("{what}: non-string panic payload"));
    assert!(
        msg.contains("no tasklane runtime"),
        "{what}: unclear message: {msg:?}"
    );
}

#[test]
fn spawning_outside_a_runtime_panics_clearly() {
    expect_outside_panic("spawn", || tasklane::spawn(async {}));
    expect_outside_panic("spawn_blocking", || tasklane::spawn_blocking(|| ()));
    expect_outside_panic("task::Builder::spawn", || {
        tasklane::task::Builder::new().name("x").spawn(async {})
    });
    expect_outside_panic("Handle::current", Handle::current);
}

/// The future handed to a failed spawn is dropped, not leaked.
#[test]
fn a_refused_spawn_drops_its_future() {
    let counts = Counts::new();
    let fut = Tracked::new(&counts, async {});
    expect_outside_panic("spawn", move || tasklane::spawn(fut));
    assert_eq!((counts.polls(), counts.drops()), (0, 1));
}

#[test]
fn try_current_is_none_outside() {
    assert!(Handle::try_current().is_none());
    let rt = rt(1);
    assert!(
        Handle::try_current().is_none(),
        "building one does not enter it"
    );
    drop(rt);
    assert!(Handle::try_current().is_none());
}

#[test]
fn try_current_is_some_where_tasks_run() {
    let rt = rt(2);
    // In block_on, and only during it.
    assert!(rt.block_on(async { Handle::try_current().is_some() }));
    assert!(Handle::try_current().is_none());

    // In a task and in a blocking job.
    assert!(
        rt.block_on(rt.spawn(async { Handle::try_current().is_some() }))
            .unwrap()
    );
    assert!(
        rt.block_on(
            rt.handle()
                .spawn_blocking(|| Handle::try_current().is_some())
        )
        .unwrap()
    );

    // Not on a plain thread started from a task.
    let on_plain_thread = rt
        .block_on(rt.spawn(async {
            std::thread::spawn(|| Handle::try_current().is_some())
                .join()
                .unwrap()
        }))
        .unwrap();
    assert!(!on_plain_thread);

    // Inside Runtime::enter, until the guard drops; spawn works there.
    {
        let _guard = rt.enter();
        let h = Handle::try_current().expect("entered");
        assert_eq!(h.num_workers(), 2);
        let j = tasklane::spawn(async { 1 });
        assert_eq!(rt.block_on(j).unwrap(), 1);
    }
    assert!(Handle::try_current().is_none());
}

#[test]
fn the_current_handle_spawns_on_its_runtime() {
    let rt = rt(2);
    let v = rt
        .block_on(rt.spawn(async {
            let h = Handle::current();
            h.spawn(async { 4 }).await.unwrap()
                + h.spawn_blocking(|| 5).await.unwrap()
                + tasklane::spawn_blocking(|| 6).await.unwrap()
        }))
        .unwrap();
    assert_eq!(v, 15);
}

/// Nested enter guards restore the previous runtime when they drop.
#[test]
fn enter_guards_nest() {
    let named = |n: &str| {
        Builder::new()
            .worker_threads(1)
            .thread_name(n)
            .build()
            .unwrap()
    };
    let (a, b) = (named("rt-a"), named("rt-b"));
    let thread_name = || async { std::thread::current().name().unwrap().to_owned() };
    let ga = a.enter();
    let on_a = tasklane::spawn(thread_name());
    {
        let _gb = b.enter();
        let on_b = tasklane::spawn(thread_name());
        assert!(b.block_on(on_b).unwrap().starts_with("rt-b-"));
    }
    let again_a = tasklane::spawn(thread_name());
    drop(ga);
    assert!(Handle::try_current().is_none());
    assert!(a.block_on(on_a).unwrap().starts_with("rt-a-"));
    assert!(a.block_on(again_a).unwrap().starts_with("rt-a-"));
}

#[test]
fn block_on_inside_a_task_panics() {
    let outer = rt(1);
    let other = std::sync::Arc::new(rt(1));
    let o = other.clone();
    let err = outer
        .block_on(outer.spawn(async move { o.block_on(async {}) }))
        .unwrap_err();
    let msg = payload_str(&*err.into_panic()).map(str::to_owned);
    assert!(
        msg.as_deref().is_some_and(|m| m.contains("block_on")),
        "{msg:?}"
    );
    // The worker survived and `other` is still whole.
    assert_eq!(outer.block_on(outer.spawn(async { 2 })).unwrap(), 2);
    let other = std::sync::Arc::into_inner(other).expect("the task's clone was dropped");
    assert_eq!(other.block_on(other.spawn(async { 3 })).unwrap(), 3);
}

/// After the runtime is gone, its handle still accepts a spawn but the task
/// is cancelled at once: its body never runs and its future is dropped.
#[test]
fn spawn_on_a_shut_down_runtime_is_cancelled() {
    let rt = rt(1);
    let handle = rt.handle();
    drop(rt);
    let counts = Counts::new();
    let mut h = handle.spawn(Tracked::new(&counts, async {
        unreachable!("ran on a runtime that was shut down")
    }));
    assert!(h.is_finished());
    assert!(h.is_cancelled());
    match common::poll_once(&mut h) {
        std::task::Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
        other => panic!("expected a cancellation, got {other:?}"),
    }
    assert_eq!((counts.polls(), counts.drops()), (0, 1));
}

#[test]
fn zero_workers_is_invalid_input() {
    let err = Builder::new().worker_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = Runtime::builder().worker_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = Builder::new().max_blocking_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn builder_settings_take_effect() {
    let rt = Builder::new()
        .worker_threads(3)
        .thread_name("custom")
        .max_blocking_threads(4)
        .build()
        .unwrap();
    assert_eq!(rt.handle().num_workers(), 3);
    let name = rt
        .block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }))
        .unwrap()
        .unwrap();
    assert!(name.starts_with("custom-worker-"), "{name}");
    let blocking = rt
        .block_on(
            rt.handle()
                .spawn_blocking(|| std::thread::current().name().map(str::to_owned)),
        )
        .unwrap()
        .unwrap();
    assert_eq!(blocking, "custom-blocking");
    let default = Runtime::new().unwrap();
    assert!(default.handle().num_workers() >= 1);
}

//! A panic in a task reaches its `JoinHandle` and never takes down a worker,
//! whether it comes from a poll, from the future's destructor (at completion
//! or during cancellation) or from the output's destructor.
//!
//! The runtimes here have one worker, and each test checks that later tasks
//! still run on that same thread.

mod common;

use common::{Counts, DropCounter, Tracked, payload_str, rt, spin_until};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::thread::{self, ThreadId};
use tasklane::Runtime;
use tasklane::task::TaskState;

/// The thread the (single) worker runs on, seen from a task.
fn worker_thread(rt: &Runtime) -> ThreadId {
    rt.block_on(rt.spawn(async { thread::current().id() }))
        .unwrap()
}

/// Panics in its destructor.
struct PanicOnDrop(&'static str, Arc<Counts>);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.1.drops.fetch_add(1, Ordering::SeqCst);
        panic!("{}", self.0);
    }
}

#[test]
fn panic_reaches_the_handle_with_its_payload() {
    let rt = rt(1);
    let h = rt.spawn(async {
        if true {
            panic!("boom");
        }
        1u8
    });
    let id = h.id();
    let mut h = h;
    let err = rt.block_on(&mut h).unwrap_err();
    assert!(err.is_panic());
    assert!(!err.is_cancelled());
    assert_eq!(err.id(), id);
    assert_eq!(h.state(), TaskState::Panicked);
    assert!(h.is_finished());
    assert!(!h.is_cancelled());
    let shown = err.to_string();
    assert!(shown.contains("boom"), "Display names the message: {shown}");
    assert!(
        shown.contains(&id.to_string()),
        "Display names the task: {shown}"
    );
    let payload = err.into_panic();
    assert_eq!(payload_str(&*payload), Some("boom"));
}

#[test]
fn formatted_and_custom_payloads_are_kept() {
    let rt = rt(1);
    let n = 17;
    let err = rt
        .block_on(rt.spawn(async move {
            if n > 0 {
                panic!("value was {n}");
            }
        }))
        .unwrap_err();
    assert_eq!(payload_str(&*err.into_panic()), Some("value was 17"));

    let err = rt
        .block_on(rt.spawn(async { std::panic::panic_any(42u32) }))
        .unwrap_err();
    assert!(err.to_string().contains("panicked"));
    assert_eq!(err.into_panic().downcast_ref::<u32>(), Some(&42));
}

#[test]
fn worker_survives_many_panics() {
    let rt = rt(1);
    let before = worker_thread(&rt);
    let handles: Vec<_> = (0..50)
        .map(|i| {
            rt.spawn(async move {
                if i % 2 == 0 {
                    tasklane::yield_now().await;
                }
                panic!("task {i}");
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let err = rt.block_on(h).unwrap_err();
        assert_eq!(payload_str(&*err.into_panic()), Some(&*format!("task {i}")));
    }
    assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
    assert_eq!(
        worker_thread(&rt),
        before,
        "the same worker thread lives on"
    );
}

#[test]
fn a_panicking_future_is_dropped_exactly_once() {
    let rt = rt(1);
    let counts = Counts::new();
    let h = rt.spawn(Tracked::new(&counts, async {
        tasklane::yield_now().await;
        panic!("after a suspension");
    }));
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(counts.polls(), 2);
    assert_eq!(counts.drops(), 1);
}

#[test]
fn panic_in_poll_then_panic_in_drop_reports_the_first() {
    /// Panics when polled, and again when dropped.
    struct Both(Arc<Counts>);
    impl Future for Both {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            panic!("first: poll");
        }
    }
    impl Drop for Both {
        fn drop(&mut self) {
            self.0.drops.fetch_add(1, Ordering::SeqCst);
            panic!("second: drop");
        }
    }
    let rt = rt(1);
    let before = worker_thread(&rt);
    let counts = Counts::new();
    let err = rt.block_on(rt.spawn(Both(counts.clone()))).unwrap_err();
    assert_eq!(payload_str(&*err.into_panic()), Some("first: poll"));
    assert_eq!(counts.drops(), 1);
    assert_eq!(worker_thread(&rt), before);
}

#[test]
fn panic_in_future_drop_at_completion_is_a_panic_and_output_is_dropped() {
    /// Ready at once with a counted output, panics when dropped.
    struct ReadyThenPanic {
        outs: Arc<Counts>,
        futs: Arc<Counts>,
    }
    impl Future for ReadyThenPanic {
        type Output = DropCounter;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<DropCounter> {
            Poll::Ready(DropCounter::new(&self.outs))
        }
    }
    impl Drop for ReadyThenPanic {
        fn drop(&mut self) {
            self.futs.drops.fetch_add(1, Ordering::SeqCst);
            panic!("drop of a finished future");
        }
    }
    let rt = rt(1);
    let before = worker_thread(&rt);
    let (outs, futs) = (Counts::new(), Counts::new());
    let mut h = rt.spawn(ReadyThenPanic {
        outs: outs.clone(),
        futs: futs.clone(),
    });
    let err = rt.block_on(&mut h).unwrap_err();
    assert_eq!(
        payload_str(&*err.into_panic()),
        Some("drop of a finished future")
    );
    assert_eq!(h.state(), TaskState::Panicked);
    assert_eq!(futs.drops(), 1);
    assert_eq!(outs.created(), 1);
    assert_eq!(outs.drops(), 1, "the output nobody can receive is dropped");
    assert_eq!(worker_thread(&rt), before);
}

/// The future's destructor panics while a cancellation drops it: the task
/// ends `Panicked` with that payload (as asyncio reports an exception raised
/// while handling `CancelledError`), and the worker lives on.
#[test]
fn panic_in_future_drop_during_cancel() {
    let rt = rt(1);
    let before = worker_thread(&rt);
    let counts = Counts::new();
    let guard = PanicOnDrop("drop during cancel", counts.clone());
    let mut h = rt.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    spin_until("task suspended", || h.state() == TaskState::Suspended);
    assert!(h.cancel());
    let err = rt.block_on(&mut h).unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(payload_str(&*err.into_panic()), Some("drop during cancel"));
    assert_eq!(h.state(), TaskState::Panicked);
    assert_eq!(counts.drops(), 1);
    assert_eq!(worker_thread(&rt), before);
}

/// Same, when the cancellation comes from dropping the handle: nobody
/// receives the panic, and nothing else notices.
#[test]
fn panic_in_future_drop_when_handle_dropped() {
    let rt = rt(1);
    let before = worker_thread(&rt);
    let counts = Counts::new();
    let guard = PanicOnDrop("drop after handle dropped", counts.clone());
    let h = rt.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    spin_until("task suspended", || h.state() == TaskState::Suspended);
    drop(h);
    spin_until("future dropped", || counts.drops() == 1);
    assert_eq!(worker_thread(&rt), before);
}

/// The output's destructor panics when the handle drops it: the panic stays
/// inside the runtime's drop of the output.
#[test]
fn panic_in_output_drop_when_the_handle_drops_it() {
    let rt = rt(1);
    let counts = Counts::new();
    let c = counts.clone();
    let h = rt.spawn(async move { PanicOnDrop("output drop via handle", c) });
    spin_until("task finished", || h.is_finished());
    assert_eq!(h.state(), TaskState::Completed);
    drop(h); // must not panic here
    assert_eq!(counts.drops(), 1);
}

/// The output of a detached task is dropped on the worker; its panic must
/// not kill the worker.
#[test]
fn panic_in_output_drop_of_a_detached_task() {
    let rt = rt(1);
    let before = worker_thread(&rt);
    let counts = Counts::new();
    for _ in 0..10 {
        let c = counts.clone();
        rt.spawn(async move { PanicOnDrop("output drop on worker", c) })
            .detach();
    }
    spin_until("every output dropped", || counts.drops() == 10);
    assert_eq!(worker_thread(&rt), before);
    assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
}

/// A joiner that receives an output and drops it panics in its own code, as
/// any Rust code would; the runtime is unaffected.
#[test]
fn joiner_may_resume_a_panic() {
    let rt = rt(1);
    let joiner = rt.spawn(async {
        let err = tasklane::spawn(async { panic!("inner") })
            .await
            .unwrap_err();
        std::panic::resume_unwind(err.into_panic());
    });
    let err = rt.block_on(joiner).unwrap_err();
    assert_eq!(payload_str(&*err.into_panic()), Some("inner"));
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    rt.block_on(rt.spawn(async move { r.fetch_add(1, Ordering::SeqCst) }))
        .unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

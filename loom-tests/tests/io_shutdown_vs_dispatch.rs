//! `tasklane-io`'s `ScheduledIo`: deregistration (`shutdown`) racing the
//! reactor's `dispatch` and the polls of waiting tasks. Once `shutdown`
//! has returned, every poll (on its thread right after it, and anywhere
//! after a join) returns `Err(Shutdown)` and stores no waker; a dispatch
//! that `shutdown` happens-before reports nothing and wakes nothing; a
//! dispatch racing it wakes a waiting task at most once, and only if it
//! wrote its readiness before the shutdown; `shutdown(true)` wakes a task
//! whose wait it ends, so a pending poll is woken exactly once. Every waker
//! clone is dropped at the end: `shutdown` drops the stored ones.
#![cfg(tasklane_loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::io::{PollReady, Spawn, assert_no_clone, assert_shut_down, poll, race};
use loom_tests::mock::{self, CountingWaker};
use std::sync::Arc as StdArc;
use std::task::{Poll, Waker};
use tasklane_io::{Interest, Ready, ScheduledIo, Shutdown};

/// A task waiting in `interest` on `io` (its poll was pending).
fn waiting(io: &ScheduledIo, interest: Interest) -> (StdArc<CountingWaker>, Waker) {
    let (count, waker) = CountingWaker::new();
    assert!(poll(io, &waker, interest).is_pending());
    (count, waker)
}

/// Deregistration: `shutdown(wake)`, then, right after it returned, a poll
/// on the same thread, which must see the shutdown.
fn shutdown_and_poll(io: &ScheduledIo, wake: bool) {
    io.shutdown(wake);
    let polled = poll(io, Waker::noop(), Interest::READ);
    assert!(
        matches!(polled, Poll::Ready(Err(Shutdown))),
        "a poll right after shutdown returned {polled:?}"
    );
}

/// [`shutdown_and_poll`] on a thread of its own.
fn shutdown(io: &Arc<ScheduledIo>, wake: bool) -> thread::JoinHandle<()> {
    let io = io.clone();
    thread::spawn(move || shutdown_and_poll(&io, wake))
}

/// The reactor thread dispatches `READABLE`.
fn dispatch(io: &Arc<ScheduledIo>) -> thread::JoinHandle<Ready> {
    let io = io.clone();
    thread::spawn(move || io.dispatch(Ready::READABLE))
}

/// A task thread that polls `io` for reading once.
fn task(io: &Arc<ScheduledIo>) -> thread::JoinHandle<(PollReady, StdArc<CountingWaker>, Waker)> {
    let io = io.clone();
    thread::spawn(move || {
        let (count, waker) = CountingWaker::new();
        (poll(&io, &waker, Interest::READ), count, waker)
    })
}

/// A reader polls while the source is shut down (`shutdown(false)`); the
/// dispatch thread is spawned only after the shutdown thread joined (so
/// `shutdown` happens-before it) and runs while the reader may still be
/// polling. The dispatch reports nothing and wakes nothing; the reader was
/// pending (its waker then dropped by `shutdown`, not woken) or saw the
/// shutdown. Unbounded.
#[test]
fn io_shutdown_then_dispatch() {
    mock::model(None, || {
        let io = Arc::new(ScheduledIo::new());
        let reader = task(&io);
        shutdown(&io, false).join().unwrap();
        assert_shut_down(&io);
        let reactor = dispatch(&io);
        assert_eq!(
            reactor.join().unwrap(),
            Ready::EMPTY,
            "a dispatch after shutdown"
        );
        let (polled, count, waker) = reader.join().unwrap();
        assert!(
            matches!(polled, Poll::Pending | Poll::Ready(Err(Shutdown))),
            "nothing was ready, yet the poll returned {polled:?}"
        );
        assert_eq!(count.wakes(), 0, "woken after shutdown(false)");
        assert_eq!(io.readiness(), Ready::EMPTY);
        assert_shut_down(&io);
        assert_no_clone(count, waker);
    });
}

/// A reader and a writer wait (their polls were pending) while one thread
/// shuts the source down (`shutdown(false)`) and another dispatches
/// `READABLE`; each way round (`loom_tests::io::race`). The reader is woken
/// at most once, and not at all if the dispatch saw the shutdown; the
/// writer is never woken; both wakers are dropped. Unbounded.
#[test]
fn io_shutdown_vs_dispatch() {
    for spawn in Spawn::BOTH {
        mock::model(None, move || {
            let io = Arc::new(ScheduledIo::new());
            let (r_count, r_waker) = waiting(&io, Interest::READ);
            let (w_count, w_waker) = waiting(&io, Interest::WRITE);
            let ((), dispatched) = race(
                spawn,
                {
                    let io = io.clone();
                    move || shutdown_and_poll(&io, false)
                },
                {
                    let io = io.clone();
                    move || io.dispatch(Ready::READABLE)
                },
            );
            assert!(dispatched == Ready::EMPTY || dispatched == Ready::READABLE);
            let wakes = r_count.wakes();
            assert!(wakes <= 1, "the reader was woken {wakes} times");
            if dispatched.is_empty() {
                assert_eq!(wakes, 0, "a dispatch that saw the shutdown woke the reader");
            }
            assert_eq!(w_count.wakes(), 0, "READABLE woke the writer");
            assert_shut_down(&io);
            assert_no_clone(r_count, r_waker);
            assert_no_clone(w_count, w_waker);
        });
    }
}

/// Shutdown, dispatch and a reader's poll on three threads, with
/// `shutdown(wake)`; the reader's poll is ready (the dispatch won), sees
/// the shutdown, or is pending and then woken at most once, exactly once
/// if `wake`.
fn shutdown_vs_dispatch_vs_poll(wake: bool) {
    let io = Arc::new(ScheduledIo::new());
    let reader = task(&io);
    let deregister = shutdown(&io, wake);
    let reactor = dispatch(&io);
    deregister.join().unwrap();
    let dispatched = reactor.join().unwrap();
    let (polled, count, waker) = reader.join().unwrap();
    let wakes = count.wakes();
    match polled {
        Poll::Ready(Ok(event)) => {
            assert_eq!(event.ready, Ready::READABLE);
            assert_eq!(dispatched, Ready::READABLE);
            assert_eq!(wakes, 0, "ready at once, yet woken");
        }
        Poll::Ready(Err(Shutdown)) => assert_eq!(wakes, 0, "saw the shutdown, yet woken"),
        Poll::Pending if wake => assert_eq!(wakes, 1, "pending, woken {wakes} times"),
        Poll::Pending => assert!(wakes <= 1, "pending, woken {wakes} times"),
    }
    if dispatched.is_empty() && !wake {
        assert_eq!(wakes, 0, "a dispatch that saw the shutdown woke the reader");
    }
    assert_shut_down(&io);
    assert_no_clone(count, waker);
}

/// Three threads, `shutdown(false)` (deregistration by the source's
/// owner). 4 preemptions (36 306 executions; unbounded it
/// is 257 007 executions, and passes).
#[test]
fn io_shutdown_vs_dispatch_vs_poll() {
    mock::model(Some(4), || shutdown_vs_dispatch_vs_poll(false));
}

/// Three threads, `shutdown(true)` (the reactor going away): a pending
/// reader is always woken, once. 4 preemptions, as above.
#[test]
fn io_shutdown_wake_vs_dispatch_vs_poll() {
    mock::model(Some(4), || shutdown_vs_dispatch_vs_poll(true));
}

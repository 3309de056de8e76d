//! `tasklane-io`'s `ScheduledIo`: a task whose I/O call said "would block"
//! clears the readiness it was handed (`clear_readiness(event)`) while the
//! reactor dispatches new readiness on another thread. The clear removes
//! only readiness at least as old as its event (the tick): if the dispatch
//! came first, the clear is stale and does nothing; if the clear came
//! first, the dispatch sets the bit again. Either way the newer readiness is
//! never lost: the word holds it after both, and a follow-up poll is ready
//! at once, without storing a waker. A task that polls again right after
//! its clear, racing the dispatch, is ready or woken exactly once.
//!
//! A hang-up (`READ_CLOSED`, never cleared) or an error (`ERROR`, cleared
//! with the direction's bit by a current clear) that races the clear is
//! kept, whichever comes first. Each model runs each way round
//! (`loom_tests::io::race`).
#![cfg(tasklane_loom)]

use loom::sync::Arc;
use loom_tests::io::{Spawn, assert_no_clone, assert_ready_or_woken, poll, race, ready};
use loom_tests::mock::{self, CountingWaker};
use tasklane_io::{Interest, Ready, ScheduledIo};

/// A source that is `READABLE` (one dispatch made), and the event a
/// reader's poll got from it.
fn readable() -> (Arc<ScheduledIo>, tasklane_io::ReadyEvent) {
    let io = Arc::new(ScheduledIo::new());
    assert_eq!(io.dispatch(Ready::READABLE), Ready::READABLE);
    let (count, waker) = CountingWaker::new();
    let event = ready(poll(&io, &waker, Interest::READ));
    assert_eq!(event.ready, Ready::READABLE);
    assert_no_clone(count, waker);
    (io, event)
}

/// After every thread has joined: `io` holds `expect`, and a reader's
/// poll, with a fresh waker, is ready with it at once and keeps no clone of
/// the waker.
fn assert_still_ready(io: &ScheduledIo, expect: Ready) {
    assert!(
        io.readiness().contains(expect),
        "readiness lost: the word holds {:?}",
        io.readiness()
    );
    let (count, waker) = CountingWaker::new();
    let event = ready(poll(io, &waker, Interest::READ));
    assert!(event.ready.contains(expect));
    assert_eq!(count.wakes(), 0);
    assert_no_clone(count, waker);
}

/// The task clears the event it got while the reactor dispatches
/// `READABLE` again; each way round ([`race`]). Unbounded.
#[test]
fn io_clear_vs_dispatch() {
    for spawn in Spawn::BOTH {
        mock::model(None, move || {
            let (io, event) = readable();
            let ((), dispatched) = race(
                spawn,
                {
                    let io = io.clone();
                    move || io.clear_readiness(event)
                },
                {
                    let io = io.clone();
                    move || io.dispatch(Ready::READABLE)
                },
            );
            assert_eq!(dispatched, Ready::READABLE);
            assert_still_ready(&io, Ready::READABLE);
        });
    }
}

/// The rest of the reader loop, racing a dispatch of `READABLE`: with the
/// event it got before the dispatch, "would block", clear, poll again. The
/// second poll is ready (it saw the dispatch) or pending, and then its
/// waker is woken exactly once. Each way round. Unbounded.
#[test]
fn io_clear_poll_vs_dispatch() {
    for spawn in Spawn::BOTH {
        mock::model(None, move || {
            let (io, event) = readable();
            let ((polled, count, waker), dispatched) = race(
                spawn,
                {
                    let io = io.clone();
                    move || {
                        let (count, waker) = CountingWaker::new();
                        io.clear_readiness(event);
                        (poll(&io, &waker, Interest::READ), count, waker)
                    }
                },
                {
                    let io = io.clone();
                    move || io.dispatch(Ready::READABLE)
                },
            );
            assert_eq!(dispatched, Ready::READABLE);
            assert_ready_or_woken(&polled, &count);
            assert_still_ready(&io, Ready::READABLE);
            assert_no_clone(count, waker);
        });
    }
}

/// The clear races `bit` (a hang-up or an error), not new data: `bit`
/// stays whichever comes first, so the reader is ready (and sees the end of
/// the stream, or the error) without waiting. `READABLE` is gone exactly
/// when the clear came first.
fn clear_vs(spawn: Spawn, bit: Ready) {
    let (io, event) = readable();
    let ((), dispatched) = race(
        spawn,
        {
            let io = io.clone();
            move || io.clear_readiness(event)
        },
        {
            let io = io.clone();
            move || io.dispatch(bit)
        },
    );
    assert!(dispatched.contains(bit));
    // What the dispatch returned is the word it wrote; the clear, if it
    // came later, was stale and left it as it was.
    assert_eq!(io.readiness(), dispatched);
    assert_still_ready(&io, bit);
}

/// A hang-up (`READ_CLOSED`, which no clear removes) races the clear; each
/// way round. Unbounded.
#[test]
fn io_clear_vs_hang_up() {
    for spawn in Spawn::BOTH {
        mock::model(None, move || clear_vs(spawn, Ready::READ_CLOSED));
    }
}

/// An error (`ERROR`, which a clear with a current tick does remove: the OS
/// reports a pending error once) races the clear: an error that arrived
/// after the event is kept. Each way round. Unbounded.
#[test]
fn io_clear_vs_error() {
    for spawn in Spawn::BOTH {
        mock::model(None, move || clear_vs(spawn, Ready::ERROR));
    }
}

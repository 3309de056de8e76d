//! `tasklane-io`'s `ScheduledIo`: readiness arriving (the reactor's
//! `dispatch`) on one thread while a task registers its waker
//! (`poll_ready`) on another. No wake-up is lost: a poll that returned
//! pending had its waker woken exactly once by the dispatch, and a poll
//! that returned ready stored no waker (it is never woken). A task that saw
//! the readiness also sees the data the peer wrote before the dispatch
//! (`io::Source`: a loom cell, so a readiness word that is not a
//! release/acquire hand-off is reported). Every waker clone is dropped at
//! the end.
//!
//! Covered: the read direction, the write direction, a reader and a writer
//! waiting on two threads for one dispatch of both, and a hang-up
//! (`READ_CLOSED`) alone, which ends the reader's wait and not the
//! writer's.
#![cfg(tasklane_loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::io::{
    PollReady, Source, Spawn, assert_no_clone, assert_ready_or_woken, poll, race, ready,
};
use loom_tests::mock::{self, CountingWaker};
use std::task::Poll;
use tasklane_io::{Interest, Ready};

/// A task on the calling thread: polls `source` in the `interest` direction
/// once; if the poll was ready, reads the data the delivery published.
/// Returns the poll, the waker's counter and the waker.
fn task(
    source: &Source,
    interest: Interest,
) -> (PollReady, std::sync::Arc<CountingWaker>, std::task::Waker) {
    let (count, waker) = CountingWaker::new();
    let polled = poll(&source.io, &waker, interest);
    if let Poll::Ready(Ok(event)) = &polled {
        assert!(!event.ready.is_empty());
        assert_eq!(
            source.data(),
            1,
            "ready, yet the delivery's data is not seen"
        );
    }
    (polled, count, waker)
}

/// The reactor delivers `deliver` while a task polls `interest`, on two
/// threads (`spawn` says which side is spawned, [`race`]); afterwards the
/// task polls again (it was woken, or it was ready) and finds `expect`.
fn ready_vs_register(spawn: Spawn, interest: Interest, deliver: Ready, expect: Ready) {
    let source = Arc::new(Source::new());
    let ((polled, count, waker), delivered) = race(
        spawn,
        {
            let source = source.clone();
            move || task(&source, interest)
        },
        {
            let source = source.clone();
            move || source.deliver(deliver)
        },
    );
    assert_eq!(delivered, deliver);
    assert_ready_or_woken(&polled, &count);
    // The poll the wake (or the readiness) leads to.
    let event = ready(poll(&source.io, &waker, interest));
    assert_eq!(event.ready, expect);
    assert_eq!(source.data(), 1);
    assert_eq!(count.wakes(), if polled.is_pending() { 1 } else { 0 });
    assert_no_clone(count, waker);
}

/// A reader registers while `READABLE` arrives; each way round. Unbounded.
#[test]
fn io_read_ready_vs_register() {
    for spawn in Spawn::BOTH {
        mock::model(None, move || {
            ready_vs_register(spawn, Interest::READ, Ready::READABLE, Ready::READABLE);
        });
    }
}

/// A writer registers while `WRITABLE` arrives; each way round. Unbounded.
#[test]
fn io_write_ready_vs_register() {
    for spawn in Spawn::BOTH {
        mock::model(None, move || {
            ready_vs_register(spawn, Interest::WRITE, Ready::WRITABLE, Ready::WRITABLE);
        });
    }
}

/// A reader and a writer register on two threads while the reactor (the
/// main thread) delivers `READABLE | WRITABLE` in one dispatch: each is
/// ready or woken once. Unbounded.
#[test]
fn io_both_ready_vs_two_tasks() {
    mock::model(None, || {
        let source = Arc::new(Source::new());
        let spawn_task = |interest| {
            let source = source.clone();
            thread::spawn(move || task(&source, interest))
        };
        let reader = spawn_task(Interest::READ);
        let writer = spawn_task(Interest::WRITE);
        let both = Ready::READABLE | Ready::WRITABLE;
        assert_eq!(source.deliver(both), both);
        for (task, interest, expect) in [
            (reader, Interest::READ, Ready::READABLE),
            (writer, Interest::WRITE, Ready::WRITABLE),
        ] {
            let (polled, count, waker) = task.join().unwrap();
            assert_ready_or_woken(&polled, &count);
            let event = ready(poll(&source.io, &waker, interest));
            assert_eq!(event.ready, expect);
            assert_no_clone(count, waker);
        }
    });
}

/// Only a hang-up arrives (`READ_CLOSED`) while a reader and a writer
/// register on three threads: it ends the reader's wait (ready with
/// `READ_CLOSED`, or woken once) and not the writer's (pending, not woken,
/// its waker still stored: a later `WRITABLE` wakes it once). The writer is
/// always spawned; the reader runs on the main thread and the reactor is
/// spawned, then the other way round. Unbounded.
#[test]
fn io_read_closed_vs_register() {
    for reader_on_main in [true, false] {
        mock::model(None, move || read_closed_vs_register(reader_on_main));
    }
}

fn read_closed_vs_register(reader_on_main: bool) {
    let source = Arc::new(Source::new());
    let spawn_task = |interest| {
        let source = source.clone();
        thread::spawn(move || task(&source, interest))
    };
    let writer = spawn_task(Interest::WRITE);
    let (polled, count, waker) = if reader_on_main {
        let reactor = {
            let source = source.clone();
            thread::spawn(move || source.deliver(Ready::READ_CLOSED))
        };
        let reader = task(&source, Interest::READ);
        assert_eq!(reactor.join().unwrap(), Ready::READ_CLOSED);
        reader
    } else {
        let reader = spawn_task(Interest::READ);
        assert_eq!(source.deliver(Ready::READ_CLOSED), Ready::READ_CLOSED);
        reader.join().unwrap()
    };
    let (w_polled, w_count, w_waker) = writer.join().unwrap();
    assert_ready_or_woken(&polled, &count);
    let event = ready(poll(&source.io, &waker, Interest::READ));
    assert_eq!(event.ready, Ready::READ_CLOSED);
    assert!(event.ready.is_readable());
    assert_no_clone(count, waker);

    assert!(
        w_polled.is_pending(),
        "a hang-up of reads ended a write wait"
    );
    assert_eq!(w_count.wakes(), 0, "a hang-up of reads woke the writer");
    assert_eq!(
        source.io.dispatch(Ready::WRITABLE),
        Ready::READ_CLOSED | Ready::WRITABLE
    );
    assert_eq!(
        w_count.wakes(),
        1,
        "the writer's stored waker was not woken"
    );
    assert_no_clone(w_count, w_waker);
}

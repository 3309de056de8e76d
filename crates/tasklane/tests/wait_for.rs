//! `wait_for(fut, timeout)`: the value if `fut` finishes in time, otherwise
//! `Err(Elapsed)` no sooner than the timeout, with `fut` dropped exactly once
//! by then; a ready future beats even a zero timeout; `&mut JoinHandle` can
//! be waited on and awaited again; nesting works; the timer leaves the wheel
//! either way; `Elapsed` is a proper error.

mod common;

use common::{Counts, DropCounter, Tracked, payload_str, rt};
use futures_channel::oneshot;
use std::error::Error;
use std::fmt::Debug;
use std::future::{Future, pending, poll_fn, ready};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use tasklane::task::TaskState;
use tasklane::time::{Instant, sleep};
use tasklane::{Elapsed, Handle, wait_for};

const MS: Duration = Duration::from_millis(1);
/// Far beyond any wait a test makes: a timeout this long never expires here.
const LONG: Duration = Duration::from_secs(60);
/// Generous upper bound for a short wait on a loaded machine.
const GENEROUS: Duration = Duration::from_secs(2);
/// Shorter than a millisecond: a few timer ticks.
const TICK_ISH: Duration = Duration::from_micros(150);

/// Polls `fut` once, from the current task (or `block_on`), with its waker.
async fn poll_here<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

#[test]
fn the_value_when_the_future_finishes_in_time() {
    let rt = rt(2);
    let check = || async {
        assert_eq!(wait_for(async { 7 }, LONG).await, Ok(7));
        let slow = async {
            sleep(10 * MS).await;
            "done"
        };
        let start = Instant::now();
        assert_eq!(wait_for(slow, LONG).await, Ok("done"));
        assert!(start.elapsed() < GENEROUS);
        // A task's handle, by value.
        let h = tasklane::spawn(async {
            sleep(5 * MS).await;
            3
        });
        assert_eq!(wait_for(h, LONG).await.unwrap().unwrap(), 3);
        // Huge timeouts are clamped, not a panic.
        assert_eq!(wait_for(async { 1 }, Duration::MAX).await, Ok(1));
        let slow = async {
            sleep(5 * MS).await;
            2
        };
        assert_eq!(wait_for(slow, Duration::MAX).await, Ok(2));
    };
    rt.block_on(rt.spawn(check())).unwrap();
    rt.block_on(check());
}

/// `Err(Elapsed)` once the timeout has passed, and not before it.
#[test]
fn elapsed_after_the_timeout_and_not_before() {
    let rt = rt(2);
    let check = || async {
        for timeout in [TICK_ISH, MS, 5 * MS, 20 * MS] {
            let start = Instant::now();
            let r = wait_for(pending::<()>(), timeout).await;
            let took = start.elapsed();
            assert!(r.is_err());
            assert!(took >= timeout, "gave up after {took:?} of {timeout:?}");
            assert!(took < GENEROUS, "{timeout:?}: took {took:?}");

            let start = Instant::now();
            assert!(wait_for(sleep(LONG), timeout).await.is_err());
            assert!(start.elapsed() >= timeout);
        }
    };
    rt.block_on(rt.spawn(check())).unwrap();
    rt.block_on(check());
}

/// On expiry the inner future is dropped, exactly once, before `Err` is
/// returned (not later, when the `WaitFor` itself is dropped), and it is
/// not polled again.
#[test]
fn the_future_is_dropped_once_when_the_timeout_passes() {
    let rt = rt(2);
    let check = || async {
        let (futs, guards) = (Counts::new(), Counts::new());
        let guard = DropCounter::new(&guards);
        let inner = Tracked::new(&futs, async move {
            let _guard = guard;
            pending::<()>().await;
        });
        let mut w = Box::pin(wait_for(inner, 10 * MS));
        assert!(w.as_mut().await.is_err());
        assert_eq!(futs.drops(), 1, "dropped by the time Err is returned");
        assert_eq!(guards.drops(), 1, "what it owned was dropped with it");
        let polls = futs.polls();
        assert!(polls >= 1);
        drop(w);
        assert_eq!((futs.drops(), guards.drops()), (1, 1), "dropped once");
        assert_eq!(futs.polls(), polls, "not polled after the timeout");

        // When the future wins, it is dropped once too.
        let futs = Counts::new();
        let inner = Tracked::new(&futs, async {
            sleep(5 * MS).await;
            4
        });
        let mut w = Box::pin(wait_for(inner, LONG));
        assert_eq!(w.as_mut().await, Ok(4));
        assert_eq!(futs.drops(), 1, "dropped when it finished");
        drop(w);
        assert_eq!(futs.drops(), 1);

        // A `WaitFor` dropped before either outcome drops its future once.
        let futs = Counts::new();
        let mut w = Box::pin(wait_for(Tracked::new(&futs, pending::<()>()), LONG));
        assert!(poll_here(&mut w).await.is_pending());
        drop(w);
        assert_eq!((futs.polls(), futs.drops()), (1, 1));
    };
    rt.block_on(rt.spawn(check())).unwrap();
    rt.block_on(check());
}

/// The future is polled before the timer: one that is ready wins even
/// against a zero timeout; one that is not loses to it.
#[test]
fn a_ready_future_wins_against_a_zero_timeout() {
    let rt = rt(2);
    let check = || async {
        assert_eq!(wait_for(async { 5 }, Duration::ZERO).await, Ok(5));
        assert_eq!(wait_for(ready("now"), Duration::ZERO).await, Ok("now"));
        // A finished task's handle is ready.
        let h = tasklane::spawn(async { 6 });
        common::yield_until(|| h.is_finished()).await;
        assert_eq!(wait_for(h, Duration::ZERO).await.unwrap().unwrap(), 6);
        // Not ready: the zero timeout has passed by the time the timer is
        // looked at.
        assert!(wait_for(pending::<()>(), Duration::ZERO).await.is_err());
        assert!(wait_for(sleep(LONG), Duration::ZERO).await.is_err());
        assert_eq!(Handle::current().num_timers(), 0);
    };
    rt.block_on(rt.spawn(check())).unwrap();
    rt.block_on(check());
}

/// A timeout on `&mut JoinHandle` neither cancels nor consumes the task: it
/// goes on, and the handle can be awaited (or waited on) again for its
/// value.
#[test]
fn a_join_handle_can_be_awaited_again_after_a_timeout() {
    let rt = rt(2);
    // From block_on.
    let (tx, rx) = oneshot::channel::<u32>();
    let mut h = rt.spawn(async move { rx.await.unwrap() * 2 });
    assert!(rt.block_on(wait_for(&mut h, 10 * MS)).is_err());
    assert!(rt.block_on(wait_for(&mut h, MS)).is_err());
    assert!(!h.is_finished());
    assert!(!h.is_cancelled());
    tx.send(21).unwrap();
    assert_eq!(rt.block_on(&mut h).unwrap(), 42);
    assert_eq!(h.state(), TaskState::Completed);

    // From a task, finishing under a second wait_for.
    let v = rt
        .block_on(rt.spawn(async {
            let (tx, rx) = oneshot::channel::<u32>();
            let mut h = tasklane::spawn(async move { rx.await.unwrap() + 1 });
            assert!(wait_for(&mut h, 10 * MS).await.is_err());
            assert!(!h.is_finished());
            tx.send(9).unwrap();
            wait_for(&mut h, LONG).await.unwrap().unwrap()
        }))
        .unwrap();
    assert_eq!(v, 10);
}

#[test]
fn wait_for_nests() {
    let rt = rt(2);
    let check = || async {
        let h = Handle::current();
        // The inner timeout expires first: the outer one returns its Err.
        let start = Instant::now();
        let r = wait_for(wait_for(pending::<()>(), 20 * MS), LONG).await;
        assert!(matches!(r, Ok(Err(_))), "{r:?}");
        assert!(start.elapsed() >= 20 * MS);
        assert_eq!(h.num_timers(), 0);

        // The outer one expires first: the inner wait_for is dropped, with
        // its timer and its future's.
        let start = Instant::now();
        let r = wait_for(wait_for(sleep(LONG), LONG), 20 * MS).await;
        assert!(r.is_err(), "{r:?}");
        assert!(start.elapsed() >= 20 * MS);
        assert_eq!(h.num_timers(), 0);

        // Neither expires.
        let inner = async {
            sleep(5 * MS).await;
            3
        };
        assert_eq!(wait_for(wait_for(inner, LONG), LONG).await, Ok(Ok(3)));

        // Three deep, the middle one shortest.
        let start = Instant::now();
        let r = wait_for(wait_for(wait_for(sleep(LONG), LONG), 10 * MS), LONG).await;
        assert!(matches!(r, Ok(Err(_))), "{r:?}");
        assert!(start.elapsed() >= 10 * MS);
        assert_eq!(h.num_timers(), 0);
    };
    rt.block_on(rt.spawn(check())).unwrap();
    rt.block_on(check());
}

/// The timeout's timer leaves the wheel whichever side wins, and when the
/// `WaitFor` is dropped unfinished.
#[test]
fn the_timer_is_freed_after_either_outcome() {
    let rt = rt(2);
    let check = || async {
        let h = Handle::current();
        let fast = async {
            sleep(5 * MS).await;
            1
        };
        assert_eq!(wait_for(fast, LONG).await, Ok(1));
        assert_eq!(h.num_timers(), 0, "after Ok");

        assert!(wait_for(sleep(LONG), 5 * MS).await.is_err());
        assert_eq!(h.num_timers(), 0, "after Err");

        let mut w = Box::pin(wait_for(sleep(LONG), LONG));
        assert!(poll_here(&mut w).await.is_pending());
        assert_eq!(h.num_timers(), 2, "the sleep and the timeout");
        drop(w);
        assert_eq!(h.num_timers(), 0, "after a drop");

        // Many in a row.
        for i in 0..200 {
            if i % 2 == 0 {
                assert!(wait_for(sleep(LONG), TICK_ISH).await.is_err());
            } else {
                let fast = async { sleep(TICK_ISH).await };
                assert!(wait_for(fast, LONG).await.is_ok());
            }
        }
        assert_eq!(h.num_timers(), 0);
    };
    rt.block_on(rt.spawn(check())).unwrap();
    rt.block_on(check());
}

#[tasklane::test(worker_threads = 1)]
async fn elapsed_is_an_error_that_displays() {
    fn is_error<E: Error + Send + Sync + Clone + Copy + PartialEq + Debug + 'static>(_: &E) {}
    let e: Elapsed = wait_for(pending::<()>(), MS).await.unwrap_err();
    is_error(&e);
    let shown = e.to_string();
    assert!(shown.contains("elapsed"), "{shown:?}");
    assert!(!format!("{e:?}").is_empty());
    assert!(e.source().is_none());
    // It converts into the usual error boxes and io::Error.
    let boxed: Box<dyn Error + Send + Sync> = e.into();
    assert_eq!(boxed.to_string(), shown);
    let io = std::io::Error::other(e);
    assert_eq!(io.to_string(), shown);
    let copy = e;
    assert_eq!(copy, e);
}

/// Outside a runtime: a future that is ready needs no timer; one that is
/// not makes the timer panic with a clear message.
#[test]
fn polled_outside_a_runtime() {
    std::thread::spawn(|| {
        let mut w = Box::pin(wait_for(async { 1 }, MS));
        assert_eq!(common::poll_once(&mut w), Poll::Ready(Ok(1)));

        let mut w = Box::pin(wait_for(pending::<()>(), MS));
        let err = catch_unwind(AssertUnwindSafe(|| common::poll_once(&mut w)))
            .expect_err("a pending wait_for polled outside a runtime did not panic");
        let msg = payload_str(&*err).expect("string payload");
        assert!(
            msg.contains("outside a tasklane runtime"),
            "unclear message: {msg:?}"
        );
    })
    .join()
    .unwrap();
}

//! `time::timeout`, `timeout_at` and `timeout_with`: `wait_for` with a
//! deadline that moves (asyncio's `Timeout.reschedule`): later before it
//! expires (it does not fire at the old deadline), earlier, to the past
//! (it expires at the next poll), from the pinned future, from a handle
//! in another task, and from inside the future (an idle timeout reset on
//! every message).

mod common;

use common::{in_task, in_task_on, paused_rt, yield_until};
use std::future::{Future, pending};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tasklane::task::cancellable;
use tasklane::time::{Instant, sleep, timeout, timeout_at, timeout_with};

const MS: Duration = Duration::from_millis(1);
/// Never expires during a test.
const LONG: Duration = Duration::from_secs(60);
/// Generous upper bound for a short wait on a loaded machine.
const GENEROUS: Duration = Duration::from_secs(3);

fn noop_cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

#[test]
fn a_timeout_behaves_as_wait_for() {
    in_task(async {
        assert_eq!(timeout(LONG, async { 3 }).await, Ok(3));
        assert!(timeout(5 * MS, sleep(LONG)).await.is_err());
        assert!(
            timeout(Duration::ZERO, tasklane::yield_now())
                .await
                .is_err()
        );
        let at = Instant::now() + 5 * MS;
        let t = timeout_at(at, sleep(LONG));
        assert_eq!(t.deadline(), at);
        assert!(t.await.is_err());
        // A catch point inside gets the timeout and may swallow it.
        let r = timeout(5 * MS, async {
            match cancellable(sleep(LONG)).await {
                Ok(()) => "slept",
                Err(_) => "caught",
            }
        })
        .await;
        assert_eq!(r, Ok("caught"));
    });
}

#[test]
fn rescheduled_later_it_does_not_fire_at_the_old_deadline() {
    in_task(async {
        let start = Instant::now();
        let mut t = pin!(timeout(10 * MS, sleep(40 * MS)));
        let later = start + LONG;
        t.as_mut().reschedule(later);
        assert_eq!(t.deadline(), later);
        assert_eq!(t.await, Ok(()));
        assert!(start.elapsed() >= 40 * MS);
    });
}

/// On the paused clock: the old deadline cannot pass while the test moves it.
#[test]
fn rescheduled_later_while_pending_it_does_not_fire_at_the_old_deadline() {
    in_task_on(&paused_rt(2), async {
        let start = Instant::now();
        let started = Arc::new(AtomicUsize::new(0));
        let s = started.clone();
        // The first deadline leaves the test a wide window to move it.
        let t = timeout(200 * MS, async move {
            s.store(1, Ordering::SeqCst);
            sleep(300 * MS).await;
        });
        let handle = t.handle();
        let run = tasklane::spawn(t);
        yield_until(|| started.load(Ordering::SeqCst) == 1).await;
        handle.reschedule(Instant::now() + LONG);
        assert_eq!(run.await.unwrap(), Ok(()), "the deadline moved");
        assert!(start.elapsed() >= 300 * MS);
    });
}

#[test]
fn rescheduled_earlier_it_fires_at_the_new_deadline() {
    in_task(async {
        // From the code that polls it (a select-style loop).
        let start = Instant::now();
        let mut t = pin!(timeout(LONG, sleep(LONG)));
        assert!(t.as_mut().poll(&mut noop_cx()).is_pending());
        t.as_mut().reschedule(Instant::now() + 10 * MS);
        assert!(t.await.is_err());
        let took = start.elapsed();
        assert!(took >= 10 * MS && took < GENEROUS, "took {took:?}");

        // From another task, through a handle: it wakes the timeout.
        let start = Instant::now();
        let t = timeout(LONG, sleep(LONG));
        let handle = t.handle();
        tasklane::spawn(async move {
            sleep(5 * MS).await;
            handle.reschedule(Instant::now() + 5 * MS);
        })
        .detach();
        assert!(t.await.is_err());
        let took = start.elapsed();
        assert!(took >= 10 * MS && took < GENEROUS, "took {took:?}");
    });
}

#[test]
fn rescheduled_to_the_past_it_expires_at_the_next_poll() {
    in_task(async {
        let mut t = pin!(timeout(LONG, pending::<()>()));
        assert!(t.as_mut().poll(&mut noop_cx()).is_pending());
        t.as_mut().reschedule(Instant::now() - 10 * MS);
        assert!(matches!(
            t.as_mut().poll(&mut noop_cx()),
            Poll::Ready(Err(_))
        ));

        // Through a handle, from inside the future.
        let r = timeout_with(LONG, |h| async move {
            h.reschedule(Instant::now() - MS);
            sleep(LONG).await;
        })
        .await;
        assert!(r.is_err());
    });
}

#[test]
fn rescheduling_after_expiry_does_nothing() {
    in_task(async {
        let t = timeout(5 * MS, async {
            match cancellable(sleep(LONG)).await {
                Ok(()) => "slept",
                Err(_) => {
                    // Cleanup while expired: moving the deadline changes
                    // nothing.
                    sleep(5 * MS).await;
                    "caught"
                }
            }
        });
        let handle = t.handle();
        assert!(!handle.is_expired());
        let watcher = handle.clone();
        let r = tasklane::spawn(t);
        yield_until(|| watcher.is_expired()).await;
        let before = watcher.deadline();
        handle.reschedule(Instant::now() + LONG);
        assert_eq!(watcher.deadline(), before, "ignored after expiry");
        assert_eq!(r.await.unwrap(), Ok("caught"));
        assert!(watcher.is_expired());
    });
}

/// The test case of movable deadlines: a connection handler with an idle
/// timeout, moved forward on every message. Messages come every 10 ms for
/// 60 ms, each well within the 100 ms idle limit, then stop: the handler
/// reads them all and times out 100 ms after the last one, not 100 ms
/// after it started.
///
/// On the paused clock, so a stalled thread cannot stretch the gap between
/// two messages past the idle limit.
#[test]
fn an_idle_timeout_rescheduled_on_every_message() {
    in_task_on(&paused_rt(2), async {
        const IDLE: Duration = Duration::from_millis(100);
        let (tx, rx) = tasklane::sync::bounded::<u32>(16);
        let producer = tasklane::spawn(async move {
            for i in 0..6 {
                sleep(10 * MS).await;
                tx.send(i).await.unwrap();
            }
            // Idle, but the connection stays open.
            sleep(LONG).await;
        });
        let seen = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let s = seen.clone();
        let r = timeout_with(IDLE, |idle| async move {
            while let Ok(_msg) = rx.recv().await {
                s.fetch_add(1, Ordering::SeqCst);
                idle.reschedule(Instant::now() + IDLE);
            }
        })
        .await;
        let took = start.elapsed();
        assert!(r.is_err(), "ended by the idle timeout");
        assert_eq!(seen.load(Ordering::SeqCst), 6, "every message was read");
        assert!(
            took >= 60 * MS + IDLE,
            "idle after the last message: {took:?}"
        );
        assert!(took < GENEROUS, "took {took:?}");
        producer.abort();
    });
}

//! Cancellation at random points, in bulk: 20 000 tasks of mixed kinds
//! (no catch point, a catch point that cleans up and re-raises, one that
//! swallows, busy polls) are cancelled or aborted at random moments (before
//! their first poll, while suspended, while running, racing completion),
//! from outside and from other tasks. Every future is dropped exactly once,
//! every handle yields one final result consistent with `state()` and with
//! what the catch points saw, every done callback runs once, nothing hangs.
//!
//! The choices come from a xorshift generator seeded with a constant, so a
//! failure shows the same choices again (the interleavings still vary).

mod common;

use common::{Counts, Tracked, XorShift, occupy_worker, rt, spin_for, spin_until, worker_index};
use std::future::pending;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;
use tasklane::sync::bounded;
use tasklane::task::{JoinHandle, TaskRef, TaskState, cancellable};
use tasklane::time::sleep;
use tasklane::wait_for;

const TASKS: usize = 20_000;
const BATCH: usize = 500;
const SEED: u64 = 0x7A5C_1A4E;
/// Turns a hang into a failure.
const HANG: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// No catch point: yields and sleeps, then returns.
    Plain,
    /// Its whole body under a catch point; cleans up (with an await) and
    /// re-raises.
    Reraise,
    /// Its whole body under a catch point; swallows the cancellation and
    /// returns another value.
    Swallow,
    /// No catch point; spins inside its polls (to be caught running).
    Busy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    None,
    CancelAtOnce,
    AbortAtOnce,
    CancelLater,
    AbortLater,
    CancelFromTask,
    CancelThenAbort,
}

impl Action {
    fn soft_only(self) -> bool {
        matches!(
            self,
            Action::CancelAtOnce | Action::CancelLater | Action::CancelFromTask
        )
    }
    fn abort_only(self) -> bool {
        matches!(self, Action::AbortAtOnce | Action::AbortLater)
    }
}

/// Per-task flags the futures set.
#[derive(Default)]
struct Seen {
    /// The body ran (first poll).
    started: AtomicU8,
    /// A catch point received a cancellation (Reraise / Swallow kinds).
    caught: AtomicU8,
    /// Done callbacks run.
    done_calls: AtomicU8,
    /// Final state the done callback saw (as a small number).
    done_state: AtomicU8,
}

fn state_code(s: TaskState) -> u8 {
    match s {
        TaskState::Completed => 1,
        TaskState::Panicked => 2,
        TaskState::Cancelled => 3,
        _ => 9,
    }
}

/// The work of one task: a few suspension points of random sorts.
async fn work(steps: u64, spin: u64, sleep_us: u64) {
    for s in 0..steps {
        spin_for(spin);
        if s % 2 == 0 {
            tasklane::yield_now().await;
        } else {
            sleep(Duration::from_micros(sleep_us)).await;
        }
    }
}

fn value_of(i: usize) -> usize {
    i
}

fn swallowed_value_of(i: usize) -> usize {
    i + TASKS
}

#[test]
fn twenty_thousand_random_cancellations() {
    let rt = rt(2);
    let futs = Counts::new();
    let seen: Arc<Vec<Seen>> = Arc::new((0..TASKS).map(|_| Seen::default()).collect());
    let mut rng = XorShift::new(SEED);

    // A task that cancels what it is sent, after random yields.
    let (to_cancel, cancel_rx) = bounded::<(TaskRef, u64)>(BATCH);
    let canceller = rt.spawn(async move {
        while let Ok((t, yields)) = cancel_rx.recv().await {
            for _ in 0..yields {
                tasklane::yield_now().await;
            }
            t.cancel();
        }
    });

    let mut plan = Vec::with_capacity(TASKS);
    let mut outcomes = [0usize; 2];
    for batch in 0..TASKS / BATCH {
        let mut handles: Vec<(usize, JoinHandle<usize>)> = Vec::with_capacity(BATCH);
        for j in 0..BATCH {
            let i = batch * BATCH + j;
            let kind = match rng.below(4) {
                0 => Kind::Plain,
                1 => Kind::Reraise,
                2 => Kind::Swallow,
                _ => Kind::Busy,
            };
            let action = match rng.below(7) {
                0 => Action::None,
                1 => Action::CancelAtOnce,
                2 => Action::AbortAtOnce,
                3 => Action::CancelLater,
                4 => Action::AbortLater,
                5 => Action::CancelFromTask,
                _ => Action::CancelThenAbort,
            };
            let steps = rng.below(4);
            let spin = if kind == Kind::Busy {
                rng.below(3_000)
            } else {
                0
            };
            let sleep_us = rng.below(100);
            let seen2 = seen.clone();
            let body = async move {
                let me = &seen2[i];
                me.started.store(1, Ordering::SeqCst);
                match kind {
                    Kind::Plain | Kind::Busy => {
                        work(steps, spin, sleep_us).await;
                        value_of(i)
                    }
                    Kind::Reraise => match cancellable(work(steps, spin, sleep_us)).await {
                        Ok(()) => value_of(i),
                        Err(c) => {
                            me.caught.store(1, Ordering::SeqCst);
                            tasklane::yield_now().await;
                            c.reraise().await
                        }
                    },
                    Kind::Swallow => match cancellable(work(steps, spin, sleep_us)).await {
                        Ok(()) => value_of(i),
                        Err(_) => {
                            me.caught.store(1, Ordering::SeqCst);
                            swallowed_value_of(i)
                        }
                    },
                }
            };
            let h = rt.spawn(Tracked::new(&futs, body));
            let seen3 = seen.clone();
            h.on_done(move |s| {
                seen3[i].done_calls.fetch_add(1, Ordering::SeqCst);
                seen3[i]
                    .done_state
                    .store(state_code(s.state()), Ordering::SeqCst);
            });
            match action {
                Action::CancelAtOnce => {
                    h.cancel();
                }
                Action::AbortAtOnce => h.abort(),
                Action::CancelThenAbort => {
                    h.cancel();
                    spin_for(rng.below(2_000));
                    h.abort();
                }
                Action::CancelFromTask => {
                    let yields = rng.below(4);
                    rt.block_on(to_cancel.send((h.task_ref(), yields))).unwrap();
                }
                _ => {}
            }
            plan.push((kind, action));
            handles.push((i, h));
        }
        // The later ones, at random moments while the batch runs.
        for (i, h) in &handles {
            match plan[*i].1 {
                Action::CancelLater => {
                    spin_for(rng.below(3_000));
                    h.cancel();
                }
                Action::AbortLater => {
                    spin_for(rng.below(3_000));
                    h.abort();
                }
                _ => {}
            }
        }
        for (i, mut h) in handles {
            let (kind, action) = plan[i];
            let r = rt
                .block_on(wait_for(&mut h, HANG))
                .unwrap_or_else(|_| panic!("task {i} ({kind:?}, {action:?}) hung: {h:?}"));
            let me = &seen[i];
            let started = me.started.load(Ordering::SeqCst) == 1;
            let caught = me.caught.load(Ordering::SeqCst) == 1;
            let ctx = format!("task {i}: {kind:?}, {action:?}, started {started}, caught {caught}");
            assert!(h.is_finished(), "{ctx}");
            match r {
                Ok(v) => {
                    outcomes[0] += 1;
                    assert_eq!(h.state(), TaskState::Completed, "{ctx}");
                    assert!(!h.is_cancelled(), "{ctx}");
                    assert!(started, "{ctx}: a value without running");
                    let expected = if kind == Kind::Swallow && caught {
                        swallowed_value_of(i)
                    } else {
                        value_of(i)
                    };
                    assert_eq!(v, expected, "{ctx}");
                    assert!(
                        !(kind == Kind::Reraise && caught),
                        "{ctx}: re-raised yet a value"
                    );
                }
                Err(e) => {
                    outcomes[1] += 1;
                    assert!(e.is_cancelled(), "{ctx}: {e}");
                    assert_eq!(h.state(), TaskState::Cancelled, "{ctx}");
                    assert!(h.is_cancelled(), "{ctx}");
                    assert_ne!(action, Action::None, "{ctx}: cancelled unasked");
                    if action.soft_only() && started {
                        // The catch point covers the whole body from its
                        // first poll: a delivery lands there.
                        assert_ne!(
                            kind,
                            Kind::Swallow,
                            "{ctx}: a swallowing task ended cancelled"
                        );
                        if kind == Kind::Reraise {
                            assert!(caught, "{ctx}: cancelled past its catch point");
                        }
                    }
                }
            }
            if action == Action::None {
                assert!(!caught, "{ctx}");
            }
            if action.abort_only() {
                assert!(!caught, "{ctx}: an abort reached a catch point");
            }
        }
    }
    drop(to_cancel);
    rt.block_on(canceller).unwrap();

    // Every future dropped, exactly once, by the time its handle gave the
    // result.
    assert_eq!(futs.created(), TASKS);
    assert_eq!(futs.drops(), TASKS);
    spin_until("every done callback", || {
        seen.iter()
            .all(|s| s.done_calls.load(Ordering::SeqCst) >= 1)
    });
    drop(rt);
    assert_eq!(futs.drops(), TASKS, "no future dropped twice");
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(s.done_calls.load(Ordering::SeqCst), 1, "task {i}");
        assert!(
            matches!(s.done_state.load(Ordering::SeqCst), 1 | 3),
            "task {i}: on_done saw {}",
            s.done_state.load(Ordering::SeqCst)
        );
    }
    // The mix really had both outcomes in numbers.
    assert!(
        outcomes[0] > TASKS / 10 && outcomes[1] > TASKS / 10,
        "{outcomes:?}"
    );
}

/// A task that swallows each cancellation and goes back to a catch point
/// must receive every later `cancel()` too, whichever worker delivers it.
/// Here the first delivery runs on one worker and the second is steered to
/// the other (by holding each worker in turn with a blocking task).
///
/// What it guards: a catch point first polled during a delivering poll
/// records that poll's serial (`Cancellable::born`) and skips that delivery
/// only. Were the serial counted per thread, a later delivery on another
/// thread whose counter had the same value would be skipped too, and with
/// no catch point claiming it the task would be dropped as cancelled.
#[test]
fn a_reentered_catch_point_receives_a_cancel_delivered_on_another_worker() {
    let rt = rt(2);
    let (hold_first, first_blocker) = occupy_worker(&rt);
    let (tx, rx) = mpsc::channel();
    let h = rt.spawn(async move {
        let mut caught = 0;
        tx.send((0, worker_index())).unwrap();
        loop {
            // Re-entered right after each catch, in the delivering poll.
            if cancellable(pending::<()>()).await.is_err() {
                caught += 1;
                tx.send((caught, worker_index())).unwrap();
                if caught == 2 {
                    return caught;
                }
            }
        }
    });
    let (_, first_worker) = rx.recv().unwrap();
    spin_until("suspended", || h.state() == TaskState::Suspended);
    assert!(h.cancel());
    assert_eq!(rx.recv().unwrap(), (1, first_worker));
    spin_until("suspended again", || h.state() == TaskState::Suspended);
    // Hold the worker that delivered; free the other one for the next.
    let (hold_second, second_blocker) = occupy_worker(&rt);
    hold_first.open();
    rt.block_on(first_blocker).unwrap();
    assert!(h.cancel());
    let second = rx.recv_timeout(Duration::from_secs(10));
    hold_second.open();
    rt.block_on(second_blocker).unwrap();
    let r = rt.block_on(h);
    assert!(
        matches!(second, Ok((2, w)) if w != first_worker),
        "second delivery: {second:?}, task ended {r:?}"
    );
    assert_eq!(r.unwrap(), 2);
}

/// Many tasks, each swallowing several cancellations in a row (re-entering
/// its catch point each time) before it returns: every `cancel()` is one
/// delivery to a catch point, however the task moves between workers.
#[test]
fn repeated_swallowed_cancellations_all_reach_the_catch_point() {
    const N: usize = 300;
    const CANCELS: usize = 4;
    let rt = rt(2);
    let caught = Arc::new(AtomicUsize::new(0));
    let handles: Vec<JoinHandle<usize>> = (0..N)
        .map(|_| {
            let caught = caught.clone();
            rt.spawn(async move {
                let mut n = 0;
                while n < CANCELS {
                    if cancellable(pending::<()>()).await.is_err() {
                        n += 1;
                        caught.fetch_add(1, Ordering::SeqCst);
                        if n % 2 == 0 {
                            // Sometimes leave the delivering poll first.
                            tasklane::yield_now().await;
                        }
                    }
                }
                n
            })
        })
        .collect();
    for round in 0..CANCELS {
        for h in &handles {
            spin_until("suspended", || {
                h.state() == TaskState::Suspended || h.is_finished()
            });
            h.cancel();
        }
        spin_until("this round's deliveries", || {
            caught.load(Ordering::SeqCst) >= N * (round + 1)
                || handles.iter().any(JoinHandle::is_finished)
        });
    }
    let mut lost = 0;
    for h in handles {
        match rt.block_on(h) {
            Ok(n) => assert_eq!(n, CANCELS),
            Err(e) => {
                assert!(e.is_cancelled());
                lost += 1;
            }
        }
    }
    assert_eq!(
        lost, 0,
        "tasks dropped instead of catching their cancellation"
    );
}

/// A cancellation that arrives while the task is already woken (its catch
/// point's future became ready) must still reach a catch point: the task
/// sits at one again at its next suspension point (docs/semantics.md,
/// cancellation),
/// so it is delivered there (or, as asyncio does, to the catch point it was
/// suspended at). Here the worker is held while the task is woken and then
/// cancelled, so the delivering poll finds the old catch point's future
/// ready and the loop re-enters a new catch point in that same poll.
///
/// What it guards: the old catch point completes ("completion wins"), and
/// the new one, first polled during the delivering poll, does not take the
/// delivery there but re-arms it, so it receives it at the next poll.
/// Without the re-arm no catch point would get it, and the task would be
/// dropped as cancelled although it never left its catch points.
#[test]
fn a_cancel_racing_a_wake_still_reaches_the_next_catch_point() {
    let rt = rt(1);
    let (wake_tx, wake_rx) = tasklane::sync::unbounded::<()>();
    let h = rt.spawn(async move {
        let mut woken = 0;
        loop {
            match cancellable(wake_rx.recv()).await {
                Ok(_) => woken += 1,
                Err(_) => return woken,
            }
        }
    });
    spin_until("waiting", || h.state() == TaskState::Suspended);
    let (hold, blocker) = occupy_worker(&rt);
    wake_tx.send_blocking(()).unwrap();
    assert_eq!(h.state(), TaskState::Scheduled);
    assert!(h.cancel());
    hold.open();
    rt.block_on(blocker).unwrap();
    // Either the catch point it was suspended at gets it (asyncio: 0
    // wake-ups seen) or, the message taken, the next one does (1).
    let woken = rt.block_on(h).expect("dropped instead of caught");
    assert!(woken <= 1, "{woken}");
}

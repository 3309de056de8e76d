//! Cancellation racing completion (and racing wake-ups), many times over on
//! a two-worker runtime. Whatever the interleaving:
//!
//! * each task ends in exactly one final state, `Completed` or `Cancelled`;
//! * its future is dropped exactly once, and its output, if one was made,
//!   exactly once;
//! * the handle gives `Ok` exactly when the state is `Completed`, and a
//!   cancellation exactly when it is `Cancelled`;
//! * `cancel()` returning `false` means the task had already completed.

mod common;

use common::{Counts, DropCounter, Tracked, rt};
use futures_channel::oneshot;
use std::hint::spin_loop;
use std::sync::Arc;
use tasklane::task::{JoinError, JoinHandle, TaskState};

const ITERATIONS: usize = 2_000;

/// Spin iterations before cancelling in iteration `i`: spread from nothing
/// to tens of microseconds, so the cancel lands before, during and after
/// the task's polls. A spread, not a timing assumption: every outcome is
/// checked the same way.
fn jitter(i: usize) -> usize {
    match (i / 4) % 4 {
        0 => 0,
        1 => i % 256,
        2 => (i * 7919) % 4_000,
        _ => (i * 7919) % 20_000,
    }
}

/// A task that suspends `i % 3` times, then makes a counted output.
fn spawn_short(
    rt: &tasklane::Runtime,
    i: usize,
    futs: &Arc<Counts>,
    outs: &Arc<Counts>,
) -> JoinHandle<DropCounter> {
    let outs = outs.clone();
    rt.spawn(Tracked::new(futs, async move {
        for _ in 0..i % 3 {
            tasklane::yield_now().await;
        }
        DropCounter::new(&outs)
    }))
}

/// Checks one finished task; returns true if it completed.
fn check_end(
    i: usize,
    res: Result<DropCounter, JoinError>,
    state: TaskState,
    cancel_said: Option<bool>,
) -> bool {
    match res {
        Ok(out) => {
            assert_eq!(
                state,
                TaskState::Completed,
                "iteration {i}: Ok but {state:?}"
            );
            drop(out);
            true
        }
        Err(e) => {
            assert!(e.is_cancelled(), "iteration {i}: {e:?}");
            assert_eq!(state, TaskState::Cancelled, "iteration {i}");
            assert_ne!(
                cancel_said,
                Some(false),
                "iteration {i}: cancel() said the task had finished, yet it was cancelled"
            );
            false
        }
    }
}

/// The test thread cancels right after spawning, after a varying spin so
/// the cancellation lands at every stage of the task's life.
#[test]
fn cancel_races_completion() {
    let rt = rt(2);
    let (futs, outs) = (Counts::new(), Counts::new());
    let mut completed = 0;
    for i in 0..ITERATIONS {
        let mut h = spawn_short(&rt, i, &futs, &outs);
        for _ in 0..jitter(i) {
            spin_loop();
        }
        let said = if i % 4 == 3 {
            h.abort();
            None
        } else {
            Some(h.cancel())
        };
        let res = rt.block_on(&mut h);
        let state = h.state();
        assert!(state.is_done());
        completed += usize::from(check_end(i, res, state, said));
        assert_eq!(futs.drops(), i + 1, "iteration {i}: future dropped once");
    }
    assert_eq!(futs.created(), ITERATIONS);
    assert_eq!(futs.drops(), ITERATIONS);
    assert_eq!(outs.created(), completed);
    assert_eq!(outs.drops(), completed, "each output dropped exactly once");
    eprintln!("cancel_races_completion: {completed}/{ITERATIONS} completed");
}

/// Cancellers are tasks themselves, running on the other worker while the
/// targets run: all pairs are in flight at once.
#[test]
fn cancel_from_tasks_races_completion() {
    let rt = rt(2);
    let (futs, outs) = (Counts::new(), Counts::new());
    let cancellers: Vec<_> = (0..ITERATIONS)
        .map(|i| {
            let mut target = spawn_short(&rt, i, &futs, &outs);
            rt.spawn(async move {
                if i % 2 == 0 {
                    tasklane::yield_now().await;
                }
                let said = target.cancel();
                let res = (&mut target).await;
                (said, res, target.state())
            })
        })
        .collect();
    let mut completed = 0;
    for (i, c) in cancellers.into_iter().enumerate() {
        let (said, res, state) = rt.block_on(c).unwrap();
        completed += usize::from(check_end(i, res, state, Some(said)));
    }
    assert_eq!(futs.drops(), ITERATIONS);
    assert_eq!(outs.created(), completed);
    assert_eq!(outs.drops(), completed);
    eprintln!("cancel_from_tasks_races_completion: {completed}/{ITERATIONS} completed");
}

/// A wake-up (the value the task waits for) races the cancellation: the task
/// must not be queued twice, polled after its future is gone, or lost.
#[test]
fn cancel_races_wake() {
    let rt = rt(2);
    let (futs, outs) = (Counts::new(), Counts::new());
    let mut completed = 0;
    for i in 0..ITERATIONS {
        let (tx, rx) = oneshot::channel::<()>();
        let o = outs.clone();
        let mut h = rt.spawn(Tracked::new(&futs, async move {
            rx.await.unwrap();
            DropCounter::new(&o)
        }));
        // The wake comes from a task on a worker, the cancel from here.
        let waker = rt.spawn(async move {
            let _ = tx.send(());
        });
        for _ in 0..jitter(i * 3) {
            spin_loop();
        }
        let said = h.cancel();
        let res = rt.block_on(&mut h);
        completed += usize::from(check_end(i, res, h.state(), Some(said)));
        rt.block_on(waker).unwrap();
        assert_eq!(futs.drops(), i + 1, "iteration {i}");
    }
    assert_eq!(outs.created(), completed);
    assert_eq!(outs.drops(), completed);
    eprintln!("cancel_races_wake: {completed}/{ITERATIONS} completed");
}

/// Dropping the handle races completion: nobody joins, so the runtime drops
/// the output (if any) or the future, each exactly once.
#[test]
fn handle_drop_races_completion() {
    let rt = rt(2);
    let (futs, outs) = (Counts::new(), Counts::new());
    for i in 0..ITERATIONS {
        let h = spawn_short(&rt, i, &futs, &outs);
        for _ in 0..jitter(i * 5) {
            spin_loop();
        }
        drop(h);
    }
    // Every task ends (completed or cancelled) and takes its future with it.
    common::spin_until("every future dropped", || futs.drops() == ITERATIONS);
    common::spin_until("every output dropped", || outs.drops() == outs.created());
    drop(rt);
    assert_eq!(futs.drops(), ITERATIONS);
    assert_eq!(outs.drops(), outs.created());
    eprintln!(
        "handle_drop_races_completion: {}/{ITERATIONS} completed",
        outs.created()
    );
}

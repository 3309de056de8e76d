//! `yield_now()` is a suspension point that lets other tasks run, as
//! asyncio's `sleep(0)`: on a one-worker runtime, tasks that yield take
//! turns.

mod common;

use common::{HANG, rt, watchdog};
use futures_channel::oneshot;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Two tasks log and yield in a loop; the log alternates between them.
fn interleave(log: &Arc<Mutex<Vec<char>>>, name: char) -> impl Future<Output = ()> + use<> {
    let log = log.clone();
    async move {
        for _ in 0..10 {
            log.lock().unwrap().push(name);
            tasklane::yield_now().await;
        }
    }
}

fn assert_alternates(log: &[char]) {
    assert_eq!(log.len(), 20);
    assert!(
        log.windows(2).all(|w| w[0] != w[1]),
        "each yield lets the other task run: {}",
        log.iter().collect::<String>()
    );
}

/// Both spawned from a task on the only worker.
#[test]
fn two_tasks_spawned_from_a_task_alternate() {
    let rt = rt(1);
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    rt.block_on(rt.spawn(async move {
        let a = tasklane::spawn(interleave(&l, 'a'));
        let b = tasklane::spawn(interleave(&l, 'b'));
        a.await.unwrap();
        b.await.unwrap();
    }))
    .unwrap();
    assert_alternates(&log.lock().unwrap());
}

/// Both spawned from outside the runtime, held back until both are queued
/// (so both wait in the injector).
#[test]
fn two_tasks_spawned_from_outside_alternate() {
    let rt = rt(1);
    let (gate, blocker) = common::occupy_worker(&rt);
    let log = Arc::new(Mutex::new(Vec::new()));
    let a = rt.spawn(interleave(&log, 'a'));
    let b = rt.spawn(interleave(&log, 'b'));
    gate.open();
    rt.block_on(blocker).unwrap();
    rt.block_on(a).unwrap();
    rt.block_on(b).unwrap();
    assert_alternates(&log.lock().unwrap());
}

/// Two tasks on the only worker take turns, each spinning on `yield_now`
/// until it is its turn: if a yield did not let the other task run, they
/// would never finish, which the watchdog turns into a failure.
#[test]
fn a_yield_loop_lets_the_other_task_make_progress() {
    let turns = watchdog("two tasks taking turns by yielding", HANG, || {
        let rt = rt(1);
        let turn = Arc::new(AtomicUsize::new(0));
        let players: Vec<_> = (0..2)
            .map(|me| {
                let turn = turn.clone();
                rt.spawn(async move {
                    for round in 0..100 {
                        common::yield_until(|| turn.load(Ordering::SeqCst) % 2 == me).await;
                        assert_eq!(turn.fetch_add(1, Ordering::SeqCst), 2 * round + me);
                    }
                })
            })
            .collect();
        for p in players {
            rt.block_on(p).unwrap();
        }
        turn.load(Ordering::SeqCst)
    });
    assert_eq!(turns, 200);
}

/// A task woken from outside (through the injector) is not starved by a
/// task that keeps yielding on the only worker: after a yield the worker
/// looks at the injector first, so the woken task runs at the spinner's
/// next yield, or the one after if the wake lands while the spinner is
/// between its yield and its look at the flag. Starved for good, the
/// spinner would never end (the watchdog fails the test then).
#[test]
fn a_yield_loop_does_not_starve_a_task_woken_from_outside() {
    let yields = watchdog("a task woken behind a yield loop", HANG, || {
        let rt = rt(1);
        let flag = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicBool::new(false));
        let (tx, rx) = oneshot::channel::<()>();
        let f = flag.clone();
        let waiter = rt.spawn(async move {
            rx.await.unwrap();
            f.store(true, Ordering::SeqCst);
        });
        let (f, s) = (flag.clone(), sent.clone());
        let spinner = rt.spawn(async move {
            // Yields that began after the wake was sent: the wake happens
            // before `sent` is set, so this never counts more than there were.
            let mut yields_after_wake = 0u64;
            while !f.load(Ordering::SeqCst) {
                let after_wake = s.load(Ordering::SeqCst);
                tasklane::yield_now().await;
                if after_wake {
                    yields_after_wake += 1;
                }
            }
            yields_after_wake
        });
        common::spin_until("waiter suspended", || {
            waiter.state() == tasklane::task::TaskState::Suspended
        });
        tx.send(()).unwrap();
        sent.store(true, Ordering::SeqCst);
        rt.block_on(waiter).unwrap();
        rt.block_on(spinner).unwrap()
    });
    assert!(
        yields <= 1,
        "the spinner yielded {yields} times after the wake before the woken task ran"
    );
}

#[test]
fn yield_now_in_block_on_completes() {
    let rt = rt(1);
    rt.block_on(async {
        for _ in 0..100 {
            tasklane::yield_now().await;
        }
    });
    tasklane::run(tasklane::yield_now());
}

#[test]
fn yield_now_suspends_exactly_once() {
    let rt = rt(1);
    let polls = common::Counts::new();
    rt.block_on(rt.spawn(common::Tracked::new(&polls, tasklane::yield_now())))
        .unwrap();
    assert_eq!(polls.polls(), 2, "pending once, then ready");
}

//! A worker stuck in a poll does not hold back the work queued behind it:
//! the tasks in its local queue and in its LIFO slot start on the other
//! worker within the monitor's bound (docs/semantics.md, "A worker stuck in
//! a poll"), and timers keep firing.

mod common;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The documented bound is two monitor ticks (2 ms) plus the time the
/// system takes to wake a thread. The assertion leaves room for a loaded CI
/// machine that stalls the test's threads; without the monitor the LIFO
/// task would wait for the whole stuck poll (`STUCK_FOR`), five times it.
const CI_BOUND: Duration = Duration::from_secs(1);

/// How long the stuck poll would last if nothing opened its gate first.
const STUCK_FOR: Duration = Duration::from_secs(5);

#[test]
fn tasks_queued_behind_a_stuck_worker_start_on_the_other() {
    let rt = common::rt(2);
    for round in 0..3 {
        let (started_tx, started_rx) = mpsc::channel::<(usize, Instant)>();
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (spawned_tx, spawned_rx) = mpsc::channel::<Instant>();
        let parent = rt.spawn(async move {
            // Eight children from inside a worker: the last one lands in
            // this worker's LIFO slot, the seven before it in its queue.
            let children: Vec<_> = (0..8)
                .map(|i| {
                    let tx = started_tx.clone();
                    tasklane::spawn(async move {
                        tx.send((i, Instant::now())).unwrap();
                    })
                })
                .collect();
            spawned_tx.send(Instant::now()).unwrap();
            // Block the worker until the test has seen every child start
            // (or the deadline: a failure, not a hang).
            let _ = gate_rx.recv_timeout(STUCK_FOR);
            for c in children {
                c.await.unwrap();
            }
        });
        let spawned = spawned_rx.recv().unwrap();
        let mut late = Vec::new();
        for _ in 0..8 {
            let (i, at) = started_rx
                .recv_timeout(STUCK_FOR + Duration::from_secs(1))
                .expect("every child starts");
            let delay = at.saturating_duration_since(spawned);
            if delay > CI_BOUND {
                late.push((i, delay));
            }
        }
        gate_tx.send(()).unwrap();
        rt.block_on(parent).unwrap();
        assert!(
            late.is_empty(),
            "round {round}: children started later than {CI_BOUND:?} \
             while their worker was stuck: {late:?} (child 7 is the LIFO one)"
        );
    }
    let rescues: u64 = rt
        .handle()
        .metrics()
        .workers()
        .iter()
        .map(|w| w.rescues())
        .sum();
    assert!(rescues >= 3, "the monitor took {rescues} LIFO tasks, not 3");
}

#[test]
fn timers_fire_while_a_worker_is_stuck() {
    let rt = common::rt(2);
    let (gate, stuck) = common::occupy_worker(&rt);
    let started = Instant::now();
    let slept = rt.block_on(async {
        tasklane::spawn(async {
            tasklane::time::sleep(Duration::from_millis(20)).await;
            Instant::now()
        })
        .await
        .unwrap()
    });
    gate.open();
    rt.block_on(stuck).unwrap();
    assert!(
        slept - started < Duration::from_secs(2),
        "a 20 ms sleep took {:?} while a worker was stuck",
        slept - started
    );
}

//! `spawn_blocking` runs closures on a separate, bounded pool: blocked jobs
//! never stall the workers, the bound holds, results come back, and a job
//! cancelled before it starts never runs (once started, it runs to the end).

mod common;

use common::{Gate, payload_str, rt, spin_until};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use tasklane::Builder;
use tasklane::task::TaskState;

/// N jobs block until an async task releases them; on a one-worker runtime
/// that task can only run if no job took the worker.
#[test]
fn blocked_jobs_do_not_stall_the_worker() {
    const JOBS: usize = 4;
    let rt = rt(1);
    let started = Arc::new(AtomicUsize::new(0));
    let mut releases = Vec::new();
    let mut jobs = Vec::new();
    for i in 0..JOBS {
        let (tx, rx) = mpsc::channel::<usize>();
        releases.push(tx);
        let s = started.clone();
        jobs.push(rt.handle().spawn_blocking(move || {
            s.fetch_add(1, Ordering::SeqCst);
            rx.recv().unwrap() + i
        }));
    }
    let s = started.clone();
    let releaser = rt.spawn(async move {
        // Runs on the worker while every job sits blocked.
        common::yield_until(|| s.load(Ordering::SeqCst) == JOBS).await;
        for tx in releases {
            tx.send(100).unwrap();
        }
    });
    rt.block_on(releaser).unwrap();
    for (i, j) in jobs.into_iter().enumerate() {
        assert_eq!(rt.block_on(j).unwrap(), 100 + i);
    }
}

/// Jobs spawned from inside a task (named or not) give back their values.
#[test]
fn spawn_blocking_from_a_task_returns_its_result() {
    let rt = rt(1);
    let v = rt
        .block_on(rt.spawn(async {
            let a = tasklane::spawn_blocking(|| (1..=10u64).product::<u64>());
            let b = tasklane::task::Builder::new()
                .name("blocking-b")
                .spawn_blocking(|| String::from("text"));
            assert_eq!(b.name(), "blocking-b");
            (a.await.unwrap(), b.await.unwrap())
        }))
        .unwrap();
    assert_eq!(v, (3_628_800, "text".to_owned()));
}

#[test]
fn a_panicking_job_reaches_its_handle() {
    let rt = rt(1);
    let err = rt
        .block_on(
            rt.handle()
                .spawn_blocking(|| -> u8 { panic!("blocking boom") }),
        )
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(payload_str(&*err.into_panic()), Some("blocking boom"));
    // The pool still works.
    assert_eq!(rt.block_on(rt.handle().spawn_blocking(|| 1)).unwrap(), 1);
}

/// At most `max_blocking_threads` jobs run at once, and the rest wait their
/// turn rather than being lost.
#[test]
fn max_blocking_threads_is_respected() {
    const MAX: usize = 2;
    const JOBS: usize = 8;
    let rt = Builder::new()
        .worker_threads(1)
        .max_blocking_threads(MAX)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let gate = Gate::new();
    let jobs: Vec<_> = (0..JOBS)
        .map(|i| {
            let (r, m, f, g) = (
                running.clone(),
                max_seen.clone(),
                finished.clone(),
                gate.clone(),
            );
            rt.handle().spawn_blocking(move || {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                g.wait();
                r.fetch_sub(1, Ordering::SeqCst);
                f.fetch_add(1, Ordering::SeqCst);
                i
            })
        })
        .collect();
    // The pool fills up to its bound, and no further while the jobs block.
    spin_until("the pool is full", || running.load(Ordering::SeqCst) == MAX);
    for _ in 0..1_000 {
        assert!(running.load(Ordering::SeqCst) <= MAX);
        assert!(rt.handle().num_blocking_threads() <= MAX);
        std::thread::yield_now();
    }
    assert_eq!(finished.load(Ordering::SeqCst), 0);
    gate.open();
    for (i, j) in jobs.into_iter().enumerate() {
        assert_eq!(rt.block_on(j).unwrap(), i);
    }
    assert_eq!(finished.load(Ordering::SeqCst), JOBS);
    assert_eq!(
        max_seen.load(Ordering::SeqCst),
        MAX,
        "never more than the bound"
    );
    assert!(rt.handle().num_blocking_threads() <= MAX);
}

/// With one blocking thread held by a job, a second job waits in the queue;
/// cancelling (or dropping) it there means it never runs.
#[test]
fn a_job_cancelled_before_it_starts_never_runs() {
    let rt = Builder::new()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let gate = Gate::new();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let g = gate.clone();
    let first = rt.handle().spawn_blocking(move || {
        started_tx.send(()).unwrap();
        g.wait();
        1
    });
    started_rx.recv().unwrap();

    let ran_cancelled = Arc::new(AtomicBool::new(false));
    let ran_dropped = Arc::new(AtomicBool::new(false));
    let (rc, rd) = (ran_cancelled.clone(), ran_dropped.clone());
    let mut cancelled = rt
        .handle()
        .spawn_blocking(move || rc.store(true, Ordering::SeqCst));
    let dropped = rt
        .handle()
        .spawn_blocking(move || rd.store(true, Ordering::SeqCst));
    let (last_tx, last_rx) = mpsc::channel::<()>();
    let last = rt
        .handle()
        .spawn_blocking(move || last_tx.send(()).unwrap());
    assert_eq!(cancelled.state(), TaskState::Scheduled);
    assert!(cancelled.cancel());
    drop(dropped);
    gate.open();

    assert_eq!(rt.block_on(first).unwrap(), 1);
    let err = rt.block_on(&mut cancelled).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(cancelled.state(), TaskState::Cancelled);
    // The job queued after both ran, so the pool has passed them.
    last_rx.recv().unwrap();
    rt.block_on(last).unwrap();
    assert!(!ran_cancelled.load(Ordering::SeqCst), "cancelled job ran");
    assert!(
        !ran_dropped.load(Ordering::SeqCst),
        "job whose handle was dropped ran"
    );
}

/// Once a job has started, cancelling it cannot stop the closure: it runs
/// to the end and its value is kept (completion wins).
#[test]
fn a_started_job_runs_to_the_end() {
    let rt = rt(1);
    let gate = Gate::new();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let g = gate.clone();
    let mut job = rt.handle().spawn_blocking(move || {
        started_tx.send(()).unwrap();
        g.wait();
        "finished"
    });
    started_rx.recv().unwrap();
    assert_eq!(job.state(), TaskState::Running);
    assert!(job.cancel(), "not finished yet");
    gate.open();
    assert_eq!(rt.block_on(&mut job).unwrap(), "finished");
    assert_eq!(job.state(), TaskState::Completed);
}

/// A blocking job can spawn async tasks and wait for them the blocking way.
#[test]
fn a_job_can_spawn_tasks() {
    let rt = rt(1);
    let v = rt
        .block_on(rt.handle().spawn_blocking(|| {
            let (tx, rx) = mpsc::channel();
            tasklane::spawn(async move { tx.send(7).unwrap() }).detach();
            rx.recv().unwrap()
        }))
        .unwrap();
    assert_eq!(v, 7);
}

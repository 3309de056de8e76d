//! `sleep` and `sleep_until`: never early, always a suspension point, fine by
//! the hundred thousand, clamped when huge, movable with `reset`, gone from
//! the timer wheel once dropped (wherever it is dropped), and refused with a
//! clear panic outside a runtime.

mod common;

use common::{payload_str, rt, spin_until};
use futures_channel::oneshot;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use tasklane::time::{Instant, MAX_DELAY, Sleep, sleep, sleep_until};
use tasklane::{Handle, wait_for};

const MS: Duration = Duration::from_millis(1);
/// Far beyond any sleep a test waits for: a sleep this long never ends here.
const LONG: Duration = Duration::from_secs(60);
/// Generous upper bound for a short sleep on a loaded machine.
const GENEROUS: Duration = Duration::from_secs(2);

/// Polls `fut` once, from the current task (or `block_on`), with its waker.
async fn poll_here<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

/// A sleep of `d`, polled once here (so it is on the wheel) and handed back
/// unfinished.
async fn registered(d: Duration) -> Sleep {
    let mut s = sleep(d);
    assert!(poll_here(&mut s).await.is_pending());
    s
}

/// Deterministic pseudo-random durations below a bound, with sub-millisecond
/// parts (the wheel rounds deadlines up to whole ticks of `TICK`).
struct Durations(u32);

impl Durations {
    fn new(seed: u32) -> Durations {
        Durations(seed.wrapping_mul(2_654_435_761) | 1)
    }

    fn below(&mut self, bound: Duration) -> Duration {
        // xorshift32
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        Duration::from_micros(u64::from(x) % bound.as_micros() as u64)
    }
}

/// Sleeps of varied lengths, checked against the clock after each.
async fn check_never_early(seed: u32, rounds: usize) {
    let mut durations = Durations::new(seed);
    for _ in 0..rounds {
        let d = durations.below(30 * MS);
        let start = Instant::now();
        sleep(d).await;
        let now = Instant::now();
        assert!(
            now >= start + d,
            "sleep({d:?}) ended {:?} early",
            (start + d) - now
        );

        let deadline = Instant::now() + durations.below(30 * MS);
        sleep_until(deadline).await;
        let now = Instant::now();
        assert!(
            now >= deadline,
            "sleep_until ended {:?} early",
            deadline - now
        );

        let d = durations.below(30 * MS);
        let start = Instant::now();
        let mut s = sleep(d);
        assert!(!s.is_elapsed());
        assert!(s.deadline() >= start + d);
        (&mut s).await;
        assert!(s.is_elapsed());
        assert!(Instant::now() >= s.deadline());
    }
}

#[test]
fn sleeps_never_end_early() {
    let rt = rt(2);
    let tasks: Vec<_> = (0..8)
        .map(|seed| rt.spawn(check_never_early(seed, 10)))
        .collect();
    // Meanwhile, the same from block_on (a thread that is not a worker).
    rt.block_on(check_never_early(100, 5));
    for t in tasks {
        rt.block_on(t).unwrap();
    }
}

/// A zero or past deadline still returns `Pending` on the first poll, then
/// completes.
#[test]
fn a_zero_sleep_is_pending_on_its_first_poll() {
    let rt = rt(2);
    let check = || async {
        let past = Instant::now();
        let sleeps = [
            sleep(Duration::ZERO),
            sleep_until(Instant::now()),
            sleep_until(past),
        ];
        for mut s in sleeps {
            assert!(poll_here(&mut s).await.is_pending(), "{s:?}");
            s.await;
        }
    };
    rt.block_on(rt.spawn(check())).unwrap();
    rt.block_on(check());
}

/// `sleep(ZERO)` is asyncio's `sleep(0)`: on a one-worker runtime, a task
/// spawned just before it runs before the sleeper resumes.
#[test]
fn a_zero_sleep_lets_another_task_run() {
    let rt = rt(1);
    rt.block_on(rt.spawn(async {
        for round in 0..50 {
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let other = tasklane::spawn(async move { r.store(true, Ordering::SeqCst) });
            if round % 2 == 0 {
                sleep(Duration::ZERO).await;
            } else {
                sleep_until(Instant::now()).await;
            }
            assert!(
                ran.load(Ordering::SeqCst),
                "round {round}: the other task did not run during the zero sleep"
            );
            other.await.unwrap();
        }
    }))
    .unwrap();
}

/// Sleeping in `Runtime::block_on` and `tasklane::run`, on one and on two
/// workers; a sleep made outside any runtime may be awaited in one.
#[test]
fn sleeping_in_block_on() {
    for workers in [1, 2] {
        let rt = rt(workers);
        let start = Instant::now();
        rt.block_on(sleep(20 * MS));
        let took = start.elapsed();
        assert!(took >= 20 * MS, "{workers} workers: ended after {took:?}");
        assert!(took < GENEROUS, "{workers} workers: took {took:?}");

        let made_outside = sleep(10 * MS);
        let start = Instant::now();
        rt.block_on(made_outside);
        assert!(start.elapsed() >= 10 * MS);

        let deadline = Instant::now() + 15 * MS;
        rt.block_on(sleep_until(deadline));
        assert!(Instant::now() >= deadline);
        assert_eq!(rt.handle().num_timers(), 0);
    }
    let start = Instant::now();
    tasklane::run(sleep(10 * MS));
    assert!(start.elapsed() >= 10 * MS);
}

/// 100 000 tasks, each sleeping 1..=50 ms: every one ends, none early, and
/// the wheel is empty afterwards.
#[test]
fn a_hundred_thousand_concurrent_sleeps_all_end() {
    const N: u64 = 100_000;
    let rt = rt(2);
    let handle = rt.handle();
    let started = Instant::now();
    let (early, peak) = rt
        .block_on(rt.spawn(async move {
            let h = Handle::current();
            let mut peak = 0;
            let mut tasks = Vec::with_capacity(N as usize);
            for i in 0..N {
                let d = Duration::from_millis(1 + (i * 7_919) % 50);
                tasks.push(tasklane::spawn(async move {
                    let start = Instant::now();
                    sleep(d).await;
                    Instant::now() < start + d
                }));
                if i % 1_000 == 0 {
                    peak = peak.max(h.num_timers());
                }
            }
            let mut early = 0;
            for t in tasks {
                early += usize::from(t.await.unwrap());
            }
            (early, peak)
        }))
        .unwrap();
    eprintln!(
        "{N} sleeps took {:?}; at least {peak} were registered at once",
        started.elapsed()
    );
    assert_eq!(early, 0, "sleeps that ended early");
    assert_eq!(handle.num_timers(), 0);
    spin_until("all tasks gone", || handle.num_tasks() == 0);
}

/// Durations past `MAX_DELAY` (up to `Duration::MAX`) are clamped: no
/// panic, the sleep just does not end, and it leaves the wheel when dropped.
#[test]
fn huge_durations_are_clamped_without_panicking() {
    let rt = rt(2);
    let year = Duration::from_secs(365 * 24 * 3600);
    let check = move || async move {
        let h = Handle::current();
        let huge = [
            Duration::MAX,
            Duration::from_secs(u64::MAX),
            MAX_DELAY,
            MAX_DELAY + Duration::from_secs(1),
            100 * year,
        ];
        for d in huge {
            let s = sleep(d);
            assert!(s.deadline() > Instant::now() + year, "{d:?}");
            assert!(wait_for(s, 5 * MS).await.is_err(), "sleep({d:?}) ended");
            assert_eq!(h.num_timers(), 0);
        }
        let s = sleep_until(Instant::now() + 100 * year);
        assert!(wait_for(s, 5 * MS).await.is_err());

        // A clamped sleep on the wheel does not disturb short ones.
        let mut big = sleep(Duration::MAX);
        assert!(poll_here(&mut big).await.is_pending());
        assert_eq!(h.num_timers(), 1);
        let start = Instant::now();
        sleep(10 * MS).await;
        assert!(start.elapsed() >= 10 * MS);
        assert!(!big.is_elapsed());
        // Resetting to a huge deadline is clamped as well.
        big.reset(Instant::now() + 100 * year);
        assert!(poll_here(&mut big).await.is_pending());
        drop(big);
        assert_eq!(h.num_timers(), 0);
    };
    rt.block_on(rt.spawn(check())).unwrap();
    rt.block_on(check());
}

/// A sleep is registered at its first poll and leaves the wheel when
/// dropped, from a task and from `block_on`.
#[test]
fn dropping_a_polled_sleep_frees_its_entry() {
    let rt = rt(2);
    let check = || async {
        let h = Handle::current();
        let mut s = sleep(LONG);
        assert_eq!(h.num_timers(), 0, "registered before its first poll");
        assert!(poll_here(&mut s).await.is_pending());
        assert_eq!(h.num_timers(), 1);
        // Polling again does not register twice.
        assert!(poll_here(&mut s).await.is_pending());
        assert_eq!(h.num_timers(), 1);
        drop(s);
        assert_eq!(h.num_timers(), 0);

        // Registered through a `wait_for` that gave up on it.
        let mut s = sleep(LONG);
        assert!(wait_for(&mut s, MS).await.is_err());
        assert_eq!(h.num_timers(), 1, "the sleep is still registered");
        drop(s);
        assert_eq!(h.num_timers(), 0);

        // Many at once.
        let mut many: Vec<Sleep> = (1..=1_000)
            .map(|i| sleep(LONG + Duration::from_millis(i)))
            .collect();
        for s in &mut many {
            assert!(poll_here(s).await.is_pending());
        }
        assert_eq!(h.num_timers(), 1_000);
        many.truncate(400);
        assert_eq!(h.num_timers(), 400);
        drop(many);
        assert_eq!(h.num_timers(), 0);
    };
    rt.block_on(rt.spawn(check())).unwrap();
    rt.block_on(check());
}

/// A sleep polled in one place and dropped in another (a plain thread, the
/// blocking pool, another task, after the runtime is gone) still leaves the
/// wheel.
#[test]
fn a_sleep_dropped_on_another_thread_frees_its_entry() {
    let rt = rt(2);
    let h = rt.handle();
    let polled_in_a_task = || {
        let s = rt.block_on(rt.spawn(registered(LONG))).unwrap();
        assert_eq!(h.num_timers(), 1);
        s
    };

    let s = polled_in_a_task();
    std::thread::spawn(move || drop(s)).join().unwrap();
    assert_eq!(h.num_timers(), 0);

    let s = polled_in_a_task();
    rt.block_on(h.spawn_blocking(move || drop(s))).unwrap();
    assert_eq!(h.num_timers(), 0);

    let s = polled_in_a_task();
    drop(s);
    assert_eq!(h.num_timers(), 0);

    // Polled in block_on (not a worker), dropped in a task.
    let s = rt.block_on(registered(LONG));
    assert_eq!(h.num_timers(), 1);
    rt.block_on(rt.spawn(async move { drop(s) })).unwrap();
    assert_eq!(h.num_timers(), 0);

    // Handed from task to task: on two workers they may run on either.
    for _ in 0..50 {
        let (tx, rx) = oneshot::channel::<Sleep>();
        let dropper = rt.spawn(async move { drop(rx.await.unwrap()) });
        let poller = rt.spawn(async move { tx.send(registered(LONG).await).unwrap() });
        rt.block_on(poller).unwrap();
        rt.block_on(dropper).unwrap();
        assert_eq!(h.num_timers(), 0);
    }

    // The sleep outlives its runtime.
    let s = polled_in_a_task();
    drop(rt);
    drop(s);
    assert_eq!(h.num_timers(), 0);
}

/// A sleep first polled on a worker ends on time when awaited elsewhere.
#[test]
fn a_sleep_moved_to_another_thread_still_ends() {
    let rt = rt(2);
    let (s, start) = rt
        .block_on(rt.spawn(async {
            let start = Instant::now();
            let mut s = sleep(30 * MS);
            assert!(poll_here(&mut s).await.is_pending());
            (s, start)
        }))
        .unwrap();
    rt.block_on(s);
    assert!(start.elapsed() >= 30 * MS);
    assert_eq!(rt.handle().num_timers(), 0);
}

/// Resetting to a later deadline: the sleep does not end before it, whether
/// reset before the first poll, while registered, or after it ended.
#[test]
fn reset_later_does_not_end_before_the_new_deadline() {
    let rt = rt(2);
    rt.block_on(rt.spawn(async {
        let mut s = sleep(5 * MS);
        let new = Instant::now() + 40 * MS;
        s.reset(new);
        assert_eq!(s.deadline(), new);
        (&mut s).await;
        assert!(Instant::now() >= new, "ended at the old deadline");

        let mut s = sleep(10 * MS);
        assert!(poll_here(&mut s).await.is_pending());
        let new = Instant::now() + 50 * MS;
        s.reset(new);
        (&mut s).await;
        assert!(Instant::now() >= new, "ended at the old deadline");

        // After it ended, a reset makes it a sleep again.
        assert!(s.is_elapsed());
        let new = Instant::now() + 20 * MS;
        s.reset(new);
        assert!(!s.is_elapsed());
        (&mut s).await;
        assert!(s.is_elapsed());
        assert!(Instant::now() >= new);
        assert_eq!(Handle::current().num_timers(), 0);
    }))
    .unwrap();
}

/// Resetting a registered 60 s sleep to 20 ms (or to the past) makes it end
/// then.
#[test]
fn reset_earlier_ends_at_the_earlier_deadline() {
    let rt = rt(2);
    rt.block_on(rt.spawn(async {
        let h = Handle::current();
        let mut s = sleep(LONG);
        assert!(poll_here(&mut s).await.is_pending());
        let new = Instant::now() + 20 * MS;
        s.reset(new);
        let start = Instant::now();
        let r = wait_for(&mut s, 10 * GENEROUS).await;
        assert!(r.is_ok(), "still waiting for the old deadline");
        assert!(Instant::now() >= new);
        assert!(start.elapsed() < GENEROUS, "took {:?}", start.elapsed());
        assert_eq!(h.num_timers(), 0);

        let mut s = sleep(LONG);
        assert!(poll_here(&mut s).await.is_pending());
        s.reset(Instant::now());
        assert!(wait_for(&mut s, 10 * GENEROUS).await.is_ok());
        assert_eq!(h.num_timers(), 0);
    }))
    .unwrap();
}

/// A task waits on a 60 s sleep; another thread moves it to 20 ms. The
/// reset keeps the waiting task's waker and wakes the parked driver: the
/// task ends at the new deadline. (No other timer is registered meanwhile,
/// so nothing else could wake the driver early.)
#[test]
fn reset_from_another_thread_wakes_the_waiting_task() {
    let rt = rt(1);
    let h = rt.handle();
    let shared = Arc::new(Mutex::new(sleep(LONG)));
    let s = shared.clone();
    let waiter = rt.spawn(poll_fn(move |cx| {
        Pin::new(&mut *s.lock().unwrap()).poll(cx)
    }));
    spin_until("the sleep is registered", || h.num_timers() == 1);
    let new = Instant::now() + 20 * MS;
    shared.lock().unwrap().reset(new);
    let start = Instant::now();
    rt.block_on(waiter).unwrap();
    let took = start.elapsed();
    assert!(Instant::now() >= new);
    assert!(
        took < 10 * GENEROUS,
        "took {took:?}: the reset did not reach the driver"
    );
    assert!(shared.lock().unwrap().is_elapsed());
    assert_eq!(h.num_timers(), 0);
}

/// Runs `f`, expecting a panic that says a timer was polled outside a
/// runtime.
fn expect_outside_panic<R>(what: &str, f: impl FnOnce() -> R) {
    let err = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("{what} polled outside a runtime did not panic"),
        Err(e) => e,
    };
    let msg = payload_str(&*err).unwrap_or_else(|| panic!("{what}: non-string panic payload"));
    assert!(
        msg.contains("outside a tasklane runtime"),
        "{what}: unclear message: {msg:?}"
    );
}

/// Making a sleep needs no runtime; polling one does, and says so.
#[test]
fn polling_a_sleep_outside_a_runtime_panics_clearly() {
    let rt = rt(1);
    let after_panic = std::thread::spawn(|| {
        let mut s = sleep(MS);
        expect_outside_panic("sleep", || common::poll_once(&mut s));
        let mut zero = sleep(Duration::ZERO);
        expect_outside_panic("sleep(ZERO)", || common::poll_once(&mut zero));
        let mut past = sleep_until(Instant::now());
        expect_outside_panic("sleep_until(now)", || common::poll_once(&mut past));
        s
    })
    .join()
    .unwrap();
    // The refused sleep is still whole: a runtime can drive it.
    rt.block_on(after_panic);
    assert_eq!(rt.handle().num_timers(), 0);
}

/// Blocks the worker that holds the driver: a task woken by a timer (so it
/// runs on the driver's worker) that then blocks its thread until the gate
/// opens. A watchdog opens the gate after 5 s so that a failure does not hang
/// the suite; it exits as soon as the test drops the returned sender.
fn block_driver_worker(
    rt: &tasklane::Runtime,
) -> (
    Arc<common::Gate>,
    tasklane::task::JoinHandle<()>,
    std::sync::mpsc::Sender<()>,
) {
    let gate = common::Gate::new();
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let g = gate.clone();
    let stuck = rt.spawn(async move {
        sleep(10 * MS).await;
        entered_tx.send(()).unwrap();
        g.wait();
    });
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let g = gate.clone();
    std::thread::spawn(move || {
        // Disconnected (the test finished) or 5 s passed: open either way.
        let _ = done_rx.recv_timeout(Duration::from_secs(5));
        g.open();
    });
    entered_rx.recv().unwrap();
    (gate, stuck, done_tx)
}

/// One worker is stuck in a long poll; the other is idle. A sleep
/// registered before the block still ends on time: timers must not depend
/// on the stuck worker.
#[test]
fn a_sleep_ends_while_another_worker_is_stuck() {
    let rt = rt(2);
    let h = rt.handle();
    let sleeper = rt.spawn(async {
        let start = Instant::now();
        sleep(60 * MS).await;
        start.elapsed()
    });
    spin_until("the sleep is registered", || h.num_timers() == 1);
    let (gate, stuck, done) = block_driver_worker(&rt);
    let took = rt.block_on(sleeper).unwrap();
    gate.open();
    drop(done);
    rt.block_on(stuck).unwrap();
    assert!(took >= 60 * MS);
    assert!(
        took < Duration::from_secs(4),
        "sleep(60 ms) took {took:?}: it waited for the stuck worker"
    );
}

/// As above, but the sleep is registered from `block_on` after the worker
/// got stuck, when no timer at all was pending.
#[test]
fn a_sleep_from_block_on_ends_while_a_worker_is_stuck() {
    let rt = rt(2);
    let (gate, stuck, done) = block_driver_worker(&rt);
    let took = rt.block_on(async {
        let start = Instant::now();
        sleep(20 * MS).await;
        start.elapsed()
    });
    gate.open();
    drop(done);
    rt.block_on(stuck).unwrap();
    assert!(took >= 20 * MS);
    assert!(
        took < Duration::from_secs(4),
        "sleep(20 ms) took {took:?}: it waited for the stuck worker"
    );
}

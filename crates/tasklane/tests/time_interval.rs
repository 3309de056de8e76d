//! `interval`: the first tick comes at once, ticks never come early and are
//! at least a period apart, a slow consumer catches up as its
//! `MissedTickBehavior` says, a zero period is raised to the timer's
//! resolution, and `reset` restarts the schedule from now.

mod common;

use common::rt;
use std::time::Duration;
use tasklane::time::{Instant, Interval, MissedTickBehavior, TICK, interval, interval_at};
use tasklane::{Handle, wait_for};

const MS: Duration = Duration::from_millis(1);
/// Generous upper bound for a short wait on a loaded machine.
const GENEROUS: Duration = Duration::from_secs(2);
/// The period of the missed-tick tests.
const P: Duration = Duration::from_millis(50);

const BEHAVIORS: [MissedTickBehavior; 3] = [
    MissedTickBehavior::Burst,
    MissedTickBehavior::Delay,
    MissedTickBehavior::Skip,
];

/// Whether `t` is on the schedule `start + k * period` for some `k`.
fn on_grid(t: Instant, start: Instant, period: Duration) -> bool {
    t.checked_duration_since(start)
        .is_some_and(|d| d.as_nanos() % period.as_nanos() == 0)
}

#[test]
fn the_first_tick_is_immediate() {
    let rt = rt(2);
    let check = || async {
        // A period far longer than the generous bound: the first tick cannot
        // be waiting for it.
        let period = Duration::from_secs(60);
        let before = Instant::now();
        let mut ticks = interval(period);
        let first = ticks.tick().await;
        let took = before.elapsed();
        assert!(first >= before && first <= Instant::now());
        assert!(took < GENEROUS, "the first tick took {took:?}");

        // interval_at: the first tick is `start` itself, once it has come.
        let start = Instant::now() + 20 * MS;
        let mut ticks = interval_at(start, period);
        assert_eq!(ticks.tick().await, start);
        assert!(Instant::now() >= start);
        // The second one is a period away.
        assert!(wait_for(ticks.tick(), 20 * MS).await.is_err());
    };
    rt.block_on(rt.spawn(check())).unwrap();
    rt.block_on(check());
}

/// With any behaviour, the ticks returned are at least a period apart and
/// none comes before its instant; `Burst` (the default) returns exactly
/// `start + k * period`.
#[test]
fn ticks_are_a_period_apart_and_never_early() {
    let rt = rt(2);
    let period = 10 * MS;
    let tasks: Vec<_> = BEHAVIORS
        .into_iter()
        .map(|behavior| {
            rt.spawn(async move {
                let mut ticks = interval(period);
                ticks.set_missed_tick_behavior(behavior);
                assert_eq!(ticks.missed_tick_behavior(), behavior);
                assert_eq!(ticks.period(), period);
                let first = ticks.tick().await;
                let mut prev = first;
                for k in 1..=8u32 {
                    let t = ticks.tick().await;
                    assert!(Instant::now() >= t, "{behavior:?}: tick {k} came early");
                    assert!(
                        t >= prev + period,
                        "{behavior:?}: ticks {k} and {} closer than a period",
                        k - 1
                    );
                    if behavior == MissedTickBehavior::Burst {
                        assert_eq!(t, first + period * k);
                    }
                    prev = t;
                }
            })
        })
        .collect();
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    assert_eq!(
        interval(period).missed_tick_behavior(),
        MissedTickBehavior::Burst,
        "the default"
    );
}

/// Takes the first tick (`start`), then blocks the task's worker for 3.5
/// periods: a consumer too slow for its interval. Returns the interval, the
/// first tick and the instant the block ended. (The block is the point of
/// the test, not a wait for some other thread.)
async fn stalled(behavior: MissedTickBehavior) -> (Interval, Instant, Instant) {
    let mut ticks = interval(P);
    ticks.set_missed_tick_behavior(behavior);
    let start = ticks.tick().await;
    std::thread::sleep(P * 7 / 2);
    (ticks, start, Instant::now())
}

/// `Burst`: the three missed ticks come back to back with their original
/// instants, then the schedule goes on in its original phase.
#[test]
fn burst_catches_up_on_the_original_schedule() {
    let rt = rt(2);
    rt.block_on(rt.spawn(async {
        let (mut ticks, start, stall_end) = stalled(MissedTickBehavior::Burst).await;
        for k in 1..=3 {
            let t = ticks.tick().await;
            assert_eq!(t, start + P * k, "missed tick {k}");
            assert!(t < stall_end, "tick {k} was due during the stall");
        }
        let caught_up = stall_end.elapsed();
        eprintln!("Burst: three missed ticks within {caught_up:?} of the stall's end");
        assert!(caught_up < GENEROUS, "the missed ticks took {caught_up:?}");
        let t = ticks.tick().await;
        assert_eq!(t, start + P * 4, "the phase is kept");
        assert!(Instant::now() >= t);
    }))
    .unwrap();
}

/// `Delay`: the late tick comes at once, and the next one a full period
/// after it was taken: the phase shifts, ticks never closer than a period.
#[test]
fn delay_restarts_the_schedule_after_the_late_tick() {
    let rt = rt(2);
    rt.block_on(rt.spawn(async {
        let (mut ticks, start, stall_end) = stalled(MissedTickBehavior::Delay).await;
        let late = ticks.tick().await;
        assert!(
            late > start && late < stall_end,
            "the late tick was due during the stall"
        );
        let next = ticks.tick().await;
        assert!(
            next >= stall_end + P,
            "next tick {:?} after the stall's end, not a full period",
            next - stall_end
        );
        assert!(Instant::now() >= next);
        let after = ticks.tick().await;
        assert!(after >= next + P);
        assert!(Instant::now() >= after);
    }))
    .unwrap();
}

/// `Skip`: the late tick comes at once, the other missed ones are dropped,
/// and the next is the first tick of the original schedule after the stall.
#[test]
fn skip_resumes_on_the_original_schedule() {
    let rt = rt(2);
    rt.block_on(rt.spawn(async {
        let (mut ticks, start, stall_end) = stalled(MissedTickBehavior::Skip).await;
        let late = ticks.tick().await;
        assert!(
            late > start && late < stall_end,
            "the late tick was due during the stall"
        );
        assert!(on_grid(late, start, P));
        let next = ticks.tick().await;
        assert!(
            on_grid(next, start, P),
            "{:?} is off the schedule",
            next - start
        );
        assert!(next > stall_end, "a missed tick was not skipped");
        assert!(next >= start + P * 4);
        assert!(Instant::now() >= next);
        let after = ticks.tick().await;
        assert!(on_grid(after, start, P));
        assert!(after > next);
    }))
    .unwrap();
}

/// A zero period does not panic or spin: it is raised to `TICK`, the timer
/// resolution.
#[test]
fn a_zero_period_is_raised_to_one_tick() {
    let rt = rt(2);
    rt.block_on(rt.spawn(async {
        let start = Instant::now();
        let mut ticks = interval(Duration::ZERO);
        assert_eq!(ticks.period(), TICK);
        let first = ticks.tick().await;
        for k in 1..=200u32 {
            let t = ticks.tick().await;
            assert_eq!(t, first + TICK * k);
            assert!(Instant::now() >= t);
        }
        assert!(start.elapsed() >= TICK * 200);
        assert!(start.elapsed() < GENEROUS);

        let at = Instant::now() + 5 * MS;
        let mut ticks = interval_at(at, Duration::ZERO);
        assert_eq!(ticks.period(), TICK);
        assert_eq!(ticks.tick().await, at);
        assert_eq!(ticks.tick().await, at + TICK);
        assert!(Instant::now() >= at + TICK);
    }))
    .unwrap();
}

/// `reset` makes the next tick one period from now, whether the interval
/// was idle or waiting on the wheel, and the schedule goes on from there.
#[test]
fn reset_restarts_the_schedule_from_now() {
    let rt = rt(2);
    rt.block_on(rt.spawn(async {
        let h = Handle::current();
        let mut ticks = interval(P);
        let first = ticks.tick().await;
        tasklane::time::sleep(10 * MS).await;
        let reset_at = Instant::now();
        ticks.reset();
        let t = ticks.tick().await;
        assert!(t >= reset_at + P, "{:?} after the reset", t - reset_at);
        assert!(t > first + P, "the old schedule was kept");
        assert!(Instant::now() >= t);
        assert_eq!(ticks.tick().await, t + P, "the new phase is kept");

        // Reset while the first tick, a minute away, is on the wheel.
        let mut ticks = interval_at(Instant::now() + Duration::from_secs(60), P);
        assert!(wait_for(ticks.tick(), 5 * MS).await.is_err());
        assert_eq!(h.num_timers(), 1, "the pending tick is on the wheel");
        let reset_at = Instant::now();
        ticks.reset();
        let t = wait_for(ticks.tick(), 10 * GENEROUS)
            .await
            .expect("the reset did not move the tick");
        assert!(t >= reset_at + P, "{:?} after the reset", t - reset_at);
        assert!(Instant::now() >= t);
        drop(ticks);
        assert_eq!(h.num_timers(), 0);

        // An interval dropped while its tick is on the wheel leaves it.
        let mut ticks = interval_at(Instant::now() + Duration::from_secs(60), P);
        assert!(wait_for(ticks.tick(), 5 * MS).await.is_err());
        assert_eq!(h.num_timers(), 1);
        drop(ticks);
        assert_eq!(h.num_timers(), 0);
    }))
    .unwrap();
}

/// A period too large for the clock is clamped as sleeps are, rather than
/// panicking: the first tick comes at once and the second never does here.
#[test]
fn a_huge_period_does_not_panic() {
    let rt = rt(2);
    rt.block_on(rt.spawn(async {
        for period in [Duration::MAX, Duration::from_secs(u64::MAX)] {
            let mut ticks = interval(period);
            ticks.tick().await;
            assert!(wait_for(ticks.tick(), 10 * MS).await.is_err());
        }
        assert_eq!(Handle::current().num_timers(), 0);
    }))
    .unwrap();
}

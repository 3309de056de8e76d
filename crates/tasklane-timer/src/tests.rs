//! Unit tests for edge cases of the wheel.

use crate::level::{WHEEL_RANGE, level_range};
use crate::{EntryKey, MAX_DELAY, Wheel};

/// Advances to `now` and returns the fired values.
fn fire<T>(wheel: &mut Wheel<T>, now: u64) -> Vec<T> {
    let mut out = Vec::new();
    wheel.advance(now, |_, v| out.push(v));
    out
}

/// Advances tick by tick until `now`, asserting nothing fires before `at`.
fn fires_exactly_at(deadline: u64) {
    let mut wheel = Wheel::new();
    wheel.insert(deadline, ());
    // Jump close, then step, so large deadlines stay fast.
    let near = deadline.saturating_sub(3);
    assert!(
        fire(&mut wheel, near).is_empty(),
        "early at {near} for {deadline}"
    );
    for t in near + 1..deadline {
        assert!(
            fire(&mut wheel, t).is_empty(),
            "early at {t} for {deadline}"
        );
    }
    assert_eq!(fire(&mut wheel, deadline).len(), 1, "not at {deadline}");
    assert!(wheel.is_empty());
}

#[test]
fn exact_deadlines_at_level_boundaries() {
    for level in 0..6 {
        let r = level_range(level);
        for d in [r - 1, r, r + 1] {
            if d <= MAX_DELAY {
                fires_exactly_at(d);
            }
        }
    }
    for d in [1, 2, 63, 64, 65, 4095, 4096, 4097, 123_456, MAX_DELAY] {
        fires_exactly_at(d);
    }
}

#[test]
fn boundaries_from_nonzero_time() {
    for start in [1, 63, 64, 4095, 4096 + 17, WHEEL_RANGE - 1] {
        for delta in [1, 62, 63, 64, 65, 4095, 4096, 262_144, 1 << 30] {
            let mut wheel = Wheel::new();
            wheel.advance(start, |_, _: ()| unreachable!());
            wheel.insert(start + delta, ());
            assert!(fire(&mut wheel, start + delta - 1).is_empty());
            assert_eq!(fire(&mut wheel, start + delta).len(), 1);
        }
    }
}

#[test]
fn same_slot_entries_all_fire() {
    let mut wheel = Wheel::new();
    for i in 0..10 {
        wheel.insert(5, i);
        wheel.insert(5000, 100 + i);
    }
    let mut got = fire(&mut wheel, 5);
    got.sort();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    assert!(fire(&mut wheel, 4999).is_empty());
    let mut got = fire(&mut wheel, 5000);
    got.sort();
    assert_eq!(got, (100..110).collect::<Vec<_>>());
}

#[test]
fn same_high_slot_different_deadlines() {
    // 4096..8191 share level-2 slot 1 from time 0.
    let mut wheel = Wheel::new();
    for d in [8000, 4096, 5000, 4097, 8191] {
        wheel.insert(d, d);
    }
    assert_eq!(wheel.next_expiration(), Some(4096));
    let mut fired = Vec::new();
    let mut t = 0;
    while let Some(next) = wheel.next_expiration() {
        assert!(next >= t);
        t = next;
        wheel.advance(t, |_, v| {
            assert_eq!(v, t);
            fired.push(v);
        });
    }
    assert_eq!(fired, [4096, 4097, 5000, 8000, 8191]);
}

#[test]
fn past_deadline_fires_on_next_advance() {
    let mut wheel = Wheel::new();
    wheel.advance(1000, |_, _: u8| {});
    let key = wheel.insert(10, 1u8);
    assert_eq!(wheel.deadline(key), Some(1000));
    assert_eq!(wheel.next_expiration(), Some(1000));
    // Even an advance "backwards" fires it and leaves time unchanged.
    assert_eq!(fire(&mut wheel, 0), [1]);
    assert_eq!(wheel.elapsed(), 1000);
}

#[test]
fn zero_advance_fires_entries_due_now() {
    let mut wheel = Wheel::new();
    wheel.insert(0, 'a');
    assert_eq!(fire(&mut wheel, 0), ['a']);
}

#[test]
fn reset_earlier_and_later() {
    let mut wheel = Wheel::new();
    let a = wheel.insert(100_000, 'a');
    let b = wheel.insert(10, 'b');
    assert!(wheel.reset(a, 20));
    assert!(wheel.reset(b, 100_000));
    assert_eq!(fire(&mut wheel, 19), Vec::<char>::new());
    assert_eq!(fire(&mut wheel, 20), ['a']);
    assert_eq!(fire(&mut wheel, 99_999), Vec::<char>::new());
    assert_eq!(fire(&mut wheel, 100_000), ['b']);
}

#[test]
fn reset_after_cascade() {
    let mut wheel = Wheel::new();
    let a = wheel.insert(5000, 'a');
    // Cascade `a` from level 2 to a lower level.
    assert!(fire(&mut wheel, 4096).is_empty());
    assert!(wheel.reset(a, 4100));
    assert_eq!(fire(&mut wheel, 4100), ['a']);
}

#[test]
fn remove_after_fire_and_stale_keys() {
    let mut wheel = Wheel::new();
    let a = wheel.insert(1, 'a');
    let mut fired_key = None;
    wheel.advance(1, |k, _| fired_key = Some(k));
    assert_eq!(fired_key, Some(a));
    assert_eq!(wheel.remove(a), None);
    assert!(!wheel.reset(a, 5));
    assert_eq!(wheel.deadline(a), None);
    // The slot is reused; the old key must not reach the new entry.
    let b = wheel.insert(10, 'b');
    assert_ne!(a, b);
    assert_eq!(wheel.remove(a), None);
    assert!(!wheel.reset(a, 3));
    assert_eq!(wheel.remove(b), Some('b'));
    assert_eq!(wheel.remove(b), None);
}

#[test]
fn remove_middle_of_slot_list() {
    let mut wheel = Wheel::new();
    let keys: Vec<EntryKey> = (0..5).map(|i| wheel.insert(7, i)).collect();
    assert_eq!(wheel.remove(keys[2]), Some(2));
    assert_eq!(wheel.remove(keys[4]), Some(4)); // head (pushed last)
    assert_eq!(wheel.remove(keys[0]), Some(0)); // tail
    let mut got = fire(&mut wheel, 7);
    got.sort();
    assert_eq!(got, [1, 3]);
}

#[test]
fn removing_last_entry_clears_slot() {
    let mut wheel = Wheel::new();
    let k = wheel.insert(300, ());
    wheel.remove(k);
    assert_eq!(wheel.next_expiration(), None);
    assert!(wheel.is_empty());
}

#[test]
fn clamping_far_deadlines() {
    let mut wheel = Wheel::new();
    wheel.advance(12_345, |_, _: ()| {});
    let k = wheel.insert(u64::MAX, ());
    assert_eq!(wheel.deadline(k), Some(12_345 + MAX_DELAY));
    assert!(wheel.reset(k, u64::MAX - 1));
    assert_eq!(wheel.deadline(k), Some(12_345 + MAX_DELAY));
    let exp = wheel.next_expiration().unwrap();
    assert!(exp <= 12_345 + MAX_DELAY);
    assert!(fire(&mut wheel, 12_345 + MAX_DELAY - 1).is_empty());
    assert_eq!(fire(&mut wheel, 12_345 + MAX_DELAY).len(), 1);
}

#[test]
fn top_level_ring_wraps() {
    // Start just below a 64^7 boundary and schedule past it.
    let start = WHEEL_RANGE - 5;
    let mut wheel = Wheel::new();
    wheel.advance(start, |_, _: u64| {});
    for d in [start + 10, start + MAX_DELAY, start + (1 << 31)] {
        wheel.insert(d, d);
    }
    let mut last = start;
    while let Some(next) = wheel.next_expiration() {
        assert!(next >= last);
        last = next;
        wheel.advance(next, |_, d| assert_eq!(d, next));
    }
    assert_eq!(last, start + MAX_DELAY);
}

#[test]
fn len_tracks_inserts_and_fires() {
    let mut wheel = Wheel::new();
    for i in 0..100u64 {
        wheel.insert(i * 37, i);
    }
    assert_eq!(wheel.len(), 100);
    let n = fire(&mut wheel, 37 * 50).len();
    assert_eq!(n, 51);
    assert_eq!(wheel.len(), 49);
}

#[test]
fn debug_does_not_need_t_debug() {
    struct Opaque;
    let mut wheel = Wheel::new();
    wheel.insert(3, Opaque);
    let s = format!("{wheel:?}");
    assert!(s.contains("len: 1"), "{s}");
}

#[test]
fn send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Wheel<u64>>();
    assert_send_sync::<EntryKey>();
}

/// `cancel_batch` removes exactly the live keys it is given (more than one
/// lock's worth of them), skips stale ones, frees every entry once, and
/// leaves the other timers alone.
#[test]
fn cancel_batch_removes_live_keys_and_skips_stale_ones() {
    use crate::{Registration, Timers};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let woken = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(woken.clone());
    let timers = Timers::new(2);
    let key = |deadline| match timers.register(1, deadline, &waker) {
        Registration::Pending { key, .. } => key,
        Registration::Expired => unreachable!("deadline in the future"),
    };
    let mut batch: Vec<_> = (0..150).map(|i| key(10 + i % 7)).collect();
    let kept: Vec<_> = (0..5).map(|i| key(20 + i)).collect();
    // Fire the 10-tick ones first: their keys in the batch go stale.
    let mut fired = Vec::new();
    timers.process(10, &mut fired);
    let stale = fired.len();
    assert_eq!(stale, (0..150).filter(|i| i % 7 == 0).count());
    drop(fired);
    assert_eq!(timers.cancel_batch(1, &mut batch), 150 - stale);
    assert!(batch.is_empty());
    assert_eq!(timers.len(), kept.len());
    // The Arc is held by the test and the five kept entries only: every
    // removed and fired waker was dropped.
    assert_eq!(Arc::strong_count(&woken), 1 + 1 + kept.len());
    let mut fired = Vec::new();
    timers.process(100, &mut fired);
    assert_eq!(fired.len(), kept.len());
    assert!(timers.is_empty());
    assert_eq!(
        woken.0.load(Ordering::SeqCst),
        0,
        "nothing was woken by cancelling"
    );
}

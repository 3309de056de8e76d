//! Model-based property test: the wheel against a `BTreeMap` ordered by
//! deadline, under random insert / remove / reset / advance sequences.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use tasklane_timer::{EntryKey, MAX_DELAY, Wheel};

#[derive(Debug, Clone)]
enum Op {
    /// Insert at `now + delta` (saturating), or in the past if `past`.
    Insert { delta: u64, past: bool },
    /// Remove the `n`th key ever issued (possibly stale).
    Remove(usize),
    /// Reset the `n`th key ever issued to `now + delta`.
    Reset(usize, u64),
    /// Advance by `delta` (possibly 0).
    Advance(u64),
}

fn delta() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0..70u64,
        4 => 0..5_000u64,
        2 => 0..(1u64 << 20),
        1 => 0..(1u64 << 38),
        1 => Just(MAX_DELAY),
        1 => Just(u64::MAX),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (delta(), prop::bool::weighted(0.1))
            .prop_map(|(delta, past)| Op::Insert { delta, past }),
        1 => any::<usize>().prop_map(Op::Remove),
        2 => (any::<usize>(), delta()).prop_map(|(n, d)| Op::Reset(n, d)),
        3 => prop_oneof![
            2 => Just(0u64),
            4 => 0..100u64,
            3 => 0..10_000u64,
            1 => 0..(1u64 << 32),
            1 => 0..(1u64 << 37),
        ]
        .prop_map(Op::Advance),
    ]
}

fn start() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        0..100_000u64,
        // Just below a 64^7 boundary, so the top level's ring wraps.
        ((1u64 << 42) - 5_000)..(1u64 << 42),
    ]
}

struct Model {
    now: u64,
    /// (deadline, seq) -> key
    by_deadline: BTreeMap<(u64, u64), EntryKey>,
    /// key -> (deadline, seq)
    live: HashMap<EntryKey, (u64, u64)>,
}

impl Model {
    fn clamp(&self, d: u64) -> u64 {
        d.clamp(self.now, self.now.saturating_add(MAX_DELAY))
    }
}

fn run(start: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut wheel: Wheel<u64> = Wheel::new();
    wheel.advance(start, |_, _| unreachable!());
    let mut model = Model {
        now: start,
        by_deadline: BTreeMap::new(),
        live: HashMap::new(),
    };
    let mut keys: Vec<EntryKey> = Vec::new();
    let mut seq = 0u64;

    for op in ops {
        match op {
            Op::Insert { delta, past } => {
                let d = if past {
                    model.now.saturating_sub(delta)
                } else {
                    model.now.saturating_add(delta)
                };
                seq += 1;
                let key = wheel.insert(d, seq);
                let when = model.clamp(d);
                prop_assert_eq!(wheel.deadline(key), Some(when));
                prop_assert!(!model.live.contains_key(&key), "key reused while live");
                model.by_deadline.insert((when, seq), key);
                model.live.insert(key, (when, seq));
                keys.push(key);
            }
            Op::Remove(n) => {
                if keys.is_empty() {
                    continue;
                }
                let key = keys[n % keys.len()];
                let got = wheel.remove(key);
                match model.live.remove(&key) {
                    Some((when, s)) => {
                        model.by_deadline.remove(&(when, s));
                        prop_assert_eq!(got, Some(s));
                    }
                    None => prop_assert_eq!(got, None, "stale key removed something"),
                }
            }
            Op::Reset(n, delta) => {
                if keys.is_empty() {
                    continue;
                }
                let key = keys[n % keys.len()];
                let d = model.now.saturating_add(delta);
                let ok = wheel.reset(key, d);
                let when = model.clamp(d);
                match model.live.get_mut(&key) {
                    Some(slot) => {
                        prop_assert!(ok);
                        let (old, s) = *slot;
                        model.by_deadline.remove(&(old, s));
                        model.by_deadline.insert((when, s), key);
                        *slot = (when, s);
                        prop_assert_eq!(wheel.deadline(key), Some(when));
                    }
                    None => prop_assert!(!ok, "stale key reset something"),
                }
            }
            Op::Advance(delta) => {
                let now = model.now.saturating_add(delta);
                let mut fired: Vec<(EntryKey, u64)> = Vec::new();
                wheel.advance(now, |k, v| fired.push((k, v)));
                model.now = now;
                prop_assert_eq!(wheel.elapsed(), now);

                // Exactly the due entries, each once, in deadline order.
                let mut expected: Vec<(u64, u64, EntryKey)> = Vec::new();
                while let Some((&(when, s), &key)) = model.by_deadline.first_key_value() {
                    if when > now {
                        break;
                    }
                    model.by_deadline.pop_first();
                    model.live.remove(&key);
                    expected.push((when, s, key));
                }
                prop_assert_eq!(fired.len(), expected.len(), "fired {:?}", fired);
                let mut got = fired.clone();
                got.sort_by_key(|&(_, s)| s);
                let mut want: Vec<(EntryKey, u64)> =
                    expected.iter().map(|&(_, s, k)| (k, s)).collect();
                want.sort_by_key(|&(_, s)| s);
                prop_assert_eq!(got, want);
                let when_of: HashMap<u64, u64> = expected.iter().map(|&(w, s, _)| (s, w)).collect();
                let order: Vec<u64> = fired.iter().map(|(_, s)| when_of[s]).collect();
                prop_assert!(order.windows(2).all(|w| w[0] <= w[1]), "order {:?}", order);
            }
        }

        // Invariants after every step.
        prop_assert_eq!(wheel.len(), model.live.len());
        prop_assert_eq!(wheel.is_empty(), model.live.is_empty());
        let earliest = model.by_deadline.first_key_value().map(|(&(w, _), _)| w);
        match (wheel.next_expiration(), earliest) {
            (None, None) => {}
            (Some(next), Some(earliest)) => {
                // A lower bound, never later than the earliest deadline, and
                // never in the past.
                prop_assert!(next <= earliest, "next {} > earliest {}", next, earliest);
                prop_assert!(next >= model.now, "next {} < now {}", next, model.now);
            }
            (a, b) => prop_assert!(false, "next_expiration {:?} vs model {:?}", a, b),
        }
    }

    // Drain: following next_expiration reaches every entry, none early.
    let mut guard = 0;
    while let Some(next) = wheel.next_expiration() {
        guard += 1;
        prop_assert!(guard < 100_000, "drain does not terminate");
        let mut fired = Vec::new();
        wheel.advance(next, |k, v| fired.push((k, v)));
        for (k, v) in fired {
            let (when, s) = model.live.remove(&k).expect("fired a dead key");
            prop_assert_eq!(v, s);
            prop_assert_eq!(when, next, "fired at {} not at deadline {}", next, when);
        }
    }
    prop_assert!(model.live.is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn wheel_matches_model(start in start(), ops in prop::collection::vec(op(), 1..200)) {
        run(start, ops)?;
    }
}

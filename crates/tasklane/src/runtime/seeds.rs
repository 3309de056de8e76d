//! `#[tasklane::test(seed = N)]` and `#[tasklane::test(seeds = N)]`: a
//! test body run on the deterministic runtime, for one seed or for each
//! seed of a sweep, with `TASKLANE_SEED` to replay one.

use super::{Builder, run_with};
use std::any::Any;
use std::fmt::Debug;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// The environment variable that replays one seed.
const SEED_ENV: &str = "TASKLANE_SEED";

/// Which seeds a test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeds {
    /// This seed only.
    One(u64),
    /// Seeds `0..n`, one fresh runtime each, until one fails.
    Sweep(u64),
}

/// What a seed's run returned: `()`, or a `Result` whose `Err` fails it
/// as a panic does.
pub trait SeedOutcome {
    /// Why the run failed, if it did.
    fn failure(&self) -> Option<String>;
}

impl SeedOutcome for () {
    fn failure(&self) -> Option<String> {
        None
    }
}

impl<T, E: Debug> SeedOutcome for Result<T, E> {
    fn failure(&self) -> Option<String> {
        self.as_ref().err().map(|e| format!("returned Err({e:?})"))
    }
}

/// The seed `TASKLANE_SEED` names, if it is set.
///
/// # Panics
///
/// If it is set to something that is not a `u64`.
fn seed_from_env() -> Option<u64> {
    let v = std::env::var(SEED_ENV).ok()?;
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    Some(v.parse().unwrap_or_else(|_| {
        panic!("{SEED_ENV}={v:?} is not a seed: give an unsigned 64-bit integer")
    }))
}

/// Runs `body()` on a deterministic runtime built from `builder`, once per
/// seed of `seeds` (or only `TASKLANE_SEED`'s), and returns the last run's
/// value. A seed whose run panics or returns `Err` ends the sweep with a
/// panic that names it and says how to replay it.
pub fn run_seeds<F, Fut>(builder: Builder, seeds: Seeds, body: F) -> Fut::Output
where
    F: Fn() -> Fut,
    Fut: Future,
    Fut::Output: SeedOutcome,
{
    let (first, end, replay) = match (seed_from_env(), seeds) {
        (Some(s), _) => (s, s.saturating_add(1), true),
        (None, Seeds::One(s)) => (s, s.saturating_add(1), false),
        (None, Seeds::Sweep(n)) => (0, n, false),
    };
    let mut last = None;
    for seed in first..end {
        let run = catch_unwind(AssertUnwindSafe(|| {
            run_with(
                builder.clone().deterministic(seed),
                "#[tasklane::test(seed/seeds)]",
                body(),
            )
        }));
        let why = match &run {
            Ok(out) => out.failure(),
            Err(payload) => Some(panic_message(&**payload)),
        };
        if let Some(why) = why {
            let whence = if replay {
                format!("seed {seed} (from {SEED_ENV})")
            } else if matches!(seeds, Seeds::Sweep(_)) {
                format!("seed {seed} of the sweep 0..{end}")
            } else {
                format!("seed {seed}")
            };
            eprintln!(
                "tasklane: {whence} failed: {why}\n\
                 tasklane: replay it with {SEED_ENV}={seed}"
            );
            match run {
                // The original panic, so `should_panic(expected = ..)` and
                // the test harness see it as it was.
                Err(payload) => resume_unwind(payload),
                Ok(out) => return out,
            }
        }
        last = run.ok();
    }
    last.expect("at least one seed ran")
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a payload that is not a string".to_owned()
    }
}

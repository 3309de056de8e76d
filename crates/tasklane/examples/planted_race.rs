//! A seed sweep finds an order-dependent bug, and its seed replays it.
//!
//! Two tasks add one to a shared counter. One of them reads the counter,
//! awaits something (here a `yield_now`, in real code a database call),
//! then writes what it read plus one: if the other task runs in between,
//! its update is lost. On a real multi-threaded runtime this shows up now
//! and then; on the deterministic runtime every schedule is a function of
//! a seed, so a sweep over seeds finds one that loses the update, and that
//! seed loses it again every time it is run.
//!
//! Run with `cargo run --example planted_race`. It checks what it claims
//! and exits non-zero otherwise.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tasklane::Runtime;

/// The buggy update, run by two tasks; returns the final count (2 when no
/// update was lost).
async fn two_increments() -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let c = counter.clone();
    let read_await_write = tasklane::spawn(async move {
        let seen = c.load(Ordering::SeqCst);
        tasklane::yield_now().await; // the await between read and write
        c.store(seen + 1, Ordering::SeqCst);
    });
    let c = counter.clone();
    let read_write = tasklane::spawn(async move {
        let seen = c.load(Ordering::SeqCst);
        c.store(seen + 1, Ordering::SeqCst);
    });
    read_await_write.await.unwrap();
    read_write.await.unwrap();
    counter.load(Ordering::SeqCst)
}

/// One run on the deterministic runtime with `seed`: the count and the
/// schedule's digest.
fn run(seed: u64) -> (u64, u64) {
    let rt = Runtime::builder()
        .deterministic(seed)
        .build()
        .expect("runtime builds");
    let count = rt.block_on(two_increments());
    (count, rt.handle().schedule_digest())
}

fn main() -> ExitCode {
    const SEEDS: u64 = 500;
    const REPLAYS: usize = 20;
    let Some((seed, (count, digest))) = (0..SEEDS).map(|s| (s, run(s))).find(|(_, r)| r.0 != 2)
    else {
        eprintln!("FAIL: no seed in 0..{SEEDS} lost an update");
        return ExitCode::FAILURE;
    };
    println!(
        "seed {seed}: the counter ends at {count}, not 2 (an update was lost); \
         schedule digest {digest:#018x}"
    );
    for i in 0..REPLAYS {
        let again = run(seed);
        if again != (count, digest) {
            eprintln!(
                "FAIL: replay {i} of seed {seed} gave {again:?}, not {:?}",
                (count, digest)
            );
            return ExitCode::FAILURE;
        }
    }
    println!("replayed seed {seed} {REPLAYS} times: the same lost update and digest every time");
    let clean = (0..SEEDS).filter(|&s| run(s).0 == 2).count();
    if clean == 0 {
        eprintln!("FAIL: every seed lost the update: the schedule does not depend on the seed");
        return ExitCode::FAILURE;
    }
    println!("{clean} of {SEEDS} seeds ran the two tasks in an order that loses nothing");
    println!("ok");
    ExitCode::SUCCESS
}

//! [loom] models of `tasklane-sched` (the real task core and scheduler), of
//! `tasklane-timer` (the sharded `Timers`: entry and park protocols) and of
//! `tasklane-io` (a source's `ScheduledIo`: its readiness word and wakers),
//! compiled under the `tasklane_loom` cfg, driven through every interleaving
//! loom can reach.
//!
//! The models are integration tests in `tests/`, one file per behaviour, so
//! CI can run them in groups (`task_*`, `join_*`, `cancel_*`, `scope_*`,
//! `shutdown_*` and `sched_*` for the scheduler, `timer_*` for the timers,
//! `io_*` for the I/O readiness).
//! Without the cfg they compile to nothing, and so do the [`mock`] module
//! that holds their test doubles and the `timer` and `io` modules of helpers
//! for the timer and I/O models.
//!
//! # Running
//!
//! Always in release and in a target dir of its own, so the cfg does not
//! invalidate the normal build:
//!
//! ```text
//! CARGO_TARGET_DIR=target/loom RUSTFLAGS="--cfg tasklane_loom" \
//!     cargo test -p loom-tests --release
//! ```
//!
//! One group: add `--test task_wake_while_running` (the file name). Adding
//! `CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true` also turns on the
//! `debug_assert!`s of the state machine (reference-count underflow, illegal
//! transitions), at the cost of a rebuild of the loom target dir.
//!
//! # Bounds
//!
//! The heavier models bound the number of preemptions per execution (see
//! each test's docs); the bound is a default that the usual loom variables
//! override: `LOOM_MAX_PREEMPTIONS=N` (unset means the model's own default),
//! `LOOM_MAX_BRANCHES`, `LOOM_MAX_DURATION` (seconds),
//! `LOOM_MAX_PERMUTATIONS`.
//!
//! # Replaying a failure
//!
//! loom numbers nothing; it records the *path* (every scheduling choice) of
//! an execution. To replay the execution that failed:
//!
//! 1. Run the failing model again, recording the path of every execution
//!    (needs this crate's `checkpoint` feature, which turns on loom's):
//!
//!    ```text
//!    LOOM_CHECKPOINT_FILE=/tmp/loom-fail.json LOOM_CHECKPOINT_INTERVAL=1 \
//!    CARGO_TARGET_DIR=target/loom RUSTFLAGS="--cfg tasklane_loom" \
//!        cargo test -p loom-tests --release --features checkpoint \
//!        --test NAME -- --exact MODEL
//!    ```
//!
//!    With an interval of 1 the file holds the path of the last execution
//!    started, which is the one that failed. Delete the file before such a
//!    run: loom starts from whatever path it finds there. Keep every other
//!    setting (bound variables, `CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS`) the
//!    same in both runs, or the path no longer matches the code.
//! 2. Run the same command again, with `LOOM_LOG=trace LOOM_LOCATION=1` and
//!    `--nocapture` added: loom loads the path from the file, so the first
//!    execution it runs is the failing one, now with a log of every step
//!    (`LOOM_LOG` is a `tracing` filter) and the source location of every
//!    atomic, lock and cell access. (A bigger interval, for example 10 000,
//!    makes a long run cheaper to record, but the replay then starts from the
//!    last checkpoint written before the failure.)
//!
//! A failing model often ends the test binary with `SIGABRT` and "panic in a
//! destructor during cleanup": loom objects dropped while the failed
//! execution unwinds panic again. loom's own report (the failed assertion,
//! "deadlock", "Causality violation") is printed above that; run one model
//! at a time with `--nocapture` to see it in full.
//!
//! [loom]: https://docs.rs/loom

#[cfg(tasklane_loom)]
pub mod io;
#[cfg(tasklane_loom)]
pub mod mock;
#[cfg(tasklane_loom)]
pub mod timer;

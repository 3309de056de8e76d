//! Helpers for testing code that runs on tasklane.
//!
//! [`cancel_sweep`] is cancellation fuzzing: it cancels a future right
//! after each of its suspension points in turn, so a test can check that
//! the future's cleanup runs whichever await a cancellation lands on.
//! `docs/testing.md` is the chapter on testing with tasklane.

mod cancel_sweep;

pub use cancel_sweep::{CancelSweep, cancel_sweep};

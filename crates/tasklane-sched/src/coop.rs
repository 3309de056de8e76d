//! Cooperative budget: a task may make at most [`BUDGET`] units of progress
//! through runtime resources in one poll. After that, resources report
//! `Pending` (and wake the task at once), so a future that is always ready
//! still yields to the other tasks on its worker.
//!
//! Outside a worker's poll the budget is unlimited.

use crate::sync::thread_local;
use std::cell::Cell;
use std::task::{Context, Poll};

/// Units of progress a task may make per poll.
pub const BUDGET: u8 = 128;

thread_local! {
    static CURRENT: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Runs `f` (one task poll) with a fresh budget.
#[inline(always)]
pub(crate) fn with_budget<R>(f: impl FnOnce() -> R) -> R {
    /// Restores the previous budget, also if `f` unwinds.
    struct Reset<'a>(&'a Cell<Option<u8>>, Option<u8>);
    impl Drop for Reset<'_> {
        #[inline(always)]
        fn drop(&mut self) {
            self.0.set(self.1);
        }
    }
    // One look-up of the thread-local for both the set and the reset.
    CURRENT.with(|c| {
        let _reset = Reset(c, c.replace(Some(BUDGET)));
        f()
    })
}

/// Runs `f` outside the cooperative budget: the resources it polls always
/// proceed and charge nothing. For operations that never wait, such as
/// taking a result already known to be there, where a `Pending` caused by
/// the budget could not be told from "nothing ready".
///
/// # Examples
///
/// ```
/// use std::task::{Context, Waker};
/// let mut cx = Context::from_waker(Waker::noop());
/// let p = tasklane_sched::coop::unconstrained(|| tasklane_sched::coop::poll_proceed(&mut cx));
/// assert!(p.is_ready());
/// ```
pub fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    /// Restores the budget, also if `f` unwinds.
    struct Reset<'a>(&'a Cell<Option<u8>>, Option<u8>);
    impl Drop for Reset<'_> {
        fn drop(&mut self) {
            self.0.set(self.1);
        }
    }
    CURRENT.with(|c| {
        let _reset = Reset(c, c.replace(None));
        f()
    })
}

/// Whether the running task still has budget. Returns `Pending` (after
/// waking the task) once the budget is spent. Call
/// [`Proceed::made_progress`] when the operation did something; otherwise
/// the unit is given back when the guard drops.
///
/// # Examples
///
/// ```
/// use std::task::{Context, Poll};
/// fn poll_thing(cx: &mut Context<'_>) -> Poll<u32> {
///     let proceed = std::task::ready!(tasklane_sched::coop::poll_proceed(cx));
///     proceed.made_progress();
///     Poll::Ready(7)
/// }
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<Proceed> {
    CURRENT.with(|c| match c.get() {
        None => Poll::Ready(Proceed { charged: false }),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            c.set(Some(n - 1));
            Poll::Ready(Proceed { charged: true })
        }
    })
}

/// A unit of budget taken by [`poll_proceed`]; given back on drop unless
/// [`made_progress`](Self::made_progress) was called.
#[derive(Debug)]
#[must_use]
pub struct Proceed {
    charged: bool,
}

impl Proceed {
    /// Keeps the unit spent.
    pub fn made_progress(mut self) {
        self.charged = false;
    }
}

impl Drop for Proceed {
    fn drop(&mut self) {
        if self.charged {
            CURRENT.with(|c| c.set(c.get().map(|n| n.saturating_add(1).min(BUDGET))));
        }
    }
}

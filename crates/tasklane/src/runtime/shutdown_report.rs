//! [`ShutdownReport`]: what a shutdown did with the tasks it found.

use std::fmt;

/// What [`Runtime::shutdown`](super::Runtime::shutdown) did with the tasks
/// alive when it began, or
/// [`TaskGroup::shutdown`](crate::TaskGroup::shutdown) with the group's
/// children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    completed: usize,
    cancelled: usize,
    panicked: usize,
    dropped: Vec<String>,
}

impl ShutdownReport {
    /// Tasks that ended with a value after shutdown began (for a task
    /// group's or set's shutdown, also those that had already ended).
    pub fn completed(&self) -> usize {
        self.completed
    }

    /// Tasks that ended cancelled.
    pub fn cancelled(&self) -> usize {
        self.cancelled
    }

    /// Tasks that ended by panicking.
    pub fn panicked(&self) -> usize {
        self.panicked
    }

    /// Tasks still running when the grace ran out, which shutdown gave up on.
    pub fn dropped(&self) -> usize {
        self.dropped.len()
    }

    /// Names of the tasks counted by [`dropped`](Self::dropped).
    pub fn dropped_names(&self) -> &[String] {
        &self.dropped
    }
}

impl ShutdownReport {
    /// A report from its counts (a task group's or set's shutdown).
    pub(crate) fn new(
        completed: usize,
        cancelled: usize,
        panicked: usize,
        dropped: Vec<String>,
    ) -> ShutdownReport {
        ShutdownReport {
            completed,
            cancelled,
            panicked,
            dropped,
        }
    }

    /// The report of the scheduler's shutdown.
    pub(super) fn from_stats(s: tasklane_sched::ShutdownStats) -> ShutdownReport {
        ShutdownReport {
            completed: s.completed,
            cancelled: s.cancelled,
            panicked: s.panicked,
            dropped: s.dropped,
        }
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} completed, {} cancelled, {} panicked, {} dropped",
            self.completed,
            self.cancelled,
            self.panicked,
            self.dropped.len()
        )?;
        if !self.dropped.is_empty() {
            write!(f, " ({})", self.dropped.join(", "))?;
        }
        Ok(())
    }
}

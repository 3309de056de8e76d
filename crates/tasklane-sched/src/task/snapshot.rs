//! What introspection sees of a task: [`TaskSnapshot`], done callbacks, and
//! the cheap clock that measures time spent running.

use super::header::Header;
use super::id::{TaskId, TaskState};
use std::fmt;
use std::panic::Location;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A callback given to `JoinHandle::on_done`.
pub(crate) type DoneCallback = Box<dyn FnOnce(&TaskSnapshot) + Send + 'static>;

/// A task as seen at one instant: asyncio's task repr.
///
/// Read racily from another thread: the fields are each exact, but not
/// necessarily from the same instant.
#[derive(Clone, PartialEq, Eq)]
pub struct TaskSnapshot {
    id: TaskId,
    name: String,
    state: TaskState,
    location: &'static Location<'static>,
    polls: u64,
    running: Option<Duration>,
    cancel_pending: Option<Duration>,
}

impl TaskSnapshot {
    pub(crate) fn of(h: &Header) -> TaskSnapshot {
        TaskSnapshot {
            id: h.id,
            name: h.name().to_owned(),
            state: h.task_state(),
            location: h.location,
            polls: h.polls.load(Ordering::Relaxed),
            running: Self::running(h),
            cancel_pending: if h.is_debug() {
                super::debug::pending_for(h.id.as_u64())
            } else {
                None
            },
        }
    }

    /// In debug mode, how long the task's cancellation has waited for its
    /// delivery, if one is pending.
    pub fn cancel_pending_for(&self) -> Option<Duration> {
        self.cancel_pending
    }

    /// Time spent running so far, in the unit the task measures it in.
    pub(crate) fn running_of(h: &Header) -> Duration {
        let r = h.running.load(Ordering::Relaxed);
        if h.is_timed() {
            clock::to_duration(r)
        } else {
            Duration::from_nanos(r)
        }
    }

    fn running(h: &Header) -> Option<Duration> {
        // Without poll timing, the slow-poll watch's coarse clock measures
        // it (unless the watch is off).
        (h.is_timed() || h.is_watched()).then(|| Self::running_of(h))
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }
    /// The task's name (`Task-{id}` if it was not given one).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its lifecycle state when the snapshot was taken.
    pub fn state(&self) -> TaskState {
        self.state
    }
    /// Where it was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }
    /// How many times it has been polled.
    pub fn polls(&self) -> u64 {
        self.polls
    }
    /// Time spent inside its polls, in total. Measured by the workers'
    /// slow-poll watch with the coarse monotonic clock (each poll is
    /// charged whole ticks of the kernel's clock; the sum is an unbiased
    /// estimate), or precisely with poll timing on
    /// (`Builder::poll_timing`, or while a `tracing` subscriber listens to
    /// the task). `None` if neither measures it: poll timing off and the
    /// slow-poll watch turned off (`slow_poll_threshold(Duration::MAX)`).
    pub fn running_time(&self) -> Option<Duration> {
        self.running
    }
}

impl fmt::Debug for TaskSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSnapshot")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("state", &self.state)
            .field("location", &format_args!("{}", self.location))
            .field("polls", &self.polls)
            .field("running", &self.running)
            .finish()
    }
}

/// Like asyncio's repr: `<Task suspended name='fetch' id=7 polls=3 spawned at
/// src/main.rs:10:5>`, with `running=1.2ms` after the polls when it is
/// measured.
impl fmt::Display for TaskSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Task {} name='{}' id={} polls={}",
            self.state, self.name, self.id, self.polls
        )?;
        if let Some(r) = self.running {
            write!(f, " running={r:?}")?;
        }
        if let Some(w) = self.cancel_pending {
            write!(f, " cancel pending for {w:?}")?;
        }
        write!(f, " spawned at {}>", self.location)
    }
}

/// The clock of per-poll running time: the time-stamp counter where it is
/// cheap and steady (x86-64: one instruction, where `Instant::now` costs a
/// vDSO call), else `Instant`. Ticks are converted to time only when a
/// snapshot is taken, against a reference pair taken on first use.
pub(crate) mod clock {
    use super::*;

    static ORIGIN: OnceLock<(Instant, u64)> = OnceLock::new();

    #[cfg(all(target_arch = "x86_64", not(miri)))]
    #[inline]
    pub(crate) fn now() -> u64 {
        // SAFETY: `rdtsc` is available on every x86-64 CPU and has no
        // preconditions.
        unsafe { std::arch::x86_64::_rdtsc() }
    }

    /// Nanoseconds since the first use (its own cell: `ORIGIN`'s
    /// initialiser calls `now`).
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    #[inline]
    pub(crate) fn now() -> u64 {
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }

    /// Starts the reference pair (called when a scheduler starts, so that
    /// the ratio is measured over a long span by the time it is used).
    pub(crate) fn init() {
        ORIGIN.get_or_init(|| (Instant::now(), now()));
    }

    pub(crate) fn to_duration(ticks: u64) -> Duration {
        if cfg!(not(all(target_arch = "x86_64", not(miri)))) {
            return Duration::from_nanos(ticks);
        }
        let &(t0, c0) = ORIGIN.get_or_init(|| (Instant::now(), now()));
        let (elapsed, cycles) = (t0.elapsed(), now().wrapping_sub(c0));
        if cycles == 0 || elapsed.is_zero() {
            return Duration::ZERO;
        }
        let nanos = ticks as u128 * elapsed.as_nanos() / cycles as u128;
        Duration::from_nanos(nanos.min(u64::MAX as u128) as u64)
    }
}

/// A list of task snapshots, printed like asyncio's task reprs, one per
/// line, in id order: `println!("{}", handle.dump())` shows what every live
/// task is doing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskDump {
    tasks: Vec<TaskSnapshot>,
}

impl TaskDump {
    /// Sorts `tasks` by id.
    pub fn new(mut tasks: Vec<TaskSnapshot>) -> TaskDump {
        tasks.sort_by_key(|t| t.id);
        TaskDump { tasks }
    }
    /// The snapshots, in id order.
    pub fn tasks(&self) -> &[TaskSnapshot] {
        &self.tasks
    }
    /// The snapshots, in id order.
    pub fn into_vec(self) -> Vec<TaskSnapshot> {
        self.tasks
    }
    /// Number of tasks listed.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }
    /// True if no task was live.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl<'a> IntoIterator for &'a TaskDump {
    type Item = &'a TaskSnapshot;
    type IntoIter = std::slice::Iter<'a, TaskSnapshot>;
    fn into_iter(self) -> Self::IntoIter {
        self.tasks.iter()
    }
}

/// `N live tasks:` then one indented repr per line.
impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.tasks.len();
        write!(f, "{n} live task{}", if n == 1 { "" } else { "s" })?;
        if n > 0 {
            f.write_str(":")?;
        }
        for t in &self.tasks {
            write!(f, "\n  {t}")?;
        }
        Ok(())
    }
}

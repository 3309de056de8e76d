//! tasklane's engine room: the task core, the work-stealing scheduler and
//! the blocking pool.
//!
//! Most users want the `tasklane` crate, which wraps this one with timers,
//! I/O and the asyncio-style task lifecycle. This crate is the part that
//! knows about threads and tasks and nothing else: it parks idle workers
//! through a [`Driver`] it is given and never sees a timer or a socket.
//!
//! * [`task`]: one allocation per task holding an atomic state word, the
//!   future or its output, and the join waker; [`task::JoinHandle`];
//!   the sharded [`task::Registry`] of live tasks.
//! * [`Scheduler`]: worker threads with `crossbeam-deque` local queues, a
//!   global injector, batch stealing, a LIFO slot, a cooperative budget
//!   ([`coop`]) and parking with no lost wake-ups.
//! * the blocking pool behind [`Handle::spawn_blocking`].
//! * observability: `tracing` spans and events for every task and slow-poll
//!   warnings (`task/trace.rs`), [`Handle::metrics`].
//! * [`Handle::is_idle`]: whether nothing the scheduler knows of can make a
//!   task runnable (workers parked, queues empty, no blocking job or
//!   [`activity`](Handle::activity_begin) in flight), for a driver whose
//!   paused clock jumps only then; [`Driver::wants_idle_notice`] is how it
//!   hears that the answer may have changed.
//!
//! The hidden module `facade` holds the cancellation-delivery plumbing the
//! `tasklane` crate needs (`wait_for`, timeouts and cancel scopes, `shield`,
//! `gather`, the grace timer of `JoinHandle::cancel_within`); it is for
//! that crate only, and not part of this crate's API.
//!
//! # Examples
//!
//! ```
//! use tasklane_sched::{Config, Scheduler, task::TaskOptions};
//!
//! let mut sched = Scheduler::new(Config { worker_threads: 2, ..Config::default() }).unwrap();
//! let handle = sched.handle().spawn(async { 1 + 1 }, TaskOptions::new());
//! while !handle.is_finished() {
//!     std::thread::yield_now();
//! }
//! let stats = sched.shutdown(std::time::Duration::from_secs(1));
//! assert!(stats.dropped.is_empty());
//! ```

mod blocking;
pub mod coop;
#[doc(hidden)]
pub mod facade;
mod panic;
mod sched;
mod sync;
pub mod task;

pub use sched::{
    Config, DEFAULT_GRACE, DEFAULT_MAX_BLOCKING_THREADS, DEFAULT_SLOW_POLL_THRESHOLD,
    DEFAULT_SPIN_BEFORE_PARK, Driver, Handle, MAINTENANCE_INTERVAL, RuntimeMetrics, Scheduler,
    ShutdownStats, ThreadHook, WorkerMetrics,
};

//! Runtime metrics, from [`Handle::metrics`](crate::Handle::metrics):
//! per-worker polls, steals, parks and local queue depth; the injector's
//! depth; blocking threads alive.
//!
//! Always on: each counter is written only by its own worker (a relaxed
//! load and store on a cache line of its own), and read racily. Poll
//! counts are published every [`MAINTENANCE_INTERVAL`] scheduler ticks and
//! when a worker parks, so they may lag a busy worker by up to that many
//! polls.
//!
//! ```
//! let rt = tasklane::Builder::new().worker_threads(2).build().unwrap();
//! rt.block_on(async { tasklane::spawn(async {}).await.unwrap() });
//! let m = rt.handle().metrics();
//! assert_eq!(m.workers().len(), 2);
//! assert_eq!(m.live_tasks(), 0); // a joined task is no longer live
//! println!("{m}");
//! ```

pub use tasklane_sched::{MAINTENANCE_INTERVAL, RuntimeMetrics, WorkerMetrics};

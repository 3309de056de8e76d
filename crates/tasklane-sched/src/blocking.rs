//! The blocking pool behind `spawn_blocking`: a bounded set of threads,
//! started on demand and retired after `keep_alive` without work.
//!
//! A blocking job is an ordinary task (so it has a `JoinHandle`, an id, a
//! place in the registry) whose future runs the closure in its first poll.
//! Its scheduler is this pool's queue instead of the workers'.
//!
//! # Waking an idle thread
//!
//! `submit` pushes the job, then either hands it to an idle thread
//! (`notified += 1`, `notify_one`), or starts a thread if fewer than the
//! maximum run, or leaves it queued for the next thread that frees up. An
//! idle thread that wakes consumes one `notified` if any.
//!
//! # Counted as activity
//!
//! Every job queued is counted as an activity of the scheduler
//! (`Handle::is_idle`) from just before it is queued to just after it has
//! run (or been dropped unrun): its run completes its join handle, which
//! wakes the joining task, before the count drops. A paused clock therefore
//! stands still while a blocking job is in flight.

use crate::sched::{Shared, ThreadHooks};
use crate::sync::{Arc, Condvar, Mutex, thread};
use crate::task::{Notified, Schedule, TaskRef};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub(crate) struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
    /// Signalled when the last thread exits during shutdown.
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
}

struct PoolState {
    queue: VecDeque<Notified>,
    threads: usize,
    idle: usize,
    notified: usize,
    shutdown: bool,
}

impl Pool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> Pool {
        Pool {
            state: Mutex::new(PoolState {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                notified: 0,
                shutdown: false,
            }),
            work: Condvar::new(),
            exited: Condvar::new(),
            max_threads: max_threads.max(1),
            keep_alive,
        }
    }

    /// Queues a job and makes sure a thread will take it.
    pub(crate) fn submit(&self, shared: &Arc<Shared>, task: Notified) {
        let mut st = self.state.lock();
        if st.shutdown {
            // A job registered just before the registry closed, submitted
            // after the pool stopped: deliver the abort here so it still
            // ends (its closure is dropped unrun).
            drop(st);
            task.cancel_and_run();
            return;
        }
        // Counted before anyone can run it; `ran` ends it (module docs).
        shared.activity_begin();
        st.queue.push_back(task);
        if st.idle > st.notified {
            st.notified += 1;
            self.work.notify_one();
        } else if st.threads < self.max_threads {
            st.threads += 1;
            drop(st);
            let shared2 = Arc::clone(shared);
            let name = (shared.config.thread_name)(None);
            let spawned = thread::Builder::new().name(name).spawn(move || {
                let _hooks = ThreadHooks::enter(&shared2.config);
                shared2.blocking.run_thread(&shared2);
            });
            if spawned.is_err() {
                // Out of threads: the job waits for a running thread, or, if
                // there is none, is run on this thread so it is never lost.
                let mut st = self.state.lock();
                st.threads -= 1;
                if st.threads == 0 {
                    let jobs: Vec<_> = st.queue.drain(..).collect();
                    drop(st);
                    for job in jobs {
                        job.run();
                        shared.activity_end();
                    }
                }
            }
        }
    }

    fn run_thread(&self, shared: &Shared) {
        let mut st = self.state.lock();
        loop {
            if let Some(task) = st.queue.pop_front() {
                drop(st);
                task.run();
                shared.activity_end();
                st = self.state.lock();
                continue;
            }
            if st.shutdown {
                break;
            }
            st.idle += 1;
            let waited = Instant::now();
            st = self.work.wait_timeout(st, self.keep_alive);
            st.idle -= 1;
            if st.notified > 0 {
                st.notified -= 1;
            } else if st.queue.is_empty() && !st.shutdown && waited.elapsed() >= self.keep_alive {
                break; // retire
            }
        }
        st.threads -= 1;
        if st.threads == 0 {
            self.exited.notify_all();
        }
    }

    pub(crate) fn num_threads(&self) -> usize {
        self.state.lock().threads
    }

    /// Stops taking jobs, lets the threads finish what is queued (cancelled
    /// jobs end at once), and waits for them until `deadline`.
    pub(crate) fn shutdown(&self, shared: &Shared, deadline: Option<Instant>) {
        let mut st = self.state.lock();
        st.shutdown = true;
        self.work.notify_all();
        while st.threads > 0 {
            match deadline {
                None => st = self.exited.wait(st),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        // Threads stuck in user code are left to finish alone.
                        break;
                    }
                    st = self.exited.wait_timeout(st, d - now);
                }
            }
        }
        // Jobs still queued behind stuck threads never start.
        let left: Vec<Notified> = st.queue.drain(..).collect();
        drop(st);
        for job in left {
            job.cancel_and_run();
            shared.activity_end();
        }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("max_threads", &self.max_threads)
            .finish_non_exhaustive()
    }
}

/// The scheduler of blocking jobs: the pool's queue.
pub(crate) struct BlockingSchedule {
    shared: Arc<Shared>,
}

impl BlockingSchedule {
    pub(crate) fn new(shared: Arc<Shared>) -> BlockingSchedule {
        BlockingSchedule { shared }
    }
}

impl Schedule for BlockingSchedule {
    fn schedule(&self, task: Notified) {
        // A blocking job is polled once and never waits, so it is only
        // scheduled by a cancel that found it idle, which cannot happen; queue
        // it all the same, to be safe.
        self.shared.blocking.submit(&self.shared, task);
    }

    fn release(&self, task: &TaskRef) -> Option<TaskRef> {
        self.shared.registry.remove(task)
    }
}

/// A future that runs a blocking closure when first polled.
pub(crate) struct BlockingTask<F> {
    f: Option<F>,
}

impl<F> BlockingTask<F> {
    pub(crate) fn new(f: F) -> BlockingTask<F> {
        BlockingTask { f: Some(f) }
    }
}

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.f.take().expect("blocking task polled after it ran");
        Poll::Ready(f())
    }
}

//! The sync shim: the only place in this crate that names `std::sync`,
//! `std::cell::UnsafeCell`, `std::thread` or the run-queue crate for state a
//! protocol depends on. Figures no protocol reads (metrics, poll counts,
//! running time, task ids) and one-time initialisation (`OnceLock`) use
//! std's types directly, and loom does not model them.
//!
//! Built with `RUSTFLAGS="--cfg tasklane_loom"`, every item here switches to
//! its [loom] counterpart so that the loom models in `loom-tests/` check the
//! very code that ships. The cfg is namespaced on purpose: a bare `--cfg loom`
//! would also flip every dependency that checks `cfg(loom)`.
//!
//! `crossbeam-deque` cannot run under loom (its atomics and epoch GC are not
//! loom's), so under the cfg [`deque`] is a small mutex-protected queue with the
//! same interface. The loom models therefore check the scheduler's own
//! hand-offs around the queues (LIFO slot, injector, idle set, parking), not
//! the Chase–Lev deque itself, which crossbeam tests on its own.
//!
//! [loom]: https://docs.rs/loom

mod cell;
pub(crate) mod deque;
mod mutex;

pub(crate) use cell::UnsafeCell;
pub(crate) use mutex::{Condvar, Mutex};

#[cfg(not(tasklane_loom))]
pub(crate) use std::sync::Arc;

#[cfg(tasklane_loom)]
pub(crate) use loom::sync::Arc;

/// std's `Arc` in every build, for values no protocol touches (configuration
/// callbacks): public types such as `ThreadHook` stay the same under the loom
/// cfg, and loom's `Arc` cannot hold a `dyn Fn` made by unsizing anyway.
pub(crate) use std::sync::Arc as StdArc;

/// Atomics: std's, or loom's under the loom cfg.
pub(crate) mod atomic {
    #[cfg(not(tasklane_loom))]
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering, fence,
    };

    #[cfg(tasklane_loom)]
    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering, fence,
    };
}

/// Threads and thread-locals: std's, or loom's under the loom cfg.
pub(crate) mod thread {
    #[cfg(not(tasklane_loom))]
    pub(crate) use std::thread::{Builder, JoinHandle, Thread, current, park};

    #[cfg(tasklane_loom)]
    pub(crate) use loom::thread::{Builder, JoinHandle, Thread, current, park};
}

#[cfg(not(tasklane_loom))]
pub(crate) use std::thread_local;

/// loom's `thread_local!` (edition 2018) does not accept the
/// `const { ... }` initialiser that std's does, so under the loom cfg this
/// forwards to it with the `const` block unwrapped.
#[cfg(tasklane_loom)]
macro_rules! loom_thread_local {
    ($($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr };)*) => {
        $(loom::thread_local! { $(#[$attr])* $vis static $name: $t = $init; })*
    };
}

#[cfg(tasklane_loom)]
pub(crate) use loom_thread_local as thread_local;

/// Offers the thread's core to another runnable thread (`sched_yield`).
/// Under loom nothing: the yield is a hint to the OS scheduler, not a step
/// of any protocol, and the models need no extra interleavings for it.
#[inline]
pub(crate) fn yield_thread() {
    #[cfg(not(tasklane_loom))]
    std::thread::yield_now();
}

/// A spin-wait hint; under loom a yield, so the model sees progress.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(not(tasklane_loom))]
    std::hint::spin_loop();
    #[cfg(tasklane_loom)]
    loom::thread::yield_now();
}

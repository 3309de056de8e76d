//! Task-local values that follow a task into the tasks it spawns: Python's
//! `contextvars` as asyncio uses them, in tokio's `task_local!` spelling.
//!
//! # Semantics
//!
//! * `KEY.scope(value, fut)` runs `fut` with `KEY` set to `value`; nested
//!   scopes of one key shadow the outer value until they end.
//! * A task or blocking job spawned where keys are set starts with the
//!   values in effect at the spawn (asyncio's `create_task` and `to_thread`
//!   copy the context). It keeps them for its whole life; its own scopes
//!   are its own; what the spawner sets afterwards does not reach it.
//! * Values are shared, not cloned, between a spawner and its children, so
//!   they must be `Send + Sync + 'static`.
//!
//! # How
//!
//! The values in effect form an immutable context (a small array of key
//! and `Arc` value) kept by the task core (`tasklane_sched`'s
//! `task/locals.rs`, where the protocol is); a thread-local pointer names
//! the one in effect while a scope, or a task that inherited one, is
//! polled. A spawn made where a context is in effect stores a reference to
//! it in the new task and gives the task a vtable whose poll enters it; a spawn made where none is spawns the task as if task-locals
//! did not exist (one load of a process-wide flag, false until a
//! task-local is first set, then one thread-local read). This module
//! holds the keys and the scope future.

mod key;

pub use key::{AccessError, LocalKey, TaskLocalFuture};

/// Declares task-local keys: statics of type
/// [`task::LocalKey<T>`](crate::task::LocalKey).
///
/// Any number of statics, each with its visibility, attributes and doc
/// comments, as with tokio's `task_local!`. `T` must be
/// `Send + Sync + 'static`: children spawned inside a scope, on any
/// worker, share the value (see [`LocalKey`]).
///
/// # Examples
///
/// ```
/// tasklane::task_local! {
///     /// The request being served.
///     pub static REQUEST_ID: u64;
///
///     static USER: String;
/// }
///
/// tasklane::run(REQUEST_ID.scope(1, async {
///     USER.scope("ada".into(), async {
///         let h = tasklane::spawn(async { format!("{} {}", REQUEST_ID.get(), USER.get()) });
///         assert_eq!(h.await.unwrap(), "1 ada");
///     })
///     .await
/// }));
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};

    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };

    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
    };
}

/// One static of [`task_local!`]; not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> =
            $crate::task::LocalKey::__new(::std::stringify!($name));
    };
}

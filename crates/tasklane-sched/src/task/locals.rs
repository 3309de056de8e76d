//! Task-local contexts: the values a task inherits at its spawn (Python's
//! `contextvars` context, copied by asyncio's `create_task`). The facade's
//! `task_local!` keys are written on this; the task core only carries a
//! context from the spawning code to the task and enters it around each
//! poll.
//!
//! # Protocol
//!
//! 1. A [`Context`] is an immutable map from keys to shared values; it
//!    never changes once made. Setting a key makes a new context (a copy of
//!    the outer one with the key set), so a context captured at a spawn keeps
//!    the values it had then, whatever the spawner sets afterwards, and a
//!    child's scopes never reach the parent. A context is never empty: "no
//!    value set" is no context.
//! 2. `CURRENT` is null (no context in effect: the state of every worker
//!    between polls) or points to a `Context` owned by something further up
//!    this thread's stack (a facade scope being polled, a `sync_scope` call,
//!    the poll of a task that has one). Only [`Context::enter`] changes it,
//!    and its [`Entered`] guard, which borrows the context, puts the
//!    previous pointer back when it is dropped (also on unwind), so the
//!    pointers nest like the stack frames that own their targets. That
//!    holds only if every guard is dropped, in the reverse order of the
//!    `enter`s, which the borrow cannot enforce: `enter` is `unsafe` and
//!    each caller keeps its guard in a local.
//! 3. `enter` also sets `IN_USE`, once per process, before it changes
//!    `CURRENT`. A spawn reads `IN_USE` first (Relaxed): false means no
//!    context was ever entered on this thread (a thread always sees its own
//!    earlier writes, and no other thread's write matters to this thread's
//!    `CURRENT`), so the task is spawned with no context at the cost of one
//!    load. Only once task-locals have been used does a spawn read
//!    `CURRENT` ([`in_use`], [`capture`]).
//! 4. A task spawned while `CURRENT` is set keeps a clone of the context
//!    in its cell (one reference count) and gets a vtable whose poll enters
//!    it (`raw::poll_in_context`); the future, and its drop inside the poll
//!    that ends the task, run in it. A blocking job is such a task too.
//!    Tasks without one have the plain vtable: their polls pay nothing.

use crate::sync::StdArc as Arc;
use crate::sync::thread_local;
use std::any::Any;
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

/// A value as a context holds it: shared with the contexts made from it.
pub type Value = Arc<dyn Any + Send + Sync>;

/// A key's identity: an address no other key has (the facade uses the
/// address of the key's `static`).
pub type KeyId = usize;

struct Entry {
    key: KeyId,
    value: Value,
}

/// The entries of a context; a `Context` is a thin pointer to one, so a
/// task holds it in one word.
struct Map {
    entries: Box<[Entry]>,
}

/// An immutable set of task-local values; cloning it is one reference
/// count.
#[derive(Clone)]
pub struct Context(Arc<Map>);

thread_local! {
    /// The context in effect on this thread, or null (step 2).
    static CURRENT: Cell<*const Context> = const { Cell::new(ptr::null()) };
}

/// Set by the first `enter` in the process (step 3).
static IN_USE: AtomicBool = AtomicBool::new(false);

/// False until a context is first entered in the process: then no context
/// can be in effect on this thread, and a spawn needs no more (step 3).
#[inline]
pub(crate) fn in_use() -> bool {
    // Relaxed: only this thread's own writes can make `CURRENT` non-null
    // here, and a thread always reads its own latest write (step 3).
    IN_USE.load(Ordering::Relaxed)
}

/// A clone of the context in effect on this thread, if any.
pub fn capture() -> Option<Context> {
    let p = CURRENT.with(Cell::get);
    // SAFETY: a non-null `CURRENT` points to a context that lives until the
    // pointer is restored (step 2), which is after this call returns.
    unsafe { p.as_ref() }.cloned()
}

/// Runs `f` with the value of `key` in the context in effect here, or
/// `None` if it has none.
pub fn with_value<R>(key: KeyId, f: impl FnOnce(Option<&(dyn Any + Send + Sync)>) -> R) -> R {
    let p = CURRENT.with(Cell::get);
    // SAFETY: as in `capture`; the context outlives `f`, which runs inside
    // the frame of whatever entered it. `f` may enter other contexts, but
    // their guards restore this pointer before `f` returns, and nothing can
    // drop or change the context meanwhile (it is owned further up the
    // stack, and immutable).
    let cx = unsafe { p.as_ref() };
    f(cx.and_then(|cx| cx.get(key)))
}

/// Whether `outer` is the context in effect on this thread (the same one,
/// not merely equal values).
pub fn is_current(outer: Option<&Context>) -> bool {
    let p = CURRENT.with(Cell::get);
    // SAFETY: as in `capture`.
    let cur = unsafe { p.as_ref() };
    match (cur, outer) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(&a.0, &b.0),
        _ => false,
    }
}

impl Context {
    /// `outer` with `key` set to `value` (replacing the outer value of the
    /// same key: it is shadowed).
    pub fn set(outer: Option<&Context>, key: KeyId, value: Value) -> Context {
        let old = outer.map_or(&[][..], |o| &o.0.entries[..]);
        let entries = old
            .iter()
            .filter(|e| e.key != key)
            .map(|e| Entry {
                key: e.key,
                value: e.value.clone(),
            })
            .chain(std::iter::once(Entry { key, value }))
            .collect();
        Context(Arc::new(Map { entries }))
    }

    /// The value of `key`, if this context sets it.
    fn get(&self, key: KeyId) -> Option<&(dyn Any + Send + Sync)> {
        // A handful of keys at most: a scan beats any map.
        self.0
            .entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| &*e.value)
    }

    /// Makes this the context in effect on this thread until the guard is
    /// dropped.
    ///
    /// # Safety
    ///
    /// The guard must be dropped, not forgotten, and guards must be dropped
    /// in the reverse order of their `enter`s: the thread's current context
    /// is a plain pointer that each drop puts back, so a forgotten guard,
    /// or one dropped out of order, would leave it pointing at a context
    /// that may since have been freed. (The guard cannot leave the thread.)
    #[inline]
    pub unsafe fn enter(&self) -> Entered<'_> {
        if !IN_USE.load(Ordering::Relaxed) {
            IN_USE.store(true, Ordering::Relaxed);
        }
        let prev = CURRENT.with(|c| c.replace(self));
        Entered {
            prev,
            _context: PhantomData,
        }
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("keys", &self.0.entries.len())
            .finish()
    }
}

/// Restores the context that was in effect before [`Context::enter`].
#[must_use = "the context is left as soon as the guard is dropped"]
pub struct Entered<'a> {
    prev: *const Context,
    /// The entered context is borrowed while it is in effect (step 2).
    _context: PhantomData<&'a Context>,
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

impl std::fmt::Debug for Entered<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entered").finish_non_exhaustive()
    }
}

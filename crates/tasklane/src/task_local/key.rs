//! [`LocalKey`], the static a `task_local!` declares, and
//! [`TaskLocalFuture`], a future running with a key set.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU8;
use std::task::{Context as TaskContext, Poll};
use tasklane_sched::facade::locals::{self as context, Context, KeyId, Value};

/// A task-local key, declared by [`task_local!`](crate::task_local).
///
/// A value is set for the length of a future with [`scope`](Self::scope)
/// (or of a closure with [`sync_scope`](Self::sync_scope)) and read inside
/// it with [`get`](Self::get), [`try_get`](Self::try_get),
/// [`with`](Self::with) and [`try_with`](Self::try_with). **Tasks spawned
/// inside a scope start with the values their spawner had at the spawn**,
/// as asyncio's `create_task` copies the `contextvars` context: the value
/// follows a request into the tasks and blocking jobs it spawns. A child's
/// own scopes never change its parent's values, and a value the parent sets
/// after the spawn is not seen by the child.
///
/// `T` must be `Send + Sync + 'static`: a child on another worker shares
/// the very value its parent set (it is not cloned at the spawn), so
/// several threads may read it at once. tokio's task-locals need neither
/// bound, because they are not inherited.
///
/// # Examples
///
/// ```
/// tasklane::task_local! {
///     static REQUEST_ID: u64;
/// }
///
/// tasklane::run(REQUEST_ID.scope(7, async {
///     assert_eq!(REQUEST_ID.get(), 7);
///     // A child starts with its parent's values...
///     let child = tasklane::spawn(async { REQUEST_ID.get() });
///     assert_eq!(child.await.unwrap(), 7);
///     // ...and a nested scope shadows the outer value until it ends.
///     REQUEST_ID.scope(8, async { assert_eq!(REQUEST_ID.get(), 8) }).await;
///     assert_eq!(REQUEST_ID.get(), 7);
/// }));
/// assert_eq!(REQUEST_ID.try_get(), None);
/// ```
pub struct LocalKey<T: Send + Sync + 'static> {
    /// The key's name, for panic messages.
    name: &'static str,
    /// Never read or written: interior mutability keeps every key's
    /// `static` at an address of its own (no two may be merged), which is
    /// the key's identity.
    _identity: AtomicU8,
    _value: PhantomData<fn() -> T>,
}

impl<T: Send + Sync + 'static> LocalKey<T> {
    /// What `task_local!` expands to; not a public API.
    #[doc(hidden)]
    pub const fn __new(name: &'static str) -> LocalKey<T> {
        LocalKey {
            name,
            _identity: AtomicU8::new(0),
            _value: PhantomData,
        }
    }

    fn id(&'static self) -> KeyId {
        self as *const LocalKey<T> as usize
    }

    /// Runs `future` with this key set to `value`.
    ///
    /// Inside it (at every poll, and while it is dropped) the key reads
    /// `value`; outside it, whatever it read before. Tasks and blocking
    /// jobs spawned inside it start with `value` and keep it for their
    /// whole life, even after the scope has ended. Scopes of the same key
    /// nest: the inner one shadows the outer until it ends. The value is
    /// dropped when the scope and every task spawned inside it are gone.
    ///
    /// The returned future is transparent to cancellation: catch points
    /// inside it receive cancellations as if it were not there, and their
    /// cleanup sees the value.
    ///
    /// # Examples
    ///
    /// ```
    /// tasklane::task_local! {
    ///     static USER: String;
    /// }
    ///
    /// tasklane::run(async {
    ///     let name = USER.scope("ada".to_string(), async { USER.get() }).await;
    ///     assert_eq!(name, "ada");
    /// });
    /// ```
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            value: Arc::new(value),
            outer: None,
            cx: None,
            future: ManuallyDrop::new(future),
        }
    }

    /// Runs the closure `f` with this key set to `value`, on this thread:
    /// [`scope`](Self::scope) for synchronous code. Tasks spawned inside
    /// it (a `Runtime::spawn` from outside the runtime, say) start with the
    /// value, and so does a future that `Runtime::block_on` drives inside
    /// it.
    ///
    /// # Examples
    ///
    /// ```
    /// tasklane::task_local! {
    ///     static DEPTH: u32;
    /// }
    ///
    /// let seen = DEPTH.sync_scope(1, || DEPTH.sync_scope(2, || DEPTH.get()));
    /// assert_eq!(seen, 2);
    /// ```
    pub fn sync_scope<R>(&'static self, value: T, f: impl FnOnce() -> R) -> R {
        let value: Value = Arc::new(value);
        let cx = context::capture();
        let cx = Context::set(cx.as_ref(), self.id(), value);
        // SAFETY: a local guard, dropped when this returns or unwinds, after
        // every guard entered inside `f`.
        let _entered = unsafe { cx.enter() };
        f()
    }

    /// Calls `f` with a reference to the value, and returns its result.
    ///
    /// # Panics
    ///
    /// If the key is not set here (not inside a scope of it, nor in a task
    /// spawned inside one), with a message naming the key.
    ///
    /// # Examples
    ///
    /// ```
    /// tasklane::task_local! {
    ///     static PATH: Vec<&'static str>;
    /// }
    ///
    /// PATH.sync_scope(vec!["api", "v1"], || {
    ///     assert_eq!(PATH.with(|p| p.join("/")), "api/v1");
    /// });
    /// ```
    #[track_caller]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    /// Calls `f` with a reference to the value, or returns an
    /// [`AccessError`] if the key is not set here.
    ///
    /// # Examples
    ///
    /// ```
    /// tasklane::task_local! {
    ///     static N: u8;
    /// }
    ///
    /// assert!(N.try_with(|n| *n).is_err());
    /// assert_eq!(N.sync_scope(3, || N.try_with(|n| *n)), Ok(3));
    /// ```
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        context::with_value(self.id(), |v| match v {
            Some(v) => {
                let v = v
                    .downcast_ref::<T>()
                    .expect("a task-local key's value has the key's type");
                Ok(f(v))
            }
            None => Err(AccessError { name: self.name }),
        })
    }

    /// A clone of the value.
    ///
    /// # Panics
    ///
    /// If the key is not set here, with a message naming the key.
    ///
    /// # Examples
    ///
    /// ```
    /// tasklane::task_local! {
    ///     static REQUEST_ID: u64;
    /// }
    ///
    /// assert_eq!(REQUEST_ID.sync_scope(42, || REQUEST_ID.get()), 42);
    /// ```
    #[track_caller]
    pub fn get(&'static self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }

    /// A clone of the value, or `None` if the key is not set here.
    ///
    /// # Examples
    ///
    /// ```
    /// tasklane::task_local! {
    ///     static REQUEST_ID: u64;
    /// }
    ///
    /// assert_eq!(REQUEST_ID.try_get(), None);
    /// assert_eq!(REQUEST_ID.sync_scope(42, || REQUEST_ID.try_get()), Some(42));
    /// ```
    pub fn try_get(&'static self) -> Option<T>
    where
        T: Clone,
    {
        self.try_with(T::clone).ok()
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey")
            .field("name", &self.name)
            .finish()
    }
}

/// A task-local key was read where it is not set (see
/// [`LocalKey::try_with`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError {
    name: &'static str,
}

impl AccessError {
    /// The name of the key that is not set.
    pub fn key_name(&self) -> &'static str {
        self.name
    }
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError")
            .field("key", &self.name)
            .finish()
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "task-local `{0}` is not set here: read it inside `{0}.scope(..)`, \
             `{0}.sync_scope(..)` or a task spawned inside one",
            self.name
        )
    }
}

impl Error for AccessError {}

/// Future of [`LocalKey::scope`]: the wrapped future, run with the key set.
///
/// # Cancellation
///
/// Transparent: it only sets the key around each poll of the future it
/// wraps, so catch points inside receive cancellations as without it, and
/// dropping it drops that future (inside the scope: its destructors see the
/// value).
#[must_use = "futures do nothing unless awaited"]
pub struct TaskLocalFuture<T: Send + Sync + 'static, F> {
    key: &'static LocalKey<T>,
    value: Value,
    /// The context this scope's was made from: the one in effect where it
    /// was last polled. Held so that its address, which identifies it, is
    /// not reused while it is compared against.
    outer: Option<Context>,
    /// `outer` with the key set: what the future runs in.
    cx: Option<Context>,
    /// Dropped by `Drop`, inside the scope.
    future: ManuallyDrop<F>,
}

impl<T: Send + Sync + 'static, F> TaskLocalFuture<T, F> {
    /// Makes `cx` the context to run in: the one in effect here with the
    /// key set. Made at the first poll, and again only when the one in
    /// effect is not the one it was made from (the future is polled from
    /// another scope or task than before).
    fn refresh(&mut self) {
        if self.cx.is_none() || !context::is_current(self.outer.as_ref()) {
            let outer = context::capture();
            self.cx = Some(Context::set(
                outer.as_ref(),
                self.key.id(),
                self.value.clone(),
            ));
            self.outer = outer;
        }
    }
}

impl<T: Send + Sync + 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved, only
        // dropped in place by `Drop`, and the wrapper is `Unpin` only when
        // the future is; the other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        this.refresh();
        // SAFETY: a local guard, dropped at the end of this poll, after
        // every guard entered inside it.
        let _entered = unsafe { this.cx.as_ref().expect("made by refresh").enter() };
        // SAFETY: as above, the future stays where it is until dropped.
        let future = unsafe { Pin::new_unchecked(&mut *this.future) };
        future.poll(cx)
    }
}

impl<T: Send + Sync + 'static, F> Drop for TaskLocalFuture<T, F> {
    fn drop(&mut self) {
        self.refresh();
        // SAFETY: a local guard, dropped at the end of this drop, after
        // every guard entered inside it.
        let _entered = unsafe { self.cx.as_ref().expect("made by refresh").enter() };
        // SAFETY: dropped once, here, in place (as pinning requires); the
        // field is never used again.
        unsafe { ManuallyDrop::drop(&mut self.future) };
    }
}

impl<T: Send + Sync + 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("key", &self.key.name)
            .finish_non_exhaustive()
    }
}

/// Without a runtime, so that CI runs them under miri: the scope's pin
/// projection, its context pointers, and the future dropped inside it.
#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    crate::task_local! {
        static NAME: String;
        static DEPTH: u32;
    }

    /// Pending once, then ready.
    #[derive(Default)]
    struct YieldOnce(bool);
    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if std::mem::replace(&mut self.0, true) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    /// Records the key's value where it is dropped.
    struct SeesOnDrop(Arc<Mutex<Option<String>>>);
    impl Drop for SeesOnDrop {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = NAME.try_with(String::clone).ok();
        }
    }

    #[test]
    fn a_scope_holds_across_polls_and_nests() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut fut = pin!(NAME.scope("outer".into(), async {
            let before = NAME.get();
            YieldOnce::default().await;
            let inner = DEPTH
                .scope(2, async {
                    YieldOnce::default().await;
                    (NAME.get(), DEPTH.get())
                })
                .await;
            (before, inner, NAME.get(), DEPTH.try_with(|d| *d).is_err())
        }));
        let mut polls = 0;
        let out = loop {
            polls += 1;
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                break out;
            }
            assert!(
                NAME.try_with(|_| ()).is_err(),
                "the scope ends with its poll"
            );
        };
        assert_eq!(polls, 3);
        assert_eq!(
            out,
            ("outer".into(), ("outer".into(), 2), "outer".into(), true)
        );
    }

    #[test]
    fn a_scoped_future_dropped_unfinished_is_dropped_inside_its_scope() {
        let seen = Arc::new(Mutex::new(None));
        let guard = SeesOnDrop(seen.clone());
        let mut cx = Context::from_waker(Waker::noop());
        {
            let mut fut = Box::pin(NAME.scope("kept".into(), async move {
                let _guard = guard;
                YieldOnce::default().await;
            }));
            assert!(fut.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(seen.lock().unwrap().as_deref(), Some("kept"));
        assert_eq!(NAME.sync_scope("sync".into(), || NAME.get()), "sync");
    }
}

//! `JoinHandle`: the owner's end of a task.

use super::cause::{CancelCause, Why};
use super::error::JoinError;
use super::header::Header;
use super::id::{TaskId, TaskState};
use super::snapshot::{DoneCallback, TaskSnapshot};
use crate::coop;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

/// An owned permission to await a task's output.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] saying the task was
/// cancelled or panicked. `&mut JoinHandle` is itself a future, so a handle
/// can be awaited again after an await on it was abandoned.
///
/// **Dropping a `JoinHandle` cancels its task** (structured concurrency, as
/// in async-task); call [`detach`](Self::detach) to let the task run on.
///
/// The handle is `Send` when the output is, and `Sync` only when the output
/// is `Sync` too, since [`result`](Self::result) lends the output through
/// `&self`:
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<tasklane_sched::task::JoinHandle<std::cell::Cell<u32>>>();
/// ```
#[must_use = "dropping a JoinHandle cancels the task; use .detach() to let it run"]
pub struct JoinHandle<T> {
    raw: NonNull<Header>,
    _p: PhantomData<T>,
}

// SAFETY: the handle only moves the output (`T: Send`) out of the task, and
// its other operations are atomic transitions on the shared header.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` reads immutable header fields, performs atomic
// transitions, and lends the stored output as `&T` (`result`): sharing the
// handle across threads shares that `&T`, hence `T: Sync` as well. Taking
// or dropping the output needs `&mut`/`Pin<&mut>`.
unsafe impl<T: Send + Sync> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `raw` is a task whose output type is `T`, and the caller hands over
    /// the join reference and the join interest.
    pub(super) unsafe fn from_raw(raw: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _p: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle's reference keeps the task alive.
        unsafe { self.raw.as_ref() }
    }

    /// Lets the task run on without an owner; its output is dropped when it
    /// ends.
    pub fn detach(self) {
        let this = std::mem::ManuallyDrop::new(self);
        this.release(false);
    }

    /// Asks the task to cancel: asyncio's `Task.cancel()`. The request is
    /// delivered at the task's next suspension point; a task being polled
    /// finishes that poll first, and if it completes there, completion wins.
    /// Requests made before the task's next poll are delivered once; a
    /// request made after a delivery is delivered again.
    ///
    /// # What `true` means
    ///
    /// `true` means the request was **accepted**: the task had not finished
    /// when `cancel()` looked. It does not mean the task will end
    /// `Cancelled`. If a worker is polling the task at that moment, that
    /// poll runs to its end, and if it completes the task, the task ends
    /// `Completed` (completion wins). `false` means the task had already
    /// finished; nothing was requested.
    ///
    /// A caller that must know how the task ended awaits the handle (or
    /// reads [`state`](Self::state) once [`is_finished`](Self::is_finished)):
    ///
    /// ```
    /// use futures_channel::oneshot;
    /// use tasklane_sched::task::{TaskOptions, TaskState};
    /// use tasklane_sched::{Config, Scheduler};
    ///
    /// let mut sched = Scheduler::new(Config { worker_threads: 2, ..Config::default() }).unwrap();
    /// # let n = if cfg!(miri) { 100 } else { 20_000 };
    /// // 20 000 tasks wait at a gate (here, one oneshot channel each).
    /// let (gates, tasks): (Vec<_>, Vec<_>) = (0..n)
    ///     .map(|_| {
    ///         let (open, gate) = oneshot::channel::<()>();
    ///         let task = sched.handle().spawn(async move { gate.await.is_ok() }, TaskOptions::new());
    ///         (open, task)
    ///     })
    ///     .unzip();
    /// // Cancel the even ones: every request is accepted...
    /// for t in tasks.iter().step_by(2) {
    ///     assert!(t.cancel());
    /// }
    /// // ...then open the gate.
    /// for open in gates {
    ///     let _ = open.send(());
    /// }
    /// for t in &tasks {
    ///     while !t.is_finished() {
    ///         std::thread::yield_now();
    ///     }
    /// }
    /// // Almost every even task ends Cancelled. One whose poll was already
    /// // running when `cancel()` was called, and which saw the gate open in
    /// // that poll, ends Completed: completion wins.
    /// for t in tasks.iter().step_by(2) {
    ///     assert!(matches!(t.state(), TaskState::Cancelled | TaskState::Completed));
    /// }
    /// for t in tasks.iter().skip(1).step_by(2) {
    ///     assert_eq!(t.state(), TaskState::Completed);
    /// }
    /// sched.shutdown(std::time::Duration::from_secs(5));
    /// ```
    pub fn cancel(&self) -> bool {
        self.request_cancel(false, CancelCause::Requested.into())
    }

    /// [`cancel`](Self::cancel) with a message: asyncio's
    /// `Task.cancel(msg)`. The message reaches the catch point
    /// ([`Cancelled::message`](super::Cancelled::message)) and, if the task
    /// ends cancelled, its [`JoinError`] (`cancel_message()` and
    /// `Display`). A later request's message replaces one not yet
    /// delivered.
    ///
    /// ```
    /// use tasklane_sched::task::{CancelCause, TaskOptions};
    /// use tasklane_sched::{Config, Scheduler};
    ///
    /// let mut sched = Scheduler::new(Config { worker_threads: 1, ..Config::default() }).unwrap();
    /// let h = sched.handle().spawn(std::future::pending::<()>(), TaskOptions::new());
    /// h.cancel_with("client went away");
    /// while !h.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// let err = h.result().unwrap().as_ref().unwrap_err();
    /// assert_eq!(err.cancel_cause(), Some(CancelCause::Requested));
    /// assert_eq!(err.cancel_message(), Some("client went away"));
    /// assert!(err.to_string().contains("client went away"));
    /// # drop(h);
    /// # sched.shutdown(std::time::Duration::from_secs(1));
    /// ```
    pub fn cancel_with(&self, message: impl Into<Arc<str>>) -> bool {
        self.request_cancel(
            false,
            Why {
                cause: CancelCause::Requested,
                message: Some(message.into()),
            },
        )
    }

    /// Hard cancel: the future is dropped at its next suspension point,
    /// whatever catch points it holds.
    pub fn abort(&self) {
        let _ = self.request_cancel(true, CancelCause::Aborted.into());
    }

    fn request_cancel(&self, hard: bool, why: Why) -> bool {
        // SAFETY: the handle's reference keeps the task alive.
        unsafe { super::cancel_raw(self.raw, hard, why) }
    }

    /// The task has ended (asyncio's `done()`).
    pub fn is_finished(&self) -> bool {
        self.header().state.load().is_complete()
    }

    /// The task has ended because it was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.state() == TaskState::Cancelled
    }

    /// Calls `f` once the task is done, with a snapshot of it (id, name,
    /// final state): asyncio's `add_done_callback`. If the task is already
    /// done, `f` runs now, on this thread; otherwise it runs on the thread
    /// that finishes the task, after the task has left the runtime's
    /// bookkeeping and with no lock of the runtime held. A panic in `f` is
    /// caught and discarded. Keeps working after the handle is dropped or
    /// detached.
    pub fn on_done(&self, f: impl FnOnce(&TaskSnapshot) + Send + 'static) {
        let h = self.header();
        let mut f: Option<DoneCallback> = Some(Box::new(f));
        {
            let mut callbacks = h.done_list_or_init().lock();
            if !h.state.load().is_complete() {
                callbacks.push(f.take().expect("set above"));
                if h.state.set_on_done().is_err() {
                    // Completed meanwhile, before seeing the bit: ours to run.
                    f = callbacks.pop();
                }
            }
        }
        if let Some(f) = f {
            super::raw::run_done_callback(&TaskSnapshot::of(h), f);
        }
    }

    /// Polls for the end of the task without taking its output: `Ready`
    /// once it is done (then awaiting the handle returns at once).
    pub fn poll_finished(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: we are the join handle.
        if unsafe { (self.header().vtable.poll_complete)(self.raw, cx.waker()) } {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// The task's result, if it is done and the result was not taken yet
    /// (by awaiting the handle): asyncio's `result()` / `exception()`
    /// without consuming it.
    pub fn result(&self) -> Option<&Result<T, JoinError>> {
        // SAFETY: we are the join handle of a task with output `T`.
        let p = unsafe { (self.header().vtable.output_ref)(self.raw) };
        // SAFETY: non-null means it points at the stored result, which only
        // `&mut self` methods (polling the handle) can take or drop; the
        // borrow of `self` keeps them away.
        unsafe { p.cast::<Result<T, JoinError>>().as_ref() }
    }

    /// A counted reference to the task that gives no access to its output
    /// (to cancel it, or list it, from elsewhere).
    pub fn task_ref(&self) -> super::TaskRef {
        self.header().state.ref_inc();
        // SAFETY: the reference was just added for the new TaskRef.
        unsafe { super::TaskRef::from_raw(self.raw) }
    }

    /// A snapshot of the task: state, polls, running time.
    pub fn snapshot(&self) -> TaskSnapshot {
        TaskSnapshot::of(self.header())
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.header().id
    }

    /// The task's name; `Task-{id}` if it was not given one.
    pub fn name(&self) -> &str {
        self.header().name()
    }

    /// Where the task is in its lifecycle right now.
    pub fn state(&self) -> TaskState {
        self.header().task_state()
    }

    /// Gives up the handle's interest (and, with `cancel`, cancels).
    fn release(&self, cancel: bool) {
        let h = self.header();
        // A cancelling drop of an unfinished task says whose request it is,
        // and why, before the request bit (`header::request`).
        let d = h.state.transition_join_dropped(cancel, || {
            h.cause.set(CancelCause::HandleDropped.into());
            h.cancel_for
                .fetch_or(super::header::request::TASK, Ordering::Relaxed);
            if h.is_debug() {
                super::debug::requested(h);
            }
        });
        if d.drop_output && h.is_debug() {
            // SAFETY: complete, and the output is the handle's: reading
            // whether it is still there races nothing.
            let unread = !unsafe { (h.vtable.output_ref)(self.raw) }.is_null();
            if unread && h.task_state() == super::TaskState::Panicked {
                super::debug::unretrieved_panic(h);
            }
        }
        if d.drop_output {
            // SAFETY: complete, and the interest we just gave up was the
            // right to the output.
            unsafe { (h.vtable.drop_output)(self.raw) };
        }
        // Taken now, dropped last: its destructor is user code, and the
        // task's bookkeeping must be finished before it runs.
        let waker = if d.drop_waker {
            // SAFETY: the transition left the slot to us.
            unsafe { (h.vtable.take_join_waker)(self.raw) }
        } else {
            None
        };
        if d.submit {
            // SAFETY: the transition took a reference for the Notified, and
            // ours stays counted until the release below.
            unsafe { (h.vtable.schedule)(self.raw) };
        }
        if h.state.ref_dec(1) {
            // SAFETY: ours was the last reference.
            unsafe { (h.vtable.dealloc)(self.raw) };
        }
        drop(waker);
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.release(true);
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let budget = std::task::ready!(coop::poll_proceed(cx));
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        let h = self.header();
        // SAFETY: we are the join handle of a task with output `T`, and `out`
        // has the type `try_read_output` writes.
        unsafe { (h.vtable.try_read_output)(self.raw, (&raw mut out).cast(), cx.waker()) };
        if out.is_ready() {
            budget.made_progress();
        }
        out
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("state", &self.state())
            .finish()
    }
}

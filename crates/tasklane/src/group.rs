//! Groups of tasks: [`TaskGroup`], [`gather`] and [`wait`] (asyncio's
//! `TaskGroup`, `gather` and `wait`).

use crate::runtime::{BlockOnScope, Handle, ShutdownReport};
use crate::task::{JoinError, JoinHandle, TaskRef};
use parking_lot::Mutex;
use std::borrow::Cow;
use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tasklane_sched::facade::{abort_current, new_owner_scope};
use tasklane_sched::task::{CancelCause, Origin};

thread_local! {
    /// The group whose child is being polled on this thread, so that
    /// `shield` can make the group wait for the shielded work: the child
    /// lends its reference to the group here for the length of its poll
    /// (`Child::poll`), and takes it back after.
    static CURRENT_GROUP: RefCell<Option<Arc<GroupShared>>> = const { RefCell::new(None) };
}

/// The code that owns a group: the task, or the future `block_on` drives,
/// that created it and runs the code between its creation and its `join`
/// (asyncio's body of `async with TaskGroup()`).
enum Owner {
    Task(TaskRef),
    BlockOn(Arc<BlockOnScope>),
}

impl Owner {
    fn current() -> Option<Owner> {
        TaskRef::current()
            .map(Owner::Task)
            .or_else(|| BlockOnScope::current().map(Owner::BlockOn))
    }

    fn cancel_scope(&self, origin: Origin, cause: CancelCause) {
        match self {
            Owner::Task(t) => {
                let _ = t.cancel_scope(origin, cause);
            }
            Owner::BlockOn(b) => b.cancel_scope(origin, cause),
        }
    }

    fn retract_scope(&self, origin: Origin) {
        match self {
            Owner::Task(t) => t.retract_scope(origin),
            Owner::BlockOn(b) => b.retract_scope(origin),
        }
    }
}

/// The owner's side of a group.
struct OwnerLink {
    owner: Option<Owner>,
    /// The origin of the cancellation the group delivers to its owner.
    origin: Origin,
    /// The owner reached `join` (or dropped the group): its body is over,
    /// so a failure no longer cancels it.
    done: bool,
}

/// What a group's children and its owner share.
struct GroupShared {
    /// Every child, to cancel the others when one fails.
    children: Mutex<Vec<TaskRef>>,
    /// Whom a failure cancels besides the children. Behind a lock so that a
    /// failure's request and `join`'s retraction are ordered: either the
    /// request comes first and `join` withdraws it, or `join` comes first
    /// and no request is made.
    owner: Mutex<OwnerLink>,
    /// A child failed (returned `Err` or panicked), or the group was
    /// cancelled: every child is cancelled, and so is each one spawned later.
    failed: AtomicBool,
    /// Shielded tasks started by children and not finished yet.
    shields: Mutex<Shields>,
}

#[derive(Default)]
struct Shields {
    pending: usize,
    waker: Option<Waker>,
}

impl GroupShared {
    fn new() -> GroupShared {
        GroupShared {
            children: Mutex::default(),
            owner: Mutex::new(OwnerLink {
                owner: Owner::current(),
                origin: new_owner_scope(),
                done: false,
            }),
            failed: AtomicBool::new(false),
            shields: Mutex::default(),
        }
    }

    /// Cancels every child (the failing one too: it is completing, so its
    /// own cancellation finds it finished or is cleared by completion).
    fn cancel_all(&self, cause: CancelCause) {
        let children: Vec<TaskRef> = self.children.lock().clone();
        for c in &children {
            c.cancel_because(cause);
        }
    }

    /// A child failed: cancel the others, and the owner's code up to its
    /// `join` (asyncio cancels the body of `async with TaskGroup()`).
    /// Cancels every child for `cause`, and every child spawned from now on.
    fn cancel(&self, cause: CancelCause) {
        self.failed.store(true, Ordering::Release);
        self.cancel_all(cause);
    }

    fn fail(&self) {
        if !self.failed.swap(true, Ordering::AcqRel) {
            // The failing child is the task being polled here.
            let cause = match crate::task::current() {
                Some(child) => CancelCause::GroupFailed(child.id()),
                None => CancelCause::Requested,
            };
            self.cancel_all(cause);
            let link = self.owner.lock();
            if !link.done
                && let Some(owner) = &link.owner
            {
                owner.cancel_scope(link.origin, cause);
            }
        }
    }

    /// The owner's body is over (`join`, or the group dropped): withdraw a
    /// cancellation of it not yet delivered, and make no more.
    fn end_body(&self) {
        let mut link = self.owner.lock();
        link.done = true;
        if let Some(owner) = &link.owner {
            owner.retract_scope(link.origin);
        }
    }

    fn poll_shields(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.shields.lock();
        if s.pending == 0 {
            return Poll::Ready(());
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Called by `shield`: if a group's child is being polled here, the group
/// waits for the shielded task too.
pub(crate) fn track_shield<T>(handle: &JoinHandle<T>) {
    let Some(group) = CURRENT_GROUP.with(|g| g.borrow().clone()) else {
        return;
    };
    group.shields.lock().pending += 1;
    handle.on_done(move |_| {
        let waker = {
            let mut s = group.shields.lock();
            s.pending -= 1;
            if s.pending == 0 { s.waker.take() } else { None }
        };
        if let Some(w) = waker {
            w.wake();
        }
    });
}

/// A child of a group: reports its failure to the group and makes the group
/// current while it runs.
struct Child<F> {
    future: F,
    /// The child's link to its group. `None` only during the child's poll,
    /// while the reference is lent to `CURRENT_GROUP`.
    group: Option<Arc<GroupShared>>,
}

impl<F, T, E> Future for Child<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned (never moved; `Child` has
        // no Drop impl), `group` is not.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        // Lent, not cloned: a poll costs no reference count traffic on the
        // group, which every child shares. The unwind is caught, so the
        // reference always comes back.
        let lent = this
            .group
            .take()
            .expect("a child's group is lent only during its poll");
        let outer = CURRENT_GROUP.with(|g| g.replace(Some(lent)));
        let polled = panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
        let group = CURRENT_GROUP
            .with(|g| g.replace(outer))
            .expect("the lent group is still current");
        let group = this.group.insert(group);
        match polled {
            Ok(Poll::Ready(Err(e))) => {
                group.fail();
                Poll::Ready(Err(e))
            }
            Ok(p) => p,
            Err(payload) => {
                group.fail();
                panic::resume_unwind(payload)
            }
        }
    }
}

/// A group of tasks that succeed or fail together: asyncio's `TaskGroup`.
///
/// Each child is a future returning `Result<T, E>`, spawned as its own task
/// by [`spawn`](Self::spawn). [`join`](Self::join) waits for every child
/// and gives their values in spawn order. When a child returns `Err` or
/// panics, every other child is cancelled at once (catch points in them may
/// clean up), and `join` still waits for all of them to end, then returns a
/// [`GroupError`] with every error and panic, and the number of children
/// that ended cancelled.
/// Dropping the group, or the `join` future before it finishes, cancels the
/// children that are still running.
///
/// The first failure also cancels the group's **owner** (the task, or the
/// future `block_on` drives, that called [`new`](Self::new)) at its pending
/// await, as asyncio cancels the body of `async with TaskGroup()`: its
/// catch points receive a `Cancelled`, and the code around them goes on to
/// `join`, which returns the error. That cancellation belongs to the group:
/// an owner with no catch point pending is not dropped for it, the owner is
/// not left cancelled, and once it has entered `join` no more is delivered.
///
/// ```
/// use std::time::Duration;
/// use tasklane::{TaskGroup, task::cancellable, time::sleep};
///
/// tasklane::run(async {
///     let mut group = TaskGroup::new();
///     group.spawn(async { Err::<(), _>("child failed") });
///     // Interrupted by the failure, not slept for a minute.
///     assert!(cancellable(sleep(Duration::from_secs(60))).await.is_err());
///     let err = group.join().await.unwrap_err();
///     assert_eq!(err.errors(), &["child failed"]);
/// });
/// ```
///
/// # Examples
///
/// ```
/// use tasklane::TaskGroup;
///
/// tasklane::run(async {
///     let mut group = TaskGroup::new();
///     for i in 0..3u32 {
///         group.spawn(async move { Ok::<_, String>(i * 10) });
///     }
///     assert_eq!(group.join().await.unwrap(), vec![0, 10, 20]);
///
///     let mut group = TaskGroup::new();
///     group.spawn(async { Err::<u32, _>("boom") });
///     group.spawn(async {
///         tasklane::time::sleep(std::time::Duration::from_secs(60)).await;
///         Ok(1)
///     });
///     let err = group.join().await.unwrap_err();
///     assert_eq!(err.errors(), &["boom"]);
///     assert_eq!(err.cancelled(), 1);
/// });
/// ```
#[must_use = "dropping a TaskGroup cancels its children; call join().await"]
pub struct TaskGroup<T, E> {
    shared: Arc<GroupShared>,
    handles: Vec<JoinHandle<Result<T, E>>>,
}

impl<T, E> TaskGroup<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// An empty group.
    pub fn new() -> TaskGroup<T, E> {
        TaskGroup {
            shared: Arc::new(GroupShared::new()),
            handles: Vec::new(),
        }
    }

    /// Spawns a child on the current runtime and returns a reference to it
    /// (to read its state or cancel it alone). A child spawned after the
    /// group failed or was cancelled is cancelled as soon as it is spawned
    /// (a worker may already have polled it once by then).
    ///
    /// # Panics
    ///
    /// Outside a tasklane runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> TaskRef
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawn_inner(future, None, Location::caller())
    }

    /// Spawns a named child, as [`spawn`](Self::spawn) does.
    #[track_caller]
    pub fn spawn_named<F>(&mut self, name: impl Into<Cow<'static, str>>, future: F) -> TaskRef
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.spawn_inner(future, Some(name.into()), Location::caller())
    }

    fn spawn_inner<F>(
        &mut self,
        future: F,
        name: Option<Cow<'static, str>>,
        location: &'static Location<'static>,
    ) -> TaskRef
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let child = Child {
            future,
            group: Some(self.shared.clone()),
        };
        let mut builder = crate::task::Builder::new().location(location);
        if let Some(name) = name {
            builder = builder.name(name);
        }
        let handle = builder.spawn(child);
        let task = handle.task_ref();
        self.shared.children.lock().push(task.clone());
        if self.shared.failed.load(Ordering::Acquire) {
            task.cancel();
        }
        self.handles.push(handle);
        task
    }

    /// Number of children spawned so far.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// True if no child was spawned.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Cancels every child (a cancellation, not an abort: their catch
    /// points may clean up). `join` still waits for them.
    pub fn cancel(&self) {
        self.shared.cancel(CancelCause::Requested);
    }

    /// Waits for every child (and the shields they started), then returns
    /// their values in spawn order, or a [`GroupError`] if any failed or was
    /// cancelled.
    pub async fn join(mut self) -> Result<Vec<T>, GroupError<E>> {
        self.shared.end_body();
        let handles = std::mem::take(&mut self.handles);
        let mut results = Vec::with_capacity(handles.len());
        // The handles are consumed one by one: if this future is dropped,
        // those not yet awaited are dropped with it, which cancels them.
        for h in handles {
            results.push(h.await);
        }
        let shared = self.shared.clone();
        poll_fn(|cx| shared.poll_shields(cx)).await;
        let mut values = Vec::with_capacity(results.len());
        let mut err = GroupError {
            errors: Vec::new(),
            panics: Vec::new(),
            cancelled: 0,
        };
        for r in results {
            match r {
                Ok(Ok(v)) => values.push(v),
                Ok(Err(e)) => err.errors.push(e),
                Err(e) if e.is_panic() => err.panics.push(e),
                Err(_) => err.cancelled += 1,
            }
        }
        if err.errors.is_empty() && err.panics.is_empty() && err.cancelled == 0 {
            Ok(values)
        } else {
            Err(err)
        }
    }
}

impl<T, E> TaskGroup<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// Shuts the group down, as the runtime's shutdown does for every
    /// task: cancels every child (their catch points may clean up), waits
    /// up to `grace` for them and for the shields they started, aborts the
    /// children still running after it, waits for those to end, and
    /// reports what became of each child.
    ///
    /// The report counts every child of the group (including those that
    /// had ended before): `completed` (a value, `Ok` or `Err`), `cancelled`
    /// (ended by the cancellation, or cancelled before), `panicked`, and
    /// `dropped` with the names of those aborted after the grace. A shield
    /// still running after the grace is left to run (shielded work is
    /// never aborted), as the runtime's shutdown leaves it to its own
    /// grace. The owner is not cancelled by the shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tasklane::{TaskGroup, task::cancellable, time::sleep};
    ///
    /// tasklane::run(async {
    ///     let (started, children_started) = tasklane::sync::bounded(2);
    ///     let mut group = TaskGroup::<(), ()>::new();
    ///     let s = started.clone();
    ///     group.spawn(async move {
    ///         s.send(()).await.unwrap();
    ///         // Cleans up when cancelled.
    ///         let _ = cancellable(sleep(Duration::from_secs(60))).await;
    ///         Ok(())
    ///     });
    ///     group.spawn_named("stubborn", async move {
    ///         started.send(()).await.unwrap();
    ///         loop {
    ///             let _ = cancellable(sleep(Duration::from_secs(60))).await;
    ///         }
    ///     });
    ///     for _ in 0..2 {
    ///         children_started.recv().await.unwrap();
    ///     }
    ///     let report = group.shutdown(Duration::from_millis(20)).await;
    ///     assert_eq!(report.completed(), 1);
    ///     assert_eq!(report.dropped_names(), ["stubborn"]);
    /// });
    /// ```
    pub async fn shutdown(mut self, grace: Duration) -> ShutdownReport {
        self.shared.end_body();
        self.shared.cancel(CancelCause::Shutdown);
        let handles = std::mem::take(&mut self.handles);
        let shared = self.shared.clone();
        crate::two_phase::finish_shutdown(handles, grace, |cx| shared.poll_shields(cx)).await
    }
}

impl<T, E> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        self.shared.end_body();
    }
}

impl<T: Send + 'static, E: Send + 'static> Default for TaskGroup<T, E> {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("children", &self.handles.len())
            .field("failed", &self.shared.failed.load(Ordering::Relaxed))
            .finish()
    }
}

/// Why [`TaskGroup::join`] has no values: asyncio's `ExceptionGroup`.
///
/// Holds every error a child returned and every panic, in spawn order, and
/// counts the children that ended cancelled (not errors in themselves).
pub struct GroupError<E> {
    errors: Vec<E>,
    panics: Vec<JoinError>,
    cancelled: usize,
}

impl<E> GroupError<E> {
    /// The errors children returned, in spawn order.
    pub fn errors(&self) -> &[E] {
        &self.errors
    }

    /// The errors, by value.
    pub fn into_errors(self) -> Vec<E> {
        self.errors
    }

    /// Children that panicked (`JoinError::into_panic` gives the payload).
    pub fn panics(&self) -> &[JoinError] {
        &self.panics
    }

    /// Children that ended cancelled (because another failed, because the
    /// group or they were cancelled, or by shutdown).
    pub fn cancelled(&self) -> usize {
        self.cancelled
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("errors", &self.errors)
            .field("panics", &self.panics)
            .field("cancelled", &self.cancelled)
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "task group failed: {} error(s), {} panic(s), {} cancelled",
            self.errors.len(),
            self.panics.len(),
            self.cancelled
        )?;
        for e in &self.errors {
            write!(f, "; {e}")?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug + fmt::Display> Error for GroupError<E> {}

/// Runs each future as its own task and collects their outputs in input
/// order: asyncio's `gather`.
///
/// If a child panics, the others are cancelled and the panic is resumed in
/// the awaiter; if a child is cancelled, the awaiting task is cancelled too
/// (asyncio raises `CancelledError` there). Given [`JoinHandle`]s, the
/// outputs are `Result<T, JoinError>`, so failures are values:
/// `return_exceptions=True`. Dropping the `Gather` cancels the children.
///
/// # Panics
///
/// Outside a tasklane runtime.
///
/// # Examples
///
/// ```
/// tasklane::run(async {
///     let squares = tasklane::gather((1..=4u64).map(|i| async move { i * i })).await;
///     assert_eq!(squares, vec![1, 4, 9, 16]);
/// });
/// ```
#[track_caller]
pub fn gather<I>(futures: I) -> Gather<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future + Send + 'static,
    <I::Item as Future>::Output: Send + 'static,
{
    let location = Location::caller();
    let handles: Vec<_> = Handle::with_current(|h| {
        futures
            .into_iter()
            .map(|f| {
                crate::task::Builder::new()
                    .location(location)
                    .spawn_on(f, h)
            })
            .collect()
    });
    Gather {
        results: handles.iter().map(|_| None).collect(),
        handles: handles.into_iter().map(Some).collect(),
        done: false,
    }
}

/// The future of [`gather`].
#[must_use = "dropping a Gather cancels its children"]
pub struct Gather<T> {
    /// `None` once that child finished; emptied when the gather ends.
    handles: Vec<Option<JoinHandle<T>>>,
    /// Outputs by input position.
    results: Vec<Option<T>>,
    /// The outputs were returned.
    done: bool,
}

impl<T> Unpin for Gather<T> {}

impl<T> Future for Gather<T> {
    type Output = Vec<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let this = &mut *self;
        assert!(!this.done, "Gather polled after it completed");
        // Every child is polled, not only the next in order: a failure in
        // any of them must be seen (and the others cancelled) at once.
        let mut pending = false;
        for (slot, out) in this.handles.iter_mut().zip(this.results.iter_mut()) {
            let Some(h) = slot.as_mut() else { continue };
            match Pin::new(h).poll(cx) {
                Poll::Pending => pending = true,
                Poll::Ready(Ok(v)) => {
                    *slot = None;
                    *out = Some(v);
                }
                Poll::Ready(Err(e)) => {
                    // Cancel the rest now (their handles are dropped).
                    this.handles.clear();
                    if e.is_panic() {
                        panic::resume_unwind(e.into_panic());
                    }
                    assert!(
                        abort_current(e.cancel_cause().unwrap_or(CancelCause::Requested)),
                        "a gathered task was cancelled: {e}"
                    );
                    return Poll::Pending;
                }
            }
        }
        if pending {
            return Poll::Pending;
        }
        this.handles.clear();
        this.done = true;
        let results = std::mem::take(&mut this.results);
        Poll::Ready(
            results
                .into_iter()
                .map(|r| r.expect("every child finished"))
                .collect(),
        )
    }
}

impl<T> fmt::Debug for Gather<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("children", &self.handles.len())
            .field("done", &self.results.iter().filter(|r| r.is_some()).count())
            .finish()
    }
}

/// When [`wait`] returns: asyncio's `return_when`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as one task is done.
    FirstCompleted,
    /// As soon as one task fails (panics, is cancelled or returns an error
    /// per [`TaskOutput::is_failure`]), or when all are done.
    FirstException,
    /// When all tasks are done.
    AllCompleted,
}

/// Whether a task's output counts as a failure for
/// [`ReturnWhen::FirstException`]: `Err` for `Result`s; never for other
/// outputs unless their type says so. Implement it (an empty `impl` is
/// enough) to `wait` on tasks of your own output type.
///
/// `wait` must tell a returned `Err` from a value, and stable Rust cannot
/// ask an arbitrary `T` whether it is a `Result` (that would take
/// specialisation), so the output type says it through this trait. It is
/// implemented for `Result` and for the standard library's common value
/// types; a type of your own takes one line:
///
/// ```
/// struct Report {
///     lines: usize,
/// }
/// impl tasklane::task::TaskOutput for Report {}
///
/// tasklane::run(async {
///     let h = tasklane::spawn(async { Report { lines: 3 } });
///     let (done, _) = tasklane::wait([h], tasklane::ReturnWhen::FirstException, None).await;
///     assert_eq!(done.len(), 1);
/// });
/// ```
pub trait TaskOutput {
    /// True if this output is an error.
    fn is_failure(&self) -> bool {
        false
    }
}

impl<T, E> TaskOutput for Result<T, E> {
    fn is_failure(&self) -> bool {
        self.is_err()
    }
}

macro_rules! never_failures {
    ($($t:ty),* $(,)?) => { $(impl TaskOutput for $t {})* };
}
never_failures!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    &'static str,
);
impl<T> TaskOutput for Option<T> {}
impl<T> TaskOutput for Vec<T> {}
impl<T: ?Sized> TaskOutput for Box<T> {}

/// What [`wait`] can wait on: a [`JoinHandle`] by value, or a `&mut
/// JoinHandle` whose owner keeps it (asyncio's `wait` takes the tasks
/// without taking them away).
pub trait Waitable: sealed::Sealed {
    /// The task's output.
    type Output: TaskOutput;
    #[doc(hidden)]
    fn handle(&mut self) -> &mut JoinHandle<Self::Output>;
    /// Given up by a `wait` dropped before it returned: the task must run
    /// on (`wait` never cancels anything).
    #[doc(hidden)]
    fn abandon(self);
}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for super::JoinHandle<T> {}
    impl<T> Sealed for &mut super::JoinHandle<T> {}
}

impl<T: TaskOutput> Waitable for JoinHandle<T> {
    type Output = T;
    fn handle(&mut self) -> &mut JoinHandle<T> {
        self
    }
    fn abandon(self) {
        self.detach();
    }
}

impl<T: TaskOutput> Waitable for &mut JoinHandle<T> {
    type Output = T;
    fn handle(&mut self) -> &mut JoinHandle<T> {
        self
    }
    fn abandon(self) {}
}

/// The handles a `wait` holds: given back when it returns, else abandoned
/// (an owned handle detached, so that its task runs on).
struct Held<H: Waitable>(Vec<H>);

impl<H: Waitable> Drop for Held<H> {
    fn drop(&mut self) {
        for h in self.0.drain(..) {
            h.abandon();
        }
    }
}

/// Waits for some of `handles` to finish: asyncio's `wait`.
///
/// Returns `(done, pending)`, each in input order, when `when` is met or
/// `timeout` passes. Never cancels anything: the handles come back, and
/// awaiting one in `done` gives its result at once ([`JoinHandle::result`]
/// reads it without taking it). Cancel or drop the pending ones yourself.
///
/// `handles` are [`JoinHandle`]s, or `&mut JoinHandle`s (`wait(&mut
/// handles, ..)` on a `Vec` of them) that stay with their owner. If the
/// `wait` future is dropped before it returns (the task awaiting it was
/// cancelled, say), the tasks run on: handles it owns are detached, as
/// asyncio's `wait` leaves its tasks running when its awaiter is cancelled.
/// Pass `&mut` handles to keep a way to reach them then.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tasklane::{ReturnWhen, time::sleep};
///
/// tasklane::run(async {
///     let fast = tasklane::spawn(async { sleep(Duration::from_millis(5)).await; "fast" });
///     let slow = tasklane::spawn(async { sleep(Duration::from_secs(60)).await; "slow" });
///     let (done, pending) = tasklane::wait(vec![fast, slow], ReturnWhen::FirstCompleted, None).await;
///     assert_eq!((done.len(), pending.len()), (1, 1));
///     for h in pending {
///         h.cancel();
///     }
///
///     // By reference: the handles stay in `tasks`.
///     let mut tasks = vec![tasklane::spawn(async { 1 }), tasklane::spawn(async { 2 })];
///     let (done, _) = tasklane::wait(&mut tasks, ReturnWhen::AllCompleted, None).await;
///     assert_eq!(done.len(), 2);
///     assert_eq!(tasks.len(), 2);
/// });
/// ```
pub async fn wait<H, I>(handles: I, when: ReturnWhen, timeout: Option<Duration>) -> (Vec<H>, Vec<H>)
where
    I: IntoIterator<Item = H>,
    H: Waitable,
{
    let mut held = Held(handles.into_iter().collect());
    let mut timer = timeout.map(crate::time::sleep);
    poll_fn(|cx| {
        let total = held.0.len();
        let mut done = 0;
        let mut failed = false;
        for h in held.0.iter_mut() {
            let h = h.handle();
            if h.poll_finished(cx).is_ready() {
                done += 1;
                failed |= match h.result() {
                    Some(Ok(v)) => v.is_failure(),
                    Some(Err(_)) => true,
                    None => false,
                };
            }
        }
        let met = match when {
            ReturnWhen::FirstCompleted => done > 0,
            ReturnWhen::FirstException => failed || done == total,
            ReturnWhen::AllCompleted => done == total,
        };
        if met || total == 0 {
            return Poll::Ready(());
        }
        match timer.as_mut() {
            Some(t) => Pin::new(t).poll(cx),
            None => Poll::Pending,
        }
    })
    .await;
    let (mut done, mut pending) = (Vec::new(), Vec::new());
    for mut h in std::mem::take(&mut held.0) {
        if h.handle().is_finished() {
            done.push(h);
        } else {
            pending.push(h);
        }
    }
    (done, pending)
}

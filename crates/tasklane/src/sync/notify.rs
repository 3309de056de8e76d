//! [`Notify`] (tokio's) and [`Event`] (asyncio's), on `event-listener`.

use event_listener::{EventListener, IntoNotification};
use parking_lot::Mutex;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use tasklane_sched::coop;

/// Wakes one waiting task, or all of them (tokio's `Notify`).
///
/// * [`notify_one`](Self::notify_one) wakes one task waiting in
///   [`notified`](Self::notified); with none waiting it stores a single
///   permit, so the next `notified().await` returns at once (several calls
///   store one permit, not several).
/// * [`notify_waiters`](Self::notify_waiters) wakes every `Notified` future
///   created before the call, polled or not, and stores no permit.
///
/// # Protocol
///
/// The permit and a generation counter (bumped by `notify_waiters`) live
/// under a mutex; a `Notified` registers its listener under that mutex, so
/// a `notify_one` either sees the listener or leaves a permit that the
/// future sees. Each notification is tagged with its kind (`true`:
/// `notify_one`). A `Notified` dropped after `notify_one` chose it
/// (cancelled before it ran) passes the notification on: to another
/// waiter, or back to the permit; one chosen only by `notify_waiters` is
/// not passed on (it was for the waiters of that moment). Cancelled at any
/// point, no `notify_one` is lost.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tasklane::sync::Notify;
///
/// tasklane::run(async {
///     let notify = Arc::new(Notify::new());
///     let waiter = {
///         let notify = notify.clone();
///         tasklane::spawn(async move { notify.notified().await })
///     };
///     notify.notify_one(); // wakes the waiter, or leaves it a permit
///     waiter.await.unwrap();
/// });
/// ```
pub struct Notify {
    state: Mutex<NotifyState>,
    /// Tagged: `true` for `notify_one`, `false` for `notify_waiters`.
    event: event_listener::Event<bool>,
}

#[derive(Default)]
struct NotifyState {
    permit: bool,
    generation: u64,
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("permit", &self.state.lock().permit)
            .finish()
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify {
            state: Mutex::default(),
            event: event_listener::Event::with_tag(),
        }
    }
}

impl Notify {
    /// A `Notify` with no permit stored.
    pub fn new() -> Notify {
        Notify::default()
    }

    /// Wakes one waiting task; with none waiting, stores a permit.
    pub fn notify_one(&self) {
        let mut state = self.state.lock();
        if self.event.notify(1.additional().tag(true)) == 0 {
            state.permit = true;
        }
    }

    /// Wakes every task waiting now (every `Notified` created before this
    /// call). Stores no permit.
    pub fn notify_waiters(&self) {
        let mut state = self.state.lock();
        state.generation = state.generation.wrapping_add(1);
        self.event.notify(usize::MAX.tag(false));
    }

    /// Waits for a notification: a stored permit, a `notify_one`, or a
    /// `notify_waiters` made after this call.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            generation: self.state.lock().generation,
            listener: None,
            done: false,
        }
    }
}

/// The future of [`Notify::notified`].
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a> {
    notify: &'a Notify,
    generation: u64,
    listener: Option<EventListener<bool>>,
    done: bool,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        let coop = ready!(coop::poll_proceed(cx));
        if this.listener.is_none() {
            let mut state = this.notify.state.lock();
            if state.generation != this.generation || state.permit {
                state.permit = false;
                drop(state);
                coop.made_progress();
                this.done = true;
                return Poll::Ready(());
            }
            this.listener = Some(this.notify.event.listen());
        }
        let listener = this.listener.as_mut().expect("registered above");
        ready!(Pin::new(listener).poll(cx));
        this.listener = None;
        this.done = true;
        coop.made_progress();
        Poll::Ready(())
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some(listener) = self.listener.take() else {
            return;
        };
        // Dropping does not pass a notification on by itself; a
        // `notify_one` that chose this waiter (its tag) is handed on here.
        // One sent by `notify_waiters` is meant for the waiters of that
        // moment only and is not.
        let mut listener = listener;
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if let Poll::Ready(true) = Pin::new(&mut listener).poll(&mut cx) {
            self.notify.notify_one();
        }
    }
}

/// A flag tasks can wait for (asyncio's `Event`): [`set`](Self::set) wakes
/// every task waiting in [`wait`](Self::wait) and lets later waits return at
/// once until [`clear`](Self::clear).
///
/// As in asyncio, a task waiting when `set` is called returns even if
/// `clear` follows before it runs: a wait returns when the flag is set or
/// has been set since the wait began.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tasklane::sync::Event;
///
/// tasklane::run(async {
///     let ready = Arc::new(Event::new());
///     let waiter = {
///         let ready = ready.clone();
///         tasklane::spawn(async move { ready.wait().await })
///     };
///     ready.set();
///     waiter.await.unwrap();
///     assert!(ready.is_set());
/// });
/// ```
#[derive(Default)]
pub struct Event {
    /// Bit 0: the flag. The rest: how many times the flag went from clear
    /// to set, so a wait can tell it was set while it slept.
    state: AtomicU64,
    event: event_listener::Event,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}

impl Event {
    /// A clear event.
    pub fn new() -> Event {
        Event::default()
    }

    /// Sets the flag and wakes every waiting task.
    pub fn set(&self) {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if cur & 1 == 1 {
                return;
            }
            // Set the flag and count one more clear-to-set transition.
            let next = cur.wrapping_add(3);
            match self
                .state
                .compare_exchange(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        self.event.notify(usize::MAX);
    }

    /// Clears the flag; later waits sleep until the next [`set`](Self::set).
    pub fn clear(&self) {
        self.state.fetch_and(!1, Ordering::AcqRel);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.state.load(Ordering::Acquire) & 1 == 1
    }

    /// Waits until the flag is set (returns at once if it is). Cancel-safe:
    /// it consumes nothing.
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            start: self.state.load(Ordering::Acquire),
            listener: None,
        }
    }
}

/// The future of [`Event::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait<'a> {
    event: &'a Event,
    start: u64,
    listener: Option<EventListener>,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        loop {
            let now = this.event.state.load(Ordering::Acquire);
            if now & 1 == 1 || now >> 1 != this.start >> 1 {
                coop.made_progress();
                this.listener = None;
                return Poll::Ready(());
            }
            match &mut this.listener {
                None => this.listener = Some(this.event.event.listen()),
                Some(l) => {
                    ready!(Pin::new(l).poll(cx));
                    this.listener = None;
                }
            }
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Notified { .. }")
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventWait { .. }")
    }
}

//! One registered source's readiness and the tasks waiting on it.
//!
//! # The readiness word
//!
//! | bits | meaning |
//! |---|---|
//! | 0 `READABLE` | a read may make progress |
//! | 1 `WRITABLE` | a write may make progress |
//! | 2 `READ_CLOSED` | the peer will send no more (hang-up) |
//! | 3 `WRITE_CLOSED` | writes will fail (hang-up) |
//! | 4 `ERROR` | the OS reported an error condition |
//! | 5 `SHUTDOWN` | the source was deregistered or the reactor is gone |
//! | 16..32 tick | bumped by every event the reactor dispatches |
//!
//! # The protocol
//!
//! * **Dispatch** (the reactor, one thread at a time): ORs the event's bits
//!   into the word and bumps the tick in one CAS (`AcqRel`), *then* takes the
//!   wakers of the directions that became ready under the waiter lock, and
//!   wakes them after releasing it.
//! * **Poll** (a task): loads the word; if its direction is ready, returns a
//!   [`ReadyEvent`] carrying the tick it saw. Otherwise it stores its waker
//!   under the waiter lock and loads the word again *under the lock*.
//!   Either the dispatch's lock section came first (and then its readiness
//!   store, made before it, is visible to the re-load) or the poll's did (and
//!   then the dispatch finds the waker): no wake-up is lost. A "try" poll
//!   (`try_ready`) only loads the word: it stores no waker, so it promises
//!   no wake-up; a caller that needs one polls.
//! * **Clear** (a task whose I/O call said "would block"): removes its
//!   direction's bit, and `ERROR`, with a CAS that succeeds only if the tick
//!   is still the one in its `ReadyEvent`. (The OS reports a pending error,
//!   such as a connected UDP socket's ICMP refusal, to one call and then
//!   forgets it: a call that would block has seen it consumed. Kept, the bit
//!   would make every later poll ready at once, and `poll_io` would spin on
//!   "would block" forever.) A newer event bumped the tick, so a stale
//!   "would block" never erases readiness that arrived after the call was
//!   made (tokio's `ScheduledIo` does the same). A stream socket's read
//!   that filled less than its buffer, or write that took less than it was
//!   given, clears the same way: the kernel had no more to give or no more
//!   room, and what comes later is a new event. An end of stream or error
//!   that came with the data is a hang-up bit (`READ_CLOSED`, from
//!   `EPOLLRDHUP` or `EPOLLHUP`), which no clear removes, so the next call
//!   still sees it.
//! * **Shutdown** (deregistration, or the reactor shutting down): sets
//!   `SHUTDOWN`, then takes the stored wakers under the waiter lock and
//!   drops them (deregistration) or wakes them (reactor shutdown) after
//!   releasing it. A dispatch that comes after sets nothing and finds no
//!   waker; a poll that comes after returns an error. Deregistration
//!   deletes the descriptor from epoll before it unmaps the source's key,
//!   and keys carry a generation, so an event already collected for a
//!   dropped source never reaches a new source with a reused slot.

use std::fmt;
use std::task::{Context, Poll, Waker};

use crate::sync::Mutex;
use crate::sync::atomic::{AtomicUsize, Ordering};

/// Readiness bits of a source (a set; combine with `|`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ready(usize);

impl Ready {
    /// Nothing is ready.
    pub const EMPTY: Ready = Ready(0);
    /// A read may make progress.
    pub const READABLE: Ready = Ready(1);
    /// A write may make progress.
    pub const WRITABLE: Ready = Ready(1 << 1);
    /// The peer hung up: reads will see end of stream.
    pub const READ_CLOSED: Ready = Ready(1 << 2);
    /// Writes will fail.
    pub const WRITE_CLOSED: Ready = Ready(1 << 3);
    /// The OS reported an error on the source.
    pub const ERROR: Ready = Ready(1 << 4);

    const MASK: usize = 0b1_1111;

    /// Whether no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is set in `self`.
    pub fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` share a bit.
    pub fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether a read may make progress (or will fail or see end of stream
    /// at once rather than block).
    pub fn is_readable(self) -> bool {
        self.intersects(Interest::READ.mask())
    }

    /// Whether a write may make progress (or will fail at once).
    pub fn is_writable(self) -> bool {
        self.intersects(Interest::WRITE.mask())
    }
}

impl std::ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl std::ops::BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, rhs: Ready) -> Ready {
        Ready(self.0 & rhs.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Ready::READABLE, "READABLE"),
            (Ready::WRITABLE, "WRITABLE"),
            (Ready::READ_CLOSED, "READ_CLOSED"),
            (Ready::WRITE_CLOSED, "WRITE_CLOSED"),
            (Ready::ERROR, "ERROR"),
        ];
        let mut list = f.debug_set();
        for (bit, name) in names {
            if self.contains(bit) {
                list.entry(&format_args!("{name}"));
            }
        }
        list.finish()
    }
}

/// A direction a task waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u8);

impl Interest {
    /// Waiting to read.
    pub const READ: Interest = Interest(0);
    /// Waiting to write.
    pub const WRITE: Interest = Interest(1);

    /// The readiness bits that end a wait in this direction: its own bit,
    /// its hang-up bit, and `ERROR` (the call will fail rather than block).
    pub fn mask(self) -> Ready {
        match self.0 {
            0 => Ready::READABLE | Ready::READ_CLOSED | Ready::ERROR,
            _ => Ready::WRITABLE | Ready::WRITE_CLOSED | Ready::ERROR,
        }
    }

    /// The bits a "would block" in this direction clears: its own, and
    /// `ERROR` (module docs).
    fn clearable(self) -> Ready {
        match self.0 {
            0 => Ready::READABLE | Ready::ERROR,
            _ => Ready::WRITABLE | Ready::ERROR,
        }
    }
}

const SHUTDOWN: usize = 1 << 5;
const TICK_SHIFT: u32 = 16;
const TICK_MASK: usize = 0xFFFF << TICK_SHIFT;

// The ready bits, the shutdown bit and the tick do not overlap.
const _: () = assert!(Ready::MASK & SHUTDOWN == 0);
const _: () = assert!(Ready::MASK < 1 << TICK_SHIFT && SHUTDOWN < 1 << TICK_SHIFT);

fn tick_of(word: usize) -> usize {
    (word & TICK_MASK) >> TICK_SHIFT
}

/// What a poll saw: the ready bits of its direction, and the tick they came
/// with (for [`ScheduledIo::clear_readiness`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadyEvent {
    /// Ready bits in the polled direction.
    pub ready: Ready,
    tick: usize,
    interest: Interest,
}

/// The source was deregistered, or its reactor shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shutdown;

/// The tasks waiting in one direction. Usually one (a stream's reader, or
/// its writer), kept inline so that a wait allocates nothing and a dispatch
/// frees nothing; several tasks may share a socket (two `recv_from` on one
/// UDP socket, two `accept` on one listener), and the others wait in `rest`.
/// All are woken, and those that lose the race for the data wait again.
#[derive(Debug, Default)]
struct Waiters {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

/// Where [`Waiters::store`] put a waker.
#[derive(Debug, Clone, Copy)]
enum Stored {
    First,
    Rest(usize),
}

impl Waiters {
    /// Stores `waker`, unless a stored one already wakes the same task;
    /// says where it is.
    fn store(&mut self, waker: &Waker) -> Stored {
        match &self.first {
            Some(w) if w.will_wake(waker) => return Stored::First,
            None if self.rest.is_empty() => {
                self.first = Some(waker.clone());
                return Stored::First;
            }
            _ => {}
        }
        match self.rest.iter().position(|w| w.will_wake(waker)) {
            Some(i) => Stored::Rest(i),
            None => {
                self.rest.push(waker.clone());
                Stored::Rest(self.rest.len() - 1)
            }
        }
    }

    /// Takes back what [`store`](Self::store) said it holds at `at`.
    fn remove(&mut self, at: Stored) -> Option<Waker> {
        match at {
            Stored::First => self.first.take(),
            Stored::Rest(i) => Some(self.rest.swap_remove(i)),
        }
    }

    /// Takes every waker, leaving none.
    fn take(&mut self) -> Taken {
        Taken {
            first: self.first.take(),
            // An empty list moves out without its allocation changing hands.
            rest: std::mem::take(&mut self.rest),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }
}

/// Wakers taken out of [`Waiters`] under the lock, woken after it.
#[derive(Debug, Default)]
struct Taken {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Taken {
    fn wake(self) {
        if let Some(w) = self.first {
            w.wake();
        }
        self.rest.into_iter().for_each(Waker::wake);
    }
}

/// The waiters of both directions.
#[derive(Debug, Default)]
struct Directions {
    readers: Waiters,
    writers: Waiters,
}

/// Readiness and waiters of one registered source (module docs).
pub struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Directions>,
}

impl fmt::Debug for ScheduledIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.readiness.load(Ordering::Relaxed);
        f.debug_struct("ScheduledIo")
            .field("ready", &Ready(word & Ready::MASK))
            .field("shutdown", &(word & SHUTDOWN != 0))
            .field("tick", &tick_of(word))
            .finish()
    }
}

impl Default for ScheduledIo {
    fn default() -> Self {
        Self::new()
    }
}

impl ScheduledIo {
    /// A source with nothing ready and nobody waiting.
    pub fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Directions::default()),
        }
    }

    /// Dispatch: ORs `ready` in, bumps the tick, and wakes the tasks whose
    /// direction became ready (module docs). Returns the new ready bits.
    pub fn dispatch(&self, ready: Ready) -> Ready {
        let mut current = self.readiness.load(Ordering::Acquire);
        let new = loop {
            if current & SHUTDOWN != 0 {
                return Ready::EMPTY;
            }
            let tick = (tick_of(current) + 1) & 0xFFFF;
            let new = (current & Ready::MASK) | ready.0 | (tick << TICK_SHIFT);
            // AcqRel: the readiness (and the I/O state behind it) is
            // published before any waker is taken below.
            match self.readiness.compare_exchange_weak(
                current,
                new,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break new,
                Err(actual) => current = actual,
            }
        };
        let (readers, writers) = {
            let mut w = self.waiters.lock();
            let readers = if ready.is_readable() {
                w.readers.take()
            } else {
                Taken::default()
            };
            let writers = if ready.is_writable() {
                w.writers.take()
            } else {
                Taken::default()
            };
            (readers, writers)
        };
        readers.wake();
        writers.wake();
        Ready(new & Ready::MASK)
    }

    /// Poll: `Ready(Ok(event))` if `interest`'s direction is ready,
    /// `Ready(Err(Shutdown))` after deregistration, otherwise `Pending` with
    /// the task's waker stored among the direction's waiters (unless a
    /// stored one already wakes the same task).
    pub fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<Result<ReadyEvent, Shutdown>> {
        if let Some(r) = self.ready_now(interest, self.readiness.load(Ordering::Acquire)) {
            return Poll::Ready(r);
        }
        let mut w = self.waiters.lock();
        let list = if interest == Interest::READ {
            &mut w.readers
        } else {
            &mut w.writers
        };
        let stored = list.store(cx.waker());
        // Re-load under the lock (module docs: no lost wake-up).
        let word = self.readiness.load(Ordering::Acquire);
        let result = self.ready_now(interest, word);
        // Ready after all: our waker will not be needed.
        let unneeded = result.is_some().then(|| list.remove(stored));
        drop(w);
        drop(unneeded);
        match result {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }

    /// Poll without a waker: `Some(Ok(event))` if `interest`'s direction is
    /// ready now, `Some(Err(Shutdown))` after deregistration, `None`
    /// otherwise (nothing is stored, so no wake-up will follow). For
    /// "try" calls that report "would block" instead of waiting.
    pub fn try_ready(&self, interest: Interest) -> Option<Result<ReadyEvent, Shutdown>> {
        // Acquire: pairs with dispatch's `AcqRel`, as in `poll_ready`.
        self.ready_now(interest, self.readiness.load(Ordering::Acquire))
    }

    fn ready_now(&self, interest: Interest, word: usize) -> Option<Result<ReadyEvent, Shutdown>> {
        if word & SHUTDOWN != 0 {
            return Some(Err(Shutdown));
        }
        let ready = Ready(word & Ready::MASK) & interest.mask();
        (!ready.is_empty()).then_some(Ok(ReadyEvent {
            ready,
            tick: tick_of(word),
            interest,
        }))
    }

    /// Clear: the I/O call made after `event` would block. Clears the
    /// direction's bit and `ERROR` unless a newer event arrived since
    /// (module docs). Hang-up bits are never cleared.
    pub fn clear_readiness(&self, event: ReadyEvent) {
        let mut current = self.readiness.load(Ordering::Acquire);
        loop {
            if tick_of(current) != event.tick {
                return;
            }
            let new = current & !event.interest.clearable().0;
            if new == current {
                return;
            }
            match self.readiness.compare_exchange_weak(
                current,
                new,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Shutdown: marks the source gone and drops its wakers (module docs);
    /// `wake` also wakes them, so that tasks waiting on it see the error.
    pub fn shutdown(&self, wake: bool) {
        self.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
        let (readers, writers) = {
            let mut w = self.waiters.lock();
            (w.readers.take(), w.writers.take())
        };
        if wake {
            readers.wake();
            writers.wake();
        }
    }

    /// The current ready bits (for tests and introspection).
    pub fn readiness(&self) -> Ready {
        Ready(self.readiness.load(Ordering::Acquire) & Ready::MASK)
    }

    /// Whether [`shutdown`](Self::shutdown) ran.
    pub fn is_shutdown(&self) -> bool {
        self.readiness.load(Ordering::Acquire) & SHUTDOWN != 0
    }
}

#[cfg(all(test, not(tasklane_loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize as Count;
    use std::task::Wake;

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Counter(Count);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Counter>, Waker) {
        let c = Arc::new(Counter::default());
        (c.clone(), Waker::from(c))
    }

    fn wakes(c: &Counter) -> usize {
        c.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn poll(
        io: &ScheduledIo,
        waker: &Waker,
        interest: Interest,
    ) -> Poll<Result<ReadyEvent, Shutdown>> {
        io.poll_ready(&mut Context::from_waker(waker), interest)
    }

    fn tick(io: &ScheduledIo) -> usize {
        tick_of(io.readiness.load(Ordering::Relaxed))
    }

    #[test]
    fn dispatch_sets_bits_and_bumps_the_tick() {
        let io = ScheduledIo::new();
        assert_eq!(io.readiness(), Ready::EMPTY);
        assert_eq!(tick(&io), 0);
        assert_eq!(io.dispatch(Ready::READABLE), Ready::READABLE);
        assert_eq!(tick(&io), 1);
        assert_eq!(
            io.dispatch(Ready::WRITABLE),
            Ready::READABLE | Ready::WRITABLE
        );
        assert_eq!(tick(&io), 2);
        let ev = match poll(&io, Waker::noop(), Interest::READ) {
            Poll::Ready(Ok(ev)) => ev,
            other => panic!("readable, yet {other:?}"),
        };
        assert_eq!(ev.ready, Ready::READABLE);
        assert_eq!(ev.tick, 2);
    }

    #[test]
    fn the_tick_wraps_within_its_sixteen_bits() {
        let io = ScheduledIo::new();
        for _ in 0..0x1_0000 {
            io.dispatch(Ready::READABLE);
        }
        assert_eq!(tick(&io), 0);
        assert_eq!(io.readiness(), Ready::READABLE);
        assert!(!io.is_shutdown());
    }

    #[test]
    fn a_poll_of_a_direction_not_ready_stores_the_waker_once() {
        let io = ScheduledIo::new();
        io.dispatch(Ready::WRITABLE);
        let (c, w) = counter();
        assert!(poll(&io, &w, Interest::READ).is_pending());
        assert!(poll(&io, &w, Interest::READ).is_pending());
        assert_eq!(io.waiters.lock().readers.len(), 1, "one waker per task");
        // A write event does not wake a reader.
        io.dispatch(Ready::WRITABLE);
        assert_eq!(wakes(&c), 0);
        io.dispatch(Ready::READABLE);
        assert_eq!(wakes(&c), 1);
        assert_eq!(io.waiters.lock().readers.len(), 0);
        // Taken, not kept: a second event wakes nobody.
        io.dispatch(Ready::READABLE);
        assert_eq!(wakes(&c), 1);
    }

    #[test]
    fn several_tasks_waiting_in_one_direction_are_all_woken_once() {
        let io = ScheduledIo::new();
        let tasks: Vec<_> = (0..3).map(|_| counter()).collect();
        for (_, w) in &tasks {
            assert!(poll(&io, w, Interest::READ).is_pending());
            assert!(poll(&io, w, Interest::READ).is_pending());
        }
        assert_eq!(io.waiters.lock().readers.len(), 3, "one waker per task");
        let (wc, ww) = counter();
        assert!(poll(&io, &ww, Interest::WRITE).is_pending());
        io.dispatch(Ready::READABLE);
        assert!(tasks.iter().all(|(c, _)| wakes(c) == 1));
        assert_eq!(wakes(&wc), 0, "the writer waits on");
        assert_eq!(io.waiters.lock().readers.len(), 0);
        // The first slot freed, a later waiter still lands somewhere found.
        let (c, w) = counter();
        io.clear_readiness(match poll(&io, &w, Interest::READ) {
            Poll::Ready(Ok(ev)) => ev,
            other => panic!("readable, yet {other:?}"),
        });
        assert!(poll(&io, &w, Interest::READ).is_pending());
        io.dispatch(Ready::READABLE | Ready::WRITABLE);
        assert_eq!((wakes(&c), wakes(&wc)), (1, 1));
    }

    #[test]
    fn a_hang_up_or_error_ends_a_wait_in_either_direction() {
        for (bit, interest) in [
            (Ready::READ_CLOSED, Interest::READ),
            (Ready::ERROR, Interest::READ),
            (Ready::WRITE_CLOSED, Interest::WRITE),
            (Ready::ERROR, Interest::WRITE),
        ] {
            let io = ScheduledIo::new();
            io.dispatch(bit);
            assert!(
                poll(&io, Waker::noop(), interest).is_ready(),
                "{bit:?} ends a wait to {interest:?}"
            );
        }
    }

    #[test]
    fn clear_removes_the_direction_and_error_but_not_hang_ups() {
        let io = ScheduledIo::new();
        io.dispatch(Ready::READABLE | Ready::WRITABLE | Ready::ERROR | Ready::READ_CLOSED);
        let Poll::Ready(Ok(ev)) = poll(&io, Waker::noop(), Interest::READ) else {
            panic!("readable");
        };
        io.clear_readiness(ev);
        assert_eq!(io.readiness(), Ready::WRITABLE | Ready::READ_CLOSED);
        assert_eq!(tick(&io), 1, "a clear does not bump the tick");
    }

    #[test]
    fn a_stale_clear_never_erases_newer_readiness() {
        let io = ScheduledIo::new();
        io.dispatch(Ready::READABLE);
        let Poll::Ready(Ok(ev)) = poll(&io, Waker::noop(), Interest::READ) else {
            panic!("readable");
        };
        // An event arrives between the poll and the "would block".
        io.dispatch(Ready::READABLE);
        io.clear_readiness(ev);
        assert_eq!(io.readiness(), Ready::READABLE);
        // A clear made with the current tick does clear.
        let Poll::Ready(Ok(ev)) = poll(&io, Waker::noop(), Interest::READ) else {
            panic!("readable");
        };
        io.clear_readiness(ev);
        assert_eq!(io.readiness(), Ready::EMPTY);
        assert!(poll(&io, Waker::noop(), Interest::READ).is_pending());
    }

    #[test]
    fn shutdown_fails_later_polls_and_wakes_or_drops_the_waiters() {
        for wake in [true, false] {
            let io = ScheduledIo::new();
            let (reader, rw) = counter();
            let (writer, ww) = counter();
            assert!(poll(&io, &rw, Interest::READ).is_pending());
            assert!(poll(&io, &ww, Interest::WRITE).is_pending());
            io.shutdown(wake);
            assert!(io.is_shutdown());
            let expected = usize::from(wake);
            assert_eq!((wakes(&reader), wakes(&writer)), (expected, expected));
            // The stored clones are gone either way: what is left is the
            // test's own counter and waker.
            assert_eq!(Arc::strong_count(&reader), 2);
            assert_eq!(Arc::strong_count(&writer), 2);
            assert_eq!(
                poll(&io, Waker::noop(), Interest::READ),
                Poll::Ready(Err(Shutdown))
            );
            // A dispatch after the shutdown sets nothing and wakes nobody.
            assert_eq!(io.dispatch(Ready::READABLE), Ready::EMPTY);
            assert_eq!(io.readiness(), Ready::EMPTY);
        }
    }
}

//! The reactor: a `polling::Poller`, the table of registered sources, and
//! dispatch of the events it reports to their `ScheduledIo`s.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use polling::{Event, PollMode, Poller};

use crate::scheduled_io::{Ready, ScheduledIo};
use crate::sync::Mutex;

/// One slot of the source table.
#[derive(Debug)]
struct Slot {
    /// Bumped each time the slot is freed: an event key carries the
    /// generation it was registered with, so an event for a dropped source
    /// never reaches a new source in the same slot.
    generation: u32,
    io: Option<Arc<ScheduledIo>>,
}

#[derive(Debug, Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

fn key_of(index: u32, generation: u32) -> usize {
    ((generation as usize) << 32) | index as usize
}

fn split_key(key: usize) -> (u32, u32) {
    ((key & 0xFFFF_FFFF) as u32, (key >> 32) as u32)
}

/// The key of the reactor's own wake-up eventfd. Source keys never reach
/// it: their slot index stays below `u32::MAX - 1`.
const WAKE_KEY: usize = usize::MAX - 1;

/// Events collected per wait.
const EVENTS_PER_WAIT: usize = 256;

/// The I/O reactor (see the crate docs).
pub struct Reactor {
    poller: Poller,
    table: Mutex<Table>,
    /// Raw epoll event buffer of the thread in [`poll`](Reactor::poll): one
    /// thread at a time (the runtime's driver slot), so this lock is never
    /// contended.
    raw: Mutex<Vec<libc::epoll_event>>,
    /// An eventfd registered edge-triggered under [`WAKE_KEY`]: `notify`
    /// writes it, the direct wait reads it back.
    wake: OwnedFd,
    /// Set by [`shutdown`](Reactor::shutdown): no new registrations.
    closed: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("sources", &self.num_sources())
            .finish_non_exhaustive()
    }
}

/// A source registered with a [`Reactor`]: its readiness state and key.
/// Deregister it with [`Reactor::deregister`] before closing the descriptor.
#[derive(Debug)]
pub struct Registration {
    io: Arc<ScheduledIo>,
    key: usize,
}

impl Registration {
    /// The source's readiness and waiters.
    pub fn io(&self) -> &ScheduledIo {
        &self.io
    }
}

impl Reactor {
    /// A reactor with its own epoll (kqueue, …) instance.
    ///
    /// # Errors
    ///
    /// If the OS refuses a poller (out of descriptors).
    pub fn new() -> io::Result<Reactor> {
        let poller = Poller::new()?;
        // SAFETY: `eventfd` has no memory preconditions; a negative return
        // is an error, checked before the descriptor is owned.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor this function owns.
        let wake = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: `wake` is deleted from the poller in `Drop`, before the
        // descriptor closes (fields drop after `drop` runs).
        unsafe {
            poller.add_with_mode(wake.as_raw_fd(), Event::readable(WAKE_KEY), PollMode::Edge)?;
        }
        Ok(Reactor {
            poller,
            table: Mutex::new(Table::default()),
            raw: Mutex::new(Vec::with_capacity(EVENTS_PER_WAIT)),
            wake,
            closed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Registers the non-blocking descriptor `fd` for both directions,
    /// edge-triggered (no re-arming after each event; readiness is kept in
    /// the `ScheduledIo` until a "would block" clears it).
    ///
    /// # Safety
    ///
    /// `fd` must stay open until it has been passed to
    /// [`deregister`](Self::deregister) with the returned `Registration`
    /// (or until this reactor is dropped): the OS poller keeps a
    /// registration for the open file, which closing the descriptor first
    /// would leave behind (`polling::Poller::add` has the same contract).
    ///
    /// # Errors
    ///
    /// The OS error of `epoll_ctl` (say, `fd` is not pollable), or an error
    /// once the reactor has shut down.
    pub unsafe fn register(&self, fd: BorrowedFd<'_>) -> io::Result<Registration> {
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(io::Error::other(
                "tasklane-io: the reactor has shut down (its runtime is gone)",
            ));
        }
        let io = Arc::new(ScheduledIo::new());
        let key = {
            let mut t = self.table.lock();
            let index = match t.free.pop() {
                Some(i) => i,
                None => {
                    let i = u32::try_from(t.slots.len())
                        .ok()
                        .filter(|&i| i < u32::MAX - 1)
                        .ok_or_else(|| io::Error::other("tasklane-io: too many sources"))?;
                    t.slots.push(Slot {
                        generation: 0,
                        io: None,
                    });
                    i
                }
            };
            let slot = &mut t.slots[index as usize];
            slot.io = Some(io.clone());
            key_of(index, slot.generation)
        };
        // Both directions, edge-triggered, and the peer's half-close
        // (`EPOLLRDHUP`, which `polling` does not ask for): readiness says
        // when the peer will send no more, so a read that drained the socket
        // can stop asking without missing an end of stream that arrived
        // with the data. `polling`
        // keeps no state per source on epoll: its `delete` undoes this.
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN
                | libc::EPOLLPRI
                | libc::EPOLLOUT
                | libc::EPOLLRDHUP
                | libc::EPOLLET) as u32,
            u64: key as u64,
        };
        // SAFETY: `event` is a valid `epoll_event` for the call's duration,
        // and the descriptor is borrowed, so open now. It stays open until
        // it is deleted from the epoll set: this function's own contract
        // (`# Safety`), passed on to its caller.
        let rc = unsafe {
            libc::epoll_ctl(
                self.poller.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut event,
            )
        };
        let added = if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        };
        if let Err(e) = added {
            self.free_slot(key);
            return Err(e);
        }
        Ok(Registration { io, key })
    }

    /// Deregisters `fd`: the OS stops reporting it, the key stops mapping
    /// to its state, its wakers are dropped and later polls fail. Call it
    /// before closing the descriptor.
    ///
    /// # Errors
    ///
    /// The OS error of `epoll_ctl`; the registration is torn down anyway.
    pub fn deregister(&self, fd: BorrowedFd<'_>, reg: &Registration) -> io::Result<()> {
        let r = self.poller.delete(fd);
        self.free_slot(reg.key);
        reg.io.shutdown(false);
        r
    }

    fn free_slot(&self, key: usize) {
        let (index, generation) = split_key(key);
        let mut t = self.table.lock();
        let slot = &mut t.slots[index as usize];
        if slot.generation == generation && slot.io.is_some() {
            slot.io = None;
            slot.generation = slot.generation.wrapping_add(1);
            t.free.push(index);
        }
    }

    /// The state an event key maps to, if its source is still registered.
    fn lookup(&self, key: usize) -> Option<Arc<ScheduledIo>> {
        let (index, generation) = split_key(key);
        let t = self.table.lock();
        let slot = t.slots.get(index as usize)?;
        (slot.generation == generation)
            .then(|| slot.io.clone())
            .flatten()
    }

    /// Waits for events for at most `timeout` (`None`: until
    /// [`notify`](Self::notify)) and dispatches them. Returns how many
    /// sources got readiness. Only one thread polls at a time; another
    /// caller returns at once with 0.
    ///
    /// The wait is one `epoll_pwait2` system call on the poller's epoll
    /// descriptor, with a nanosecond timeout, rather than `Poller::wait`,
    /// which arms a timerfd, re-arms its timer and notifier with two
    /// `epoll_ctl`s, waits, and reads its eventfd on every wait
    /// (`docs/benchmarks.md`, I/O). `polling` still owns the epoll instance;
    /// the reactor's own eventfd replaces its notifier. Where the kernel (or
    /// a tool such as valgrind) lacks `epoll_pwait2`, the wait is one
    /// `epoll_wait` with the timeout rounded up to whole milliseconds.
    ///
    /// # Errors
    ///
    /// The OS error of the wait.
    pub fn poll(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let Some(mut raw) = self.raw.try_lock() else {
            return Ok(0);
        };
        raw.clear();
        // The waits below let the kernel fill `EVENTS_PER_WAIT` entries.
        debug_assert!(raw.capacity() >= EVENTS_PER_WAIT);
        let n = loop {
            let n = if HAS_PWAIT2.load(std::sync::atomic::Ordering::Relaxed) {
                self.wait_pwait2(&mut raw, timeout)
            } else {
                self.wait_ms(&mut raw, timeout)
            };
            if n >= 0 {
                break n as usize;
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => return Ok(0),
                Some(libc::ENOSYS) if HAS_PWAIT2.load(std::sync::atomic::Ordering::Relaxed) => {
                    HAS_PWAIT2.store(false, std::sync::atomic::Ordering::Relaxed);
                }
                _ => return Err(e),
            }
        };
        // SAFETY: the kernel initialised the first `n` entries (at most the
        // capacity it was given).
        unsafe { raw.set_len(n) };
        let mut dispatched = 0;
        for ev in raw.iter() {
            let key = ev.u64 as usize;
            if key == WAKE_KEY {
                self.drain_wake();
                continue;
            }
            if self.dispatch(key, ready_of(ev.events)) {
                dispatched += 1;
            }
        }
        Ok(dispatched)
    }

    /// One `epoll_pwait2` into `raw`'s spare capacity; the raw return value.
    fn wait_pwait2(&self, raw: &mut Vec<libc::epoll_event>, timeout: Option<Duration>) -> i32 {
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: libc::c_long::from(t.subsec_nanos() as i32),
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: the buffer has capacity for `EVENTS_PER_WAIT` events and
        // the kernel writes at most that many; `ts_ptr` is null or points at
        // a live `timespec`; the sigmask is null (none).
        unsafe {
            libc::epoll_pwait2(
                self.poller.as_raw_fd(),
                raw.as_mut_ptr(),
                EVENTS_PER_WAIT as libc::c_int,
                ts_ptr,
                std::ptr::null(),
            )
        }
    }

    /// One `epoll_wait` into `raw`'s spare capacity, the timeout rounded up
    /// to whole milliseconds (a timer never fires early); the raw return
    /// value.
    fn wait_ms(&self, raw: &mut Vec<libc::epoll_event>, timeout: Option<Duration>) -> i32 {
        let ms = timeout.map_or(-1, |t| {
            let ms = t.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        });
        // SAFETY: the buffer has capacity for `EVENTS_PER_WAIT` events and
        // the kernel writes at most that many.
        unsafe {
            libc::epoll_wait(
                self.poller.as_raw_fd(),
                raw.as_mut_ptr(),
                EVENTS_PER_WAIT as libc::c_int,
                ms,
            )
        }
    }

    /// Hands `ready` to the source behind `key`, if it is still registered.
    fn dispatch(&self, key: usize, ready: Ready) -> bool {
        let Some(io) = self.lookup(key) else {
            return false; // deregistered while the event was in flight
        };
        if ready.is_empty() {
            return false;
        }
        io.dispatch(ready);
        true
    }

    /// Resets the wake-up eventfd after it fired.
    fn drain_wake(&self) {
        let mut buf = [0u8; 8];
        // SAFETY: `buf` is 8 writable bytes, what an eventfd read needs. A
        // failure (EAGAIN: already drained) leaves nothing to do.
        unsafe { libc::read(self.wake.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    }

    /// Makes the thread in [`poll`](Self::poll) return soon, or the next
    /// call return at once.
    pub fn notify(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: `one` is 8 readable bytes, what an eventfd write needs. It
        // fails only if the counter would overflow, which means a wake-up is
        // pending anyway.
        unsafe { libc::write(self.wake.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }

    /// Shuts the reactor down: every registered source is marked gone and
    /// the tasks waiting on it are woken (their polls then fail), and new
    /// registrations fail. The runtime calls it once its tasks have ended,
    /// so a socket kept past the runtime fails instead of waiting forever.
    /// Idempotent.
    pub fn shutdown(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        let ios: Vec<Arc<ScheduledIo>> = {
            let t = self.table.lock();
            t.slots.iter().filter_map(|s| s.io.clone()).collect()
        };
        // Woken outside the table lock: a waker may deregister a source.
        for io in ios {
            io.shutdown(true);
        }
    }

    /// The number of registered sources.
    pub fn num_sources(&self) -> usize {
        let t = self.table.lock();
        t.slots.len() - t.free.len()
    }
}

/// The readiness an epoll event's flags report.
fn ready_of(events: u32) -> Ready {
    let flags = events as libc::c_int;
    let mut ready = Ready::EMPTY;
    if flags & (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLPRI) != 0 {
        ready = ready | Ready::READABLE;
    }
    if flags & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) != 0 {
        ready = ready | Ready::WRITABLE;
    }
    if flags & libc::EPOLLHUP != 0 {
        ready = ready | Ready::READ_CLOSED | Ready::WRITE_CLOSED;
    }
    if flags & libc::EPOLLRDHUP != 0 {
        ready = ready | Ready::READABLE | Ready::READ_CLOSED;
    }
    if flags & libc::EPOLLERR != 0 {
        ready = ready | Ready::ERROR;
    }
    ready
}

/// Whether the kernel has `epoll_pwait2` (cleared on the first `ENOSYS`).
static HAS_PWAIT2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

impl Drop for Reactor {
    fn drop(&mut self) {
        let _ = self.poller.delete(self.wake.as_fd());
        self.shutdown();
    }
}

// Source keys never reach the wake-up key: a slot index stays below
// `u32::MAX - 1`, and the wake-up key's low half is that index.
const _: () = assert!(WAKE_KEY & 0xFFFF_FFFF == (u32::MAX - 1) as usize);

#[cfg(all(test, not(tasklane_loom)))]
mod tests {
    use super::*;
    use crate::Interest;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::task::{Context, Poll, Waker};

    /// A connected pair, `b` non-blocking and registered with `reactor`.
    fn registered_pair(reactor: &Reactor) -> (UnixStream, UnixStream, Registration) {
        let (a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        // SAFETY: every test deregisters `b` before dropping it, or drops
        // the reactor first.
        let reg = unsafe { reactor.register(b.as_fd()) }.unwrap();
        (a, b, reg)
    }

    fn poll_read(reg: &Registration) -> Poll<Result<crate::ReadyEvent, crate::Shutdown>> {
        reg.io()
            .poll_ready(&mut Context::from_waker(Waker::noop()), Interest::READ)
    }

    #[test]
    fn both_waits_report_data_and_a_half_close_behind_it() {
        let reactor = Reactor::new().unwrap();
        let (mut a, b, reg) = registered_pair(&reactor);
        for pwait2 in [true, false] {
            a.write_all(b"x").unwrap();
            let mut raw = reactor.raw.lock();
            raw.clear();
            let n = if pwait2 {
                reactor.wait_pwait2(&mut raw, Some(Duration::from_secs(5)))
            } else {
                reactor.wait_ms(&mut raw, Some(Duration::from_nanos(1)))
            };
            if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
                continue; // a kernel (or valgrind) without epoll_pwait2
            }
            assert_eq!(n, 1, "one event for the one source");
            // SAFETY: the kernel initialised the first entry.
            unsafe { raw.set_len(1) };
            assert_eq!(raw[0].u64 as usize, reg.key);
            assert!(ready_of(raw[0].events).contains(Ready::READABLE));
            let mut buf = [0; 8];
            assert_eq!((&b).read(&mut buf).unwrap(), 1);
        }
        // Data and the peer's half-close together: both are readiness.
        a.write_all(b"y").unwrap();
        a.shutdown(std::net::Shutdown::Write).unwrap();
        let mut raw = reactor.raw.lock();
        raw.clear();
        let n = reactor.wait_ms(&mut raw, Some(Duration::from_secs(5)));
        assert_eq!(n, 1);
        // SAFETY: the kernel initialised the first entry.
        unsafe { raw.set_len(1) };
        let ready = ready_of(raw[0].events);
        assert!(
            ready.contains(Ready::READABLE | Ready::READ_CLOSED),
            "{ready:?}"
        );
        drop(raw);
        reactor.deregister(b.as_fd(), &reg).unwrap();
    }

    #[test]
    fn an_event_reaches_its_source() {
        let reactor = Reactor::new().unwrap();
        let (mut a, b, reg) = registered_pair(&reactor);
        assert_eq!(reactor.num_sources(), 1);
        // Writable from the start (edge-triggered: reported once).
        reactor.poll(Some(Duration::from_secs(5))).unwrap();
        assert!(reg.io().readiness().contains(Ready::WRITABLE));
        assert!(poll_read(&reg).is_pending());
        a.write_all(b"x").unwrap();
        reactor.poll(Some(Duration::from_secs(5))).unwrap();
        assert!(reg.io().readiness().contains(Ready::READABLE));
        // Read it all, see "would block", clear: not readable any more.
        let Poll::Ready(Ok(ev)) = poll_read(&reg) else {
            panic!("readable");
        };
        let mut buf = [0; 8];
        assert_eq!((&b).read(&mut buf).unwrap(), 1);
        assert_eq!(
            (&b).read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        reg.io().clear_readiness(ev);
        assert!(poll_read(&reg).is_pending());
        reactor.deregister(b.as_fd(), &reg).unwrap();
    }

    #[test]
    fn a_hang_up_is_reported_as_closed() {
        let reactor = Reactor::new().unwrap();
        let (a, b, reg) = registered_pair(&reactor);
        drop(a);
        reactor.poll(Some(Duration::from_secs(5))).unwrap();
        assert!(reg.io().readiness().contains(Ready::READ_CLOSED));
        assert!(poll_read(&reg).is_ready());
        reactor.deregister(b.as_fd(), &reg).unwrap();
    }

    #[test]
    fn deregistering_frees_the_slot_and_retires_the_old_key() {
        let reactor = Reactor::new().unwrap();
        let (_a, b, reg) = registered_pair(&reactor);
        let old_key = reg.key;
        reactor.deregister(b.as_fd(), &reg).unwrap();
        assert_eq!(reactor.num_sources(), 0);
        assert!(reg.io().is_shutdown(), "later polls fail");
        assert!(poll_read(&reg).is_ready());
        assert!(reactor.lookup(old_key).is_none());
        // The slot is reused with a new generation: an event in flight for
        // the old key never reaches the new source.
        let (_c, d, reg2) = registered_pair(&reactor);
        assert_eq!(split_key(reg2.key).0, split_key(old_key).0);
        assert_ne!(reg2.key, old_key);
        assert!(!reactor.dispatch(old_key, Ready::READABLE));
        assert!(reg2.io().readiness().is_empty());
        assert!(reactor.dispatch(reg2.key, Ready::READABLE));
        assert!(reg2.io().readiness().contains(Ready::READABLE));
        reactor.deregister(d.as_fd(), &reg2).unwrap();
    }

    #[test]
    fn notify_ends_a_wait_without_limit_and_is_kept_when_nobody_waits() {
        let reactor = Arc::new(Reactor::new().unwrap());
        // Made before the wait: the wait returns at once.
        reactor.notify();
        assert_eq!(reactor.poll(None).unwrap(), 0);
        // Made during the wait, from another thread.
        let r = reactor.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            r.notify();
        });
        assert_eq!(reactor.poll(None).unwrap(), 0);
        t.join().unwrap();
        // Drained: a wait with a short timeout finds nothing.
        assert_eq!(reactor.poll(Some(Duration::from_millis(10))).unwrap(), 0);
    }

    #[test]
    fn shutdown_ends_every_source_and_refuses_new_ones() {
        let reactor = Reactor::new().unwrap();
        let (_a, b, reg) = registered_pair(&reactor);
        reactor.shutdown();
        assert!(reg.io().is_shutdown());
        assert!(poll_read(&reg).is_ready());
        let (_c, d) = UnixStream::pair().unwrap();
        // SAFETY: the registration fails; nothing stays registered.
        let refused = unsafe { reactor.register(d.as_fd()) };
        assert!(refused.is_err());
        reactor.shutdown(); // idempotent
        reactor.deregister(b.as_fd(), &reg).unwrap();
        assert_eq!(reactor.num_sources(), 0);
    }
}

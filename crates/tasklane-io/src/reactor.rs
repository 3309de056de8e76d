//! The reactor: a `polling::Poller`, the table of registered sources, and
//! dispatch of the events it reports to their `ScheduledIo`s.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use polling::{Event, Events, PollMode, Poller};

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

/// The I/O reactor (see the crate docs).
pub struct Reactor {
    poller: Poller,
    table: Mutex<Table>,
    /// Events buffer of the thread in [`poll`](Reactor::poll): one thread at
    /// a time (the runtime's driver slot), so this lock is never contended.
    events: Mutex<Events>,
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
        Ok(Reactor {
            poller: Poller::new()?,
            table: Mutex::new(Table::default()),
            events: Mutex::new(Events::new()),
        })
    }

    /// Registers the non-blocking descriptor `fd` for both directions,
    /// edge-triggered (no re-arming after each event; readiness is kept in
    /// the `ScheduledIo` until a "would block" clears it).
    ///
    /// # Errors
    ///
    /// The OS error of `epoll_ctl` (say, `fd` is not pollable).
    pub fn register(&self, fd: BorrowedFd<'_>) -> io::Result<Registration> {
        let io = Arc::new(ScheduledIo::new());
        let key = {
            let mut t = self.table.lock();
            let index = match t.free.pop() {
                Some(i) => i,
                None => {
                    let i = u32::try_from(t.slots.len())
                        .ok()
                        .filter(|&i| i != u32::MAX)
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
        let mode = if self.poller.supports_edge() {
            PollMode::Edge
        } else {
            PollMode::Level
        };
        // SAFETY: `polling` requires the source to be deleted before it is
        // closed; `Registration`s are deregistered by their owners before
        // the descriptor drops (`tasklane::io::AsyncFd::drop`), which is the
        // documented contract of `deregister`.
        let added = unsafe {
            self.poller
                .add_with_mode(fd.as_raw_fd(), Event::all(key), mode)
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
    /// A zero timeout first asks the kernel with one `poll(2)` whether the
    /// epoll instance has anything to report, and returns without calling
    /// `Poller::wait` (five system calls in `polling` 3.11) when it has not:
    /// busy workers look for I/O often.
    ///
    /// # Errors
    ///
    /// The OS error of the wait.
    pub fn poll(&self, timeout: Option<Duration>) -> io::Result<usize> {
        if timeout == Some(Duration::ZERO) && !self.has_pending_events() {
            return Ok(0);
        }
        let Some(mut events) = self.events.try_lock() else {
            return Ok(0);
        };
        events.clear();
        self.poller.wait(&mut events, timeout)?;
        let mut n = 0;
        for ev in events.iter() {
            let Some(io) = self.lookup(ev.key) else {
                continue; // deregistered while the event was in flight
            };
            let mut ready = Ready::EMPTY;
            if ev.readable {
                ready = ready | Ready::READABLE;
            }
            if ev.writable {
                ready = ready | Ready::WRITABLE;
            }
            if ev.is_interrupt() {
                ready = ready | Ready::READ_CLOSED | Ready::WRITE_CLOSED;
            }
            if ev.is_err() == Some(true) {
                ready = ready | Ready::ERROR;
            }
            if !ready.is_empty() {
                io.dispatch(ready);
                n += 1;
            }
        }
        Ok(n)
    }

    /// Whether the kernel has events queued on the epoll instance (one
    /// `poll(2)` with a zero timeout).
    fn has_pending_events(&self) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.poller_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid, initialised `pollfd` that outlives the
        // call, and `nfds` is 1.
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        // On an error, say there is something: the full wait will tell.
        n != 0
    }

    fn poller_fd(&self) -> RawFd {
        self.poller.as_raw_fd()
    }

    /// Makes the thread in [`poll`](Self::poll) return soon, or the next
    /// call return at once.
    pub fn notify(&self) {
        // An error here means the notifier descriptor is broken; nothing
        // can be done from a waker, and the next timer or event still wakes
        // the poller.
        let _ = self.poller.notify();
    }

    /// The number of registered sources.
    pub fn num_sources(&self) -> usize {
        let t = self.table.lock();
        t.slots.len() - t.free.len()
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        // Tasks still waiting on a source of this reactor see an error.
        let t = self.table.lock();
        for slot in &t.slots {
            if let Some(io) = &slot.io {
                io.shutdown(true);
            }
        }
    }
}

//! tasklane's I/O reactor: readiness of registered sources and the wakers of
//! the tasks waiting on them. It knows `Waker`s, never the scheduler.
//!
//! * [`Reactor`]: a [`polling`] poller (epoll on Linux) in edge-triggered
//!   mode, a table of registered sources (slab keys with a generation), and
//!   [`Reactor::poll`], which waits for events (one `epoll_pwait2`) and
//!   dispatches them. The
//!   runtime's driver calls it from the one worker that parks in the driver,
//!   with the nearest timer as its timeout, and [`Reactor::notify`] is that
//!   worker's unpark.
//! * [`ScheduledIo`]: one source's readiness word (ready bits plus a tick)
//!   and the wakers of the tasks waiting to read and to write. The protocol that keeps a wake-up from
//!   being lost, and a stale "would block" from erasing newer readiness, is
//!   in its module docs.
//!
//! # Examples
//!
//! ```
//! use std::io::Write;
//! use std::os::fd::AsFd;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//! use tasklane_io::{Ready, Reactor};
//!
//! let reactor = Reactor::new()?;
//! let (mut a, b) = UnixStream::pair()?;
//! b.set_nonblocking(true)?;
//! // SAFETY: `b` stays open until it is deregistered below.
//! let reg = unsafe { reactor.register(b.as_fd()) }?;
//! a.write_all(b"hi")?;
//! reactor.poll(Some(Duration::from_secs(1)))?;
//! assert!(reg.io().readiness().contains(Ready::READABLE));
//! reactor.deregister(b.as_fd(), &reg)?;
//! # std::io::Result::Ok(())
//! ```

mod reactor;
mod scheduled_io;
mod sync;

pub use reactor::{Reactor, Registration};
pub use scheduled_io::{Interest, Ready, ReadyEvent, ScheduledIo, Shutdown};

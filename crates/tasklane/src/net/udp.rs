//! UDP: [`UdpSocket`].

use super::addr::{ToSocketAddrs, each_addr, resolve};
use crate::io::{AsyncFd, Interest};
use std::io;
use std::net::{self, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A UDP socket.
///
/// Every receive (`recv`, `recv_from`, `peek_from`) is cancel-safe: the
/// datagram is taken from the socket in the same poll that returns it, so
/// a receive dropped before it completes loses no datagram.
pub struct UdpSocket {
    io: AsyncFd<net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (the first resolved address that works).
    ///
    /// # Errors
    ///
    /// The OS error, a lookup error for a name, or `InvalidInput` for a
    /// malformed address.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| async move {
            UdpSocket::from_std(net::UdpSocket::bind(a)?)
        })
        .await
    }

    /// Wraps a standard socket, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If it cannot be made non-blocking or registered (`NotFound` outside
    /// a runtime).
    pub fn from_std(socket: net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: AsyncFd::new(socket)?,
        })
    }

    /// Sets the default peer for [`send`](Self::send) and filters
    /// [`recv`](Self::recv) to it (the first resolved address that works).
    ///
    /// # Errors
    ///
    /// The OS error of `connect`, a lookup error, or `InvalidInput`.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let sock = self.io.get_ref();
        each_addr(&addr, |a| async move { sock.connect(a) }).await
    }

    /// Sends one datagram to `target` (a name: to its first resolved
    /// address of the socket's own family, IPv4 or IPv6). A name is looked
    /// up at each call; resolve it once with `lookup_host` to send many.
    ///
    /// # Errors
    ///
    /// The OS error of `sendto`, a lookup error, or `InvalidInput` (also
    /// when the name has no address of the socket's family).
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let v4 = self.io.get_ref().local_addr()?.is_ipv4();
        let target = resolve(&target)
            .await?
            .into_iter()
            .find(|a| a.is_ipv4() == v4)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the destination has no address of the socket's family",
                )
            })?;
        self.io
            .async_io(Interest::WRITE, |s| s.send_to(buf, target))
            .await
    }

    /// Receives one datagram and its sender. A datagram longer than `buf`
    /// is cut to fit (the rest is lost).
    ///
    /// # Errors
    ///
    /// The OS error of `recvfrom`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.async_io(Interest::READ, |s| s.recv_from(buf)).await
    }

    /// Waits for a datagram and copies it (cut to fit `buf`) without
    /// taking it: the next receive returns it again.
    ///
    /// # Errors
    ///
    /// The OS error of `recvfrom`.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.async_io(Interest::READ, |s| s.peek_from(buf)).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// The OS error of `send` (`ConnectionRefused` when an earlier datagram
    /// met a closed port; `NotConnected` without `connect`).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.async_io(Interest::WRITE, |s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// The OS error of `recv`.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Interest::READ, |s| s.recv(buf)).await
    }

    /// Waits until a datagram may be waiting (a hint: a `try_recv` after it
    /// may still report `WouldBlock`).
    ///
    /// # Errors
    ///
    /// If the runtime has shut down.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await.map(drop)
    }

    /// Waits until a send may go through (a hint, as
    /// [`readable`](Self::readable)).
    ///
    /// # Errors
    ///
    /// If the runtime has shut down.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await.map(drop)
    }

    /// Receives a datagram that is there now, without waiting (after
    /// [`readable`](Self::readable): a socket the reactor has not yet seen
    /// readable reports `WouldBlock` without asking the kernel).
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is, or the OS error of `recvfrom`.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Interest::READ, |s| s.recv_from(buf))
    }

    /// Sends a datagram to `target` now, without waiting (after
    /// [`writable`](Self::writable), as with
    /// [`try_recv_from`](Self::try_recv_from)).
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the send buffer is full, or the OS error of
    /// `sendto`.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_io(Interest::WRITE, |s| s.send_to(buf, target))
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected`, or the OS error of `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets `SO_BROADCAST`: whether datagrams may go to a broadcast
    /// address.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets the time-to-live of outgoing unicast packets (`IP_TTL`).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt` (`InvalidInput` for 0 or above 255).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The time-to-live of outgoing unicast packets.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with
    /// address `interface` (`Ipv4Addr::UNSPECIFIED`: the OS chooses).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt` (`InvalidInput` for an address that is
    /// not multicast; `AddrNotAvailable` for an unknown interface).
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&multiaddr, &interface)
    }

    /// Leaves a group joined with
    /// [`join_multicast_v4`](Self::join_multicast_v4).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt` (`AddrNotAvailable` if not joined).
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&multiaddr, &interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on interface number
    /// `interface` (0: the OS chooses).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves a group joined with
    /// [`join_multicast_v6`](Self::join_multicast_v6).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(multiaddr, interface)
    }

    /// Sets `IP_MULTICAST_LOOP`: whether this host's own members of a
    /// group receive the multicast datagrams it sends (on by default).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// Sets the time-to-live of outgoing IPv4 multicast packets (1 by
    /// default: they stay on the local network).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// The time-to-live of outgoing IPv4 multicast packets.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.get_ref().multicast_ttl_v4()
    }

    /// The pending socket error (`SO_ERROR`), if any, clearing it.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

fd_impls!(UdpSocket);

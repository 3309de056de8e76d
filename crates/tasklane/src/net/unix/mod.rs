//! Unix-domain sockets: streams ([`UnixListener`], [`UnixStream`]) and
//! datagrams ([`UnixDatagram`]), addressed by filesystem paths.

mod datagram;
mod stream;

pub use datagram::UnixDatagram;
pub use stream::{OwnedReadHalf, OwnedWriteHalf, UnixListener, UnixStream};

/// The address of a Unix-domain socket (a path, or unnamed), as the
/// standard library has it.
pub use std::os::unix::net::SocketAddr;

//! Socket addresses, and host names resolved on the blocking pool.
//!
//! [`ToSocketAddrs`] is what every address-taking method accepts. Its
//! implementations sort an argument into one of two kinds without any
//! system call: addresses already known (a [`SocketAddr`], an IP and a
//! port, a string holding a literal IP address and a port) are used at
//! once; a host name goes to [`lookup_host`], which runs the system
//! resolver on the blocking pool. A string with no port, or a port that is
//! not a number from 0 to 65535, is an `InvalidInput` error before anything
//! is looked up.

use crate::runtime::Handle;
use std::io;
use std::net::{self, IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Something that names one or more socket addresses: a [`SocketAddr`]
/// (or `SocketAddrV4` / `SocketAddrV6`), an `(IpAddr, u16)` (or with an
/// `Ipv4Addr` / `Ipv6Addr`), a `&[SocketAddr]`, a `"host:port"` string
/// (`&str` or `String`), or a `(host, port)` pair (`(&str, u16)` or
/// `(String, u16)`); and a reference to any of these.
///
/// The host may be a literal IP address (`"127.0.0.1:80"`, `"[::1]:80"`,
/// `("::1", 80)`), used as it is, or a name, resolved with [`lookup_host`]
/// on the blocking pool. Unlike `std::net::ToSocketAddrs`, no
/// implementation ever blocks the calling thread. The trait is sealed: its
/// method is private, and only this crate implements it.
///
/// # Examples
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr, SocketAddr};
/// use tasklane::net::UdpSocket;
///
/// tasklane::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let b = UdpSocket::bind((IpAddr::V4(Ipv4Addr::LOCALHOST), 0)).await.unwrap();
///     let port = b.local_addr().unwrap().port();
///     a.send_to(b"by name", ("localhost", port)).await.unwrap();
///     let mut buf = [0; 16];
///     let (n, _) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"by name");
/// });
/// ```
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

/// The sealed half of [`ToSocketAddrs`]. Public in a private module: the
/// public trait can name it as a supertrait, and nothing outside the crate
/// can implement or call it.
mod sealed {
    use super::*;

    /// What an address argument turned out to be, decided without a
    /// system call.
    #[derive(Debug)]
    pub enum Resolve {
        /// Known addresses, or an error in the argument itself.
        Ready(io::Result<Vec<SocketAddr>>),
        /// A host name and a port, for the resolver.
        Lookup(String, u16),
    }

    pub trait ToSocketAddrsPriv {
        fn to_resolve(&self) -> Resolve;
    }
}

use sealed::{Resolve, ToSocketAddrsPriv};

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// A `(host, port)` pair: a literal IP address, or a name to look up.
fn host_port(host: &str, port: u16) -> Resolve {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Resolve::Ready(Ok(vec![SocketAddr::new(ip, port)]));
    }
    // `[::1]` with brackets, as in a URL authority.
    if let Some(ip) = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<Ipv6Addr>().ok())
    {
        return Resolve::Ready(Ok(vec![SocketAddr::new(IpAddr::V6(ip), port)]));
    }
    if host.is_empty() {
        return Resolve::Ready(Err(invalid(
            "invalid socket address: the host name is empty".to_owned(),
        )));
    }
    Resolve::Lookup(host.to_owned(), port)
}

/// A `"host:port"` string: a literal socket address, or a name and a port.
fn host_and_port(s: &str) -> Resolve {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Resolve::Ready(Ok(vec![addr]));
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Resolve::Ready(Err(invalid(format!(
            "invalid socket address {s:?}: expected \"host:port\" (no port given)"
        ))));
    };
    match port.parse::<u16>() {
        Ok(port) => host_port(host, port),
        Err(_) => Resolve::Ready(Err(invalid(format!(
            "invalid socket address {s:?}: the port {port:?} is not a number from 0 to 65535"
        )))),
    }
}

/// A `ToSocketAddrs` implementation for a type that converts to a single
/// `SocketAddr`.
macro_rules! known_addr {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {}
        impl ToSocketAddrsPriv for $t {
            fn to_resolve(&self) -> Resolve {
                Resolve::Ready(Ok(vec![SocketAddr::from(*self)]))
            }
        }
    )*};
}

known_addr!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for [SocketAddr] {}
impl ToSocketAddrsPriv for [SocketAddr] {
    fn to_resolve(&self) -> Resolve {
        Resolve::Ready(Ok(self.to_vec()))
    }
}

impl ToSocketAddrs for str {}
impl ToSocketAddrsPriv for str {
    fn to_resolve(&self) -> Resolve {
        host_and_port(self)
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsPriv for String {
    fn to_resolve(&self) -> Resolve {
        host_and_port(self)
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsPriv for (&str, u16) {
    fn to_resolve(&self) -> Resolve {
        host_port(self.0, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsPriv for (String, u16) {
    fn to_resolve(&self) -> Resolve {
        host_port(&self.0, self.1)
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrsPriv + ?Sized> ToSocketAddrsPriv for &T {
    fn to_resolve(&self) -> Resolve {
        (**self).to_resolve()
    }
}

/// Resolves `host` (a host name or address and a port) to socket
/// addresses: a literal IP address at once, a name with the system
/// resolver (`getaddrinfo`, which reads `/etc/hosts` and asks DNS) on the
/// blocking pool, so that a slow resolver never holds a worker. The
/// addresses come in the resolver's order, which is the order `connect`
/// tries them in.
///
/// # Errors
///
/// `InvalidInput` for a string with no port or a bad port, at once; the
/// resolver's error for a name it cannot resolve (a name that does not
/// exist, or no DNS server reachable), naming the host; an error if the
/// runtime shuts down first; `NotFound` outside a runtime.
///
/// # Cancellation
///
/// Dropping the future before the lookup starts on the pool means it never
/// runs; once it runs, `getaddrinfo` finishes on its pool thread (it cannot
/// be interrupted) and its result is dropped.
///
/// # Examples
///
/// ```
/// tasklane::run(async {
///     let addrs: Vec<_> = tasklane::net::lookup_host("localhost:8080").await.unwrap().collect();
///     assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
///     let err = tasklane::net::lookup_host("localhost").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput); // no port
/// });
/// ```
pub async fn lookup_host(
    host: impl ToSocketAddrs,
) -> io::Result<impl Iterator<Item = SocketAddr> + std::fmt::Debug> {
    Ok(resolve(&host).await?.into_iter())
}

/// The addresses `addr` names (at least one), resolving a name on the
/// blocking pool.
pub(super) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    let (addrs, what) = match addr.to_resolve() {
        Resolve::Ready(r) => (r?, None),
        Resolve::Lookup(host, port) => {
            let what = format!("{host}:{port}");
            (getaddrinfo_on_pool(host, port).await?, Some(what))
        }
    };
    if addrs.is_empty() {
        return Err(invalid(match what {
            Some(what) => format!("{what} resolved to no address"),
            None => "an empty list of socket addresses".to_owned(),
        }));
    }
    Ok(addrs)
}

/// Runs the system resolver for `host` on the blocking pool.
async fn getaddrinfo_on_pool(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
    let job = Handle::try_with_current(|h| {
        crate::task::Builder::new()
            .name("tasklane::net::lookup_host")
            .spawn_blocking_on(
                move || {
                    net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                        .map(|addrs| addrs.collect::<Vec<_>>())
                        .map_err(|e| {
                            io::Error::new(e.kind(), format!("could not resolve {host:?}: {e}"))
                        })
                },
                h,
            )
    })
    .ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "tasklane::net: no tasklane runtime here; resolve names inside a runtime",
        )
    })?;
    match job.await {
        Ok(r) => r,
        Err(e) => Err(io::Error::other(format!(
            "tasklane::net: the name lookup did not finish: {e}"
        ))),
    }
}

/// Tries `f` on each address `addr` names, in turn; the first success, or
/// the last error if all fail.
pub(super) async fn each_addr<A, R, F, Fut>(addr: &A, mut f: F) -> io::Result<R>
where
    A: ToSocketAddrs + ?Sized,
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<R>>,
{
    let mut last = None;
    for a in resolve(addr).await? {
        match f(a).await {
            Ok(r) => return Ok(r),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("resolve returns at least one address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(r: Resolve) -> io::Result<Vec<SocketAddr>> {
        match r {
            Resolve::Ready(r) => r,
            Resolve::Lookup(h, p) => panic!("{h}:{p} went to the resolver"),
        }
    }

    #[test]
    fn literal_addresses_need_no_lookup() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(ready("127.0.0.1:80".to_resolve()).unwrap(), [v4]);
        assert_eq!(ready("[::1]:80".to_resolve()).unwrap(), [v6]);
        assert_eq!(ready("::1:80".to_resolve()).unwrap(), [v6]);
        assert_eq!(ready(("127.0.0.1", 80).to_resolve()).unwrap(), [v4]);
        assert_eq!(ready(("::1", 80).to_resolve()).unwrap(), [v6]);
        assert_eq!(ready(("[::1]".to_owned(), 80).to_resolve()).unwrap(), [v6]);
        assert_eq!(ready((v4.ip(), 80).to_resolve()).unwrap(), [v4]);
        assert_eq!(ready([v4, v6][..].to_resolve()).unwrap(), [v4, v6]);
        assert_eq!(ready((&&v6).to_resolve()).unwrap(), [v6]);
    }

    #[test]
    fn names_go_to_the_resolver() {
        match "db.internal:5432".to_resolve() {
            Resolve::Lookup(h, p) => assert_eq!((h.as_str(), p), ("db.internal", 5432)),
            r => panic!("{r:?}"),
        }
        match ("localhost".to_owned(), 0).to_resolve() {
            Resolve::Lookup(h, p) => assert_eq!((h.as_str(), p), ("localhost", 0)),
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn bad_strings_are_invalid_input() {
        for bad in [
            "localhost",
            "localhost:http",
            "localhost:65536",
            ":80",
            "1.2.3.4:-1",
            "",
        ] {
            let e = ready(bad.to_resolve()).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}: {e}");
            assert!(
                e.to_string().contains("invalid socket address"),
                "{bad:?}: {e}"
            );
        }
    }
}

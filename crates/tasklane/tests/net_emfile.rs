//! `accept` when the process is out of descriptors (`EMFILE`): the error is
//! returned (no panic, no hang), the runtime does not spin while a task backs
//! off and retries, and once descriptors are free the pending connection is
//! accepted and the listener keeps working.
//!
//! Alone in its test binary: it lowers `RLIMIT_NOFILE` for the whole
//! process.

mod common;
mod netutil;

use common::rt;
use futures_lite::io::AsyncReadExt;
use netutil::within;
use std::fs::File;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tasklane::net::TcpListener;
use tasklane::time::sleep;

/// The soft and hard `RLIMIT_NOFILE`.
fn nofile_limit() -> libc::rlimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable `rlimit`.
    let r = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    assert_eq!(r, 0, "getrlimit: {}", std::io::Error::last_os_error());
    lim
}

fn set_nofile_limit(lim: &libc::rlimit) {
    // SAFETY: `lim` is a valid `rlimit`.
    let r = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, lim) };
    assert_eq!(r, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// Puts the old descriptor limit back, even if the test fails.
struct RestoreLimit(libc::rlimit);

impl Drop for RestoreLimit {
    fn drop(&mut self) {
        set_nofile_limit(&self.0);
    }
}

/// The highest descriptor number open now.
fn highest_open_fd() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .expect("some descriptor is open")
}

/// CPU time (user + system) the whole process has used.
fn cpu_time() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable `rusage`.
    let r = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(r, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn is_emfile(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::EMFILE)
}

#[test]
fn accept_out_of_descriptors_fails_then_recovers() {
    /// How long the runtime is watched for spinning.
    const WATCH: Duration = Duration::from_millis(200);
    /// The acceptor's back-off between retries.
    const BACKOFF: Duration = Duration::from_millis(20);

    let rt = rt(2);
    let listener = rt
        .block_on(within("bind", TcpListener::bind("127.0.0.1:0")))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    // A client whose connection waits in the listener's backlog.
    let mut first = std::net::TcpStream::connect(addr).unwrap();

    // A limit just above what is open now, then fill every free number
    // below it.
    let old = nofile_limit();
    let _restore = RestoreLimit(old);
    let soft = (highest_open_fd() + 1 + 16).min(old.rlim_max);
    set_nofile_limit(&libc::rlimit {
        rlim_cur: soft,
        rlim_max: old.rlim_max,
    });
    let mut hoard = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(f) => hoard.push(f),
            Err(e) if is_emfile(&e) => break,
            Err(e) => panic!("opening /dev/null: {e}"),
        }
        assert!(hoard.len() < 100_000, "the lowered limit has no effect");
    }

    // The error comes back, twice (an immediate retry fails the same way).
    let listener = Arc::new(listener);
    for attempt in 0..2 {
        let err = rt
            .block_on(within("accept out of descriptors", listener.accept()))
            .expect_err("accepted with no descriptor free");
        assert!(is_emfile(&err), "attempt {attempt}: {err:?}");
    }

    // A task retries with a back-off, as the docs advise. Meanwhile the
    // process uses next to no CPU: nothing spins on the listener's
    // readiness.
    let l = listener.clone();
    let failures = Arc::new(AtomicU32::new(0));
    let f = failures.clone();
    let acceptor = rt.spawn(async move {
        loop {
            match l.accept().await {
                Ok(conn) => return (conn, f.load(Ordering::SeqCst)),
                Err(e) if is_emfile(&e) => {
                    f.fetch_add(1, Ordering::SeqCst);
                    sleep(BACKOFF).await;
                }
                Err(e) => panic!("accept: unexpected error {e:?}"),
            }
        }
    });
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    std::thread::sleep(WATCH); // the measurement window, not a wait for a condition
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    assert!(
        !acceptor.is_finished(),
        "accepted while descriptors were still exhausted"
    );
    eprintln!("CPU time over {wall:?} with the acceptor backing off: {cpu:?}");
    assert!(
        cpu < wall / 2,
        "the process used {cpu:?} of CPU in {wall:?}: something spins"
    );

    // Free the descriptors once the acceptor has met EMFILE (a loaded
    // machine may not have run it yet): the pending connection is then
    // accepted, and works.
    common::spin_until("the acceptor meets EMFILE", || {
        failures.load(Ordering::SeqCst) >= 1
    });
    drop(hoard);
    let ((mut conn, from), failures) = rt
        .block_on(within("accept after recovery", acceptor))
        .unwrap();
    assert!(failures >= 1, "the acceptor never saw EMFILE");
    assert_eq!(from, first.local_addr().unwrap());
    first.write_all(b"first").unwrap();
    let mut buf = [0; 5];
    rt.block_on(within("read", conn.read_exact(&mut buf)))
        .unwrap();
    assert_eq!(&buf, b"first");

    // And the listener accepts a new connection as usual.
    let l = listener.clone();
    let next = rt.spawn(async move { l.accept().await });
    let second = std::net::TcpStream::connect(addr).unwrap();
    let (_, from) = rt
        .block_on(within("accept a new one", next))
        .unwrap()
        .unwrap();
    assert_eq!(from, second.local_addr().unwrap());
}

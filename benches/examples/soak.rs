//! A soak under faults: a hyper HTTP/1.1 server on tasklane, loaded by
//! `wrk` for a given time while the same process injects faults, then
//! checked for leaks and lost work. `benches/soak.sh` builds and runs it
//! (and installs wrk if missing).
//!
//! ```sh
//! cargo run --release -p tasklane-benches --example soak -- --secs 600
//! ```
//!
//! Faults, all at once for the whole run:
//!
//! * **id clients** (threads, blocking sockets) send `GET /id` requests,
//!   each with a unique `x-req-id`, and check the answer names it; one in
//!   eight sends half a request and resets the connection (`SO_LINGER` 0),
//!   one in sixteen asks for `/panic`, whose handler panics;
//! * **slowloris** clients send a header byte every 500 ms and never end
//!   their request: the server's header-read timeout must close them;
//! * a **descriptor burst** every 10 s: connections opened until the
//!   process is out of descriptors (`RLIMIT_NOFILE` is lowered to
//!   [`NOFILE`] at start), held, released; the accept loop must ride out
//!   `EMFILE` and keep serving;
//! * **chaos tasks**: batches of tasks that sleep in a catch point, some
//!   cancelled, some aborted, some panicking, each checked to end as it
//!   should.
//!
//! Every 10 s and at the end it prints live tasks (`Handle::tasks()`), open
//! descriptors (`/proc/self/fd`), RSS (`/proc/self/statm`), requests served
//! and errors. It exits non-zero unless, once the load stops: live tasks
//! are back to the server's own, descriptors back to the baseline, RSS
//! within 10% of its level after warm-up, every worker thread alive and
//! polling, no request answered twice, and nothing unexpected happened.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tasklane::hyper::{Io, TaskPerRequest, Timer};
use tasklane::time::sleep;

/// The soft descriptor limit the soak runs under.
const NOFILE: u64 = 512;
/// How long the server waits for a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// Slowloris connections kept open at once.
const SLOWLORIS: usize = 16;
/// Threads of id clients.
const ID_CLIENTS: usize = 2;
/// How often the figures are printed.
const REPORT_EVERY: Duration = Duration::from_secs(10);
/// The message of every injected panic (the panic hook keeps them quiet).
const INJECTED: &str = "soak: injected panic";

/// Counts kept by the server and the fault injectors.
#[derive(Default)]
struct Stats {
    served: AtomicU64,
    id_sent: AtomicU64,
    id_ok: AtomicU64,
    resets: AtomicU64,
    panics_requested: AtomicU64,
    injected_panics: AtomicU64,
    slowloris_closed: AtomicU64,
    slowloris_max_ms: AtomicU64,
    accept_errors: AtomicU64,
    client_emfile: AtomicU64,
    bursts: AtomicU64,
    chaos_tasks: AtomicU64,
    /// What must not happen; each is described in `problems`.
    errors: AtomicU64,
    problems: Mutex<Vec<String>>,
    /// Answers per request id, counted by the server, for the last
    /// [`ID_WINDOW`] ids (fixed memory, so the count itself cannot make RSS
    /// grow): slot `id % ID_WINDOW` holds `(id, answers)`.
    answers: Mutex<Vec<(u64, u32)>>,
    /// Requests answered more than once.
    twice: AtomicU64,
}

/// Request ids whose answers are counted at once (module docs): an answer
/// repeated more than this many ids later would go unseen, far beyond any
/// retry a connection could make.
const ID_WINDOW: usize = 1 << 16;

impl Stats {
    fn problem(&self, what: String) {
        self.errors.fetch_add(1, Relaxed);
        let mut p = self.problems.lock().unwrap();
        if p.len() < 20 {
            p.push(what);
        }
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res
}

async fn handle(
    stats: Arc<Stats>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    stats.served.fetch_add(1, Relaxed);
    match req.uri().path() {
        "/id" => {
            let id = req
                .headers()
                .get("x-req-id")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            let Some(id) = id else {
                return Ok(text(StatusCode::BAD_REQUEST, "no id".into()));
            };
            {
                let mut answers = stats.answers.lock().unwrap();
                let slot = &mut answers[(id % ID_WINDOW as u64) as usize];
                if slot.0 == id {
                    slot.1 += 1;
                    stats.twice.fetch_add(1, Relaxed);
                } else {
                    *slot = (id, 1);
                }
            }
            Ok(text(StatusCode::OK, id.to_string()))
        }
        "/panic" => {
            stats.injected_panics.fetch_add(1, Relaxed);
            panic!("{INJECTED}: handler");
        }
        _ => Ok(text(StatusCode::OK, "Hello, World!".into())),
    }
}

/// The accept loop: one task per connection; out of descriptors, it
/// backs off and goes on.
async fn serve(listener: tasklane::net::TcpListener, stats: Arc<Stats>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                stats.accept_errors.fetch_add(1, Relaxed);
                sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let stats = stats.clone();
        tasklane::task::Builder::new()
            .name("conn")
            .spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(stats.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(Timer)
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(Io::new(stream), TaskPerRequest::new(service))
                    .await;
            })
            .detach();
    }
}

/// xorshift64: enough to pick faults.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn is_emfile(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

/// Closes `s` with a reset (RST) rather than a FIN.
fn reset(s: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `s` owns a valid socket; `linger` is a valid `linger` of the
    // size passed.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// Reads one HTTP/1.1 response with a `content-length` body; `None` if the
/// connection ended first.
fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(u16, String)> {
    buf.clear();
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
            return Some((status, body));
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// An id client: connections of a few keep-alive requests, with resets
/// and panicking requests mixed in.
fn id_client(addr: SocketAddr, stats: &Stats, stop: &AtomicBool, next_id: &AtomicU64, seed: u64) {
    let mut rng = Rng(seed);
    let mut buf = Vec::new();
    while !stop.load(Relaxed) {
        let mut s = match TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) if is_emfile(&e) => {
                stats.client_emfile.fetch_add(1, Relaxed);
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            // The listen backlog may overflow during a burst.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        for _ in 0..1 + rng.next() % 4 {
            let id = next_id.fetch_add(1, Relaxed);
            let roll = rng.next() % 16;
            if roll < 2 {
                // Half a request, then a reset.
                let _ = s.write_all(b"GET /id HTTP/1.1\r\nHost: soak\r\nx-req-");
                stats.resets.fetch_add(1, Relaxed);
                reset(s);
                break;
            }
            if roll == 2 {
                stats.panics_requested.fetch_add(1, Relaxed);
                let _ = s.write_all(b"GET /panic HTTP/1.1\r\nHost: soak\r\n\r\n");
                // The server fails the request and closes the connection.
                if let Some((status, _)) = read_response(&mut s, &mut buf)
                    && status < 500
                {
                    stats.problem(format!("/panic answered {status}"));
                }
                break;
            }
            stats.id_sent.fetch_add(1, Relaxed);
            let req = format!("GET /id HTTP/1.1\r\nHost: soak\r\nx-req-id: {id}\r\n\r\n");
            if s.write_all(req.as_bytes()).is_err() {
                break;
            }
            match read_response(&mut s, &mut buf) {
                // Answers come in order on a connection: an answer given
                // twice shows up as a body naming an earlier id.
                Some((200, body)) if body == id.to_string() => {
                    stats.id_ok.fetch_add(1, Relaxed);
                }
                Some((status, body)) => {
                    stats.problem(format!("request {id}: answer {status} {body:?}"))
                }
                // The connection ended (a descriptor burst, a shutdown):
                // the request was not answered, which is allowed.
                None => break,
            }
        }
    }
}

/// Slowloris: connections that never finish their headers; the server's
/// header-read timeout must close each.
fn slowloris(addr: SocketAddr, stats: &Stats, stop: &AtomicBool) {
    let mut conns: Vec<(TcpStream, Instant, usize)> = Vec::new();
    const HEAD: &[u8] =
        b"GET / HTTP/1.1\r\nHost: soak\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    while !stop.load(Relaxed) {
        while conns.len() < SLOWLORIS {
            match TcpStream::connect(addr) {
                Ok(s) => {
                    let _ = s.set_nonblocking(true);
                    conns.push((s, Instant::now(), 0));
                }
                Err(e) => {
                    if is_emfile(&e) {
                        stats.client_emfile.fetch_add(1, Relaxed);
                    }
                    break;
                }
            }
        }
        conns.retain_mut(|(s, since, sent)| {
            let mut probe = [0u8; 256];
            let closed = match s.read(&mut probe) {
                Ok(0) => true,
                // hyper may answer 408 before it closes.
                Ok(_) => false,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
                Err(_) => true,
            } || (*sent < HEAD.len() && s.write_all(&HEAD[*sent..*sent + 1]).is_err());
            *sent = (*sent + 1).min(HEAD.len());
            if closed {
                let ms = since.elapsed().as_millis() as u64;
                stats.slowloris_closed.fetch_add(1, Relaxed);
                stats.slowloris_max_ms.fetch_max(ms, Relaxed);
            }
            !closed
        });
        std::thread::sleep(Duration::from_millis(500));
    }
    // Whatever is still open is closed here; it has not been open long
    // enough to be a failure of the timeout (checked above for those the
    // server closed, and by the final descriptor count for the rest).
}

/// Every 10 s: connections until the process is out of descriptors, held
/// for half a second, then closed.
fn burst(addr: SocketAddr, stats: &Stats, stop: &AtomicBool) {
    let mut next = Instant::now() + Duration::from_secs(3);
    while !stop.load(Relaxed) {
        if Instant::now() < next {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        next += Duration::from_secs(10);
        let mut held = Vec::new();
        let mut emfile = false;
        for _ in 0..2 * NOFILE {
            match TcpStream::connect(addr) {
                Ok(s) => held.push(s),
                Err(e) => {
                    emfile = is_emfile(&e);
                    break;
                }
            }
        }
        if emfile {
            stats.client_emfile.fetch_add(1, Relaxed);
        }
        stats.bursts.fetch_add(1, Relaxed);
        std::thread::sleep(Duration::from_millis(500));
        drop(held);
    }
}

/// Batches of tasks that sleep in a catch point; some cancelled, some
/// aborted, some panicking; each must end as it should.
async fn chaos(stats: Arc<Stats>, stop: Arc<AtomicBool>) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    while !stop.load(Relaxed) {
        let mut batch = Vec::new();
        for _ in 0..20 {
            let kind = rng.next() % 4; // 0 run, 1 cancel, 2 abort, 3 panic
            let ms = rng.next() % 20;
            let h = tasklane::task::Builder::new()
                .name("chaos")
                .spawn(async move {
                    if kind == 3 {
                        sleep(Duration::from_millis(ms)).await;
                        panic!("{INJECTED}: chaos task");
                    }
                    match tasklane::task::cancellable(sleep(Duration::from_millis(ms))).await {
                        Ok(()) => 0u8,
                        Err(c) => {
                            // Cleanup with an await, then re-raise.
                            sleep(Duration::from_millis(1)).await;
                            c.reraise().await
                        }
                    }
                });
            stats.chaos_tasks.fetch_add(1, Relaxed);
            batch.push((kind, h));
        }
        sleep(Duration::from_millis(rng.next() % 10)).await;
        for (kind, h) in &batch {
            match kind {
                1 => {
                    h.cancel();
                }
                2 => h.abort(),
                _ => {}
            }
        }
        for (kind, h) in batch {
            let r = h.await;
            let ok = match (kind, &r) {
                (0, Ok(0)) => true,
                // Completion wins a race with cancel.
                (1 | 2, Ok(0)) => true,
                (1 | 2, Err(e)) => e.is_cancelled(),
                (3, Err(e)) => {
                    stats.injected_panics.fetch_add(1, Relaxed);
                    e.is_panic()
                }
                _ => false,
            };
            if !ok {
                stats.problem(format!("chaos task of kind {kind} ended {r:?}"));
            }
        }
    }
}

fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

/// Resident memory, after handing the allocator's free memory back to the
/// system (`malloc_trim`): the peaks of a descriptor burst (hundreds of
/// connections, each with its buffers, at once) leave freed memory cached
/// in glibc's arenas, which is no leak and would hide one.
fn rss_kib() -> Option<u64> {
    // SAFETY: `malloc_trim` has no preconditions.
    unsafe { libc::malloc_trim(0) };
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: `sysconf` has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    Some(pages * page / 1024)
}

fn worker_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
                .filter(|c| c.starts_with("tasklane-worker"))
                .count()
        })
        .unwrap_or(0)
}

fn report(t: Duration, handle: &tasklane::Handle, stats: &Stats) {
    let show = |v: Option<u64>| v.map_or("?".to_owned(), |v| v.to_string());
    println!(
        "t={:>4}s tasks={:>4} fds={:>4} rss={:>7} KiB served={:>9} id_ok={:>7} resets={:>5} \
         panics={:>5} slowloris_closed={:>4} accept_errors={:>5} bursts={:>3} chaos={:>7} errors={}",
        t.as_secs(),
        handle.tasks().len(),
        show(open_fds().map(|n| n as u64)),
        show(rss_kib()),
        stats.served.load(Relaxed),
        stats.id_ok.load(Relaxed),
        stats.resets.load(Relaxed),
        stats.injected_panics.load(Relaxed),
        stats.slowloris_closed.load(Relaxed),
        stats.accept_errors.load(Relaxed),
        stats.bursts.load(Relaxed),
        stats.chaos_tasks.load(Relaxed),
        stats.errors.load(Relaxed),
    );
}

fn set_nofile(soft: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable `rlimit`.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    lim.rlim_cur = soft.min(lim.rlim_max);
    // SAFETY: `lim` is a valid `rlimit`.
    let r = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(r, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(default)
}

fn main() -> ExitCode {
    let secs = arg("--secs", 30).max(10);
    let conns = arg("--conns", 32);
    let workers = arg("--workers", 2) as usize;
    let wrk = std::env::var("WRK").unwrap_or_else(|_| "wrk".to_owned());

    // Injected panics are counted, not printed; any other panic is.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if !msg.starts_with(INJECTED) {
            default_hook(info);
        }
    }));
    set_nofile(NOFILE);

    let rt = tasklane::Runtime::builder()
        .worker_threads(workers)
        .build()
        .expect("runtime");
    let handle = rt.handle();
    let stats = Arc::new(Stats::default());
    *stats.answers.lock().unwrap() = vec![(0, 0); ID_WINDOW];
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = std_listener.local_addr().unwrap();
    let server = {
        let stats = stats.clone();
        rt.spawn(async move {
            let listener = tasklane::net::TcpListener::from_std(std_listener).expect("listener");
            serve(listener, stats).await;
        })
    };
    // The server's own tasks (the accept loop) and descriptors, at rest.
    std::thread::sleep(Duration::from_millis(200));
    let own_tasks = handle.tasks().len();
    let base_fds = open_fds().expect("/proc/self/fd");
    let polls_before: Vec<u64> = handle
        .metrics()
        .workers()
        .iter()
        .map(|w| w.polls())
        .collect();
    println!(
        "soak: {secs} s, wrk -c{conns} on http://{addr}/, {workers} workers, RLIMIT_NOFILE {NOFILE}; \
         at rest: {own_tasks} tasks, {base_fds} descriptors"
    );

    let start = Instant::now();
    let mut wrk = match Command::new(&wrk)
        .args(["-t1", &format!("-c{conns}"), &format!("-d{secs}s")])
        .arg(format!("http://{addr}/"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("soak: cannot run {wrk}: {e} (benches/soak.sh installs it)");
            return ExitCode::FAILURE;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let next_id = Arc::new(AtomicU64::new(1));
    let mut threads = Vec::new();
    for i in 0..ID_CLIENTS {
        let (stats, stop, next_id) = (stats.clone(), stop.clone(), next_id.clone());
        threads.push(std::thread::spawn(move || {
            id_client(addr, &stats, &stop, &next_id, 0x1234_5678 + i as u64)
        }));
    }
    {
        let (stats, stop) = (stats.clone(), stop.clone());
        threads.push(std::thread::spawn(move || slowloris(addr, &stats, &stop)));
    }
    {
        let (stats, stop) = (stats.clone(), stop.clone());
        threads.push(std::thread::spawn(move || burst(addr, &stats, &stop)));
    }
    let chaos_task = rt.spawn(chaos(stats.clone(), stop.clone()));

    // Figures every 10 s while wrk runs; RSS after warm-up is the first
    // figure taken at a third of the run or later.
    let warm_at = Duration::from_secs(secs / 3);
    let mut warm_rss = None;
    let mut next_report = REPORT_EVERY;
    let wrk_out = loop {
        if let Some(_status) = wrk.try_wait().expect("wrk") {
            break wrk.wait_with_output().expect("wrk output");
        }
        if start.elapsed() >= next_report {
            report(start.elapsed(), &handle, &stats);
            if warm_rss.is_none() && start.elapsed() >= warm_at {
                warm_rss = rss_kib();
            }
            next_report += REPORT_EVERY;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    stop.store(true, Relaxed);
    for t in threads {
        t.join().expect("a fault thread panicked");
    }
    if let Err(e) = rt.block_on(chaos_task) {
        stats.problem(format!("the chaos task ended {e:?}"));
    }
    let wrk_text = String::from_utf8_lossy(&wrk_out.stdout);
    let wrk_summary: Vec<&str> = wrk_text
        .lines()
        .filter(|l| l.contains("Requests/sec") || l.contains("requests in") || l.contains("errors"))
        .map(str::trim)
        .collect();

    // The load has stopped: wait (up to a deadline) for the server to
    // return to rest.
    let settle = Instant::now();
    let (mut tasks, mut fds) = (usize::MAX, usize::MAX);
    while settle.elapsed() < HEADER_TIMEOUT + Duration::from_secs(10) {
        tasks = handle.tasks().len();
        fds = open_fds().unwrap_or(usize::MAX);
        if tasks == own_tasks && fds == base_fds {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let end_rss = rss_kib();
    report(start.elapsed(), &handle, &stats);
    println!("wrk: {}", wrk_summary.join("; "));

    let mut failures = Vec::new();
    if tasks != own_tasks {
        let names: Vec<String> = handle
            .tasks()
            .iter()
            .take(10)
            .map(|t| t.name().to_owned())
            .collect();
        failures.push(format!(
            "live tasks {tasks}, not the server's own {own_tasks} ({names:?})"
        ));
    }
    if fds != base_fds {
        failures.push(format!(
            "open descriptors {fds}, not the baseline {base_fds}"
        ));
    }
    match (warm_rss, end_rss) {
        (Some(w), Some(e)) if e * 10 > w * 11 => {
            failures.push(format!("RSS grew from {w} KiB after warm-up to {e} KiB"))
        }
        (Some(_), Some(_)) => {}
        _ => failures.push("RSS was not read".to_owned()),
    }
    if worker_threads() != workers {
        failures.push(format!(
            "{} worker threads alive, not {workers}",
            worker_threads()
        ));
    }
    let polls_after: Vec<u64> = handle
        .metrics()
        .workers()
        .iter()
        .map(|w| w.polls())
        .collect();
    if polls_after.iter().zip(&polls_before).any(|(a, b)| a <= b) {
        failures.push(format!(
            "a worker stopped polling: {polls_before:?} -> {polls_after:?}"
        ));
    }
    let twice = stats.twice.load(Relaxed);
    if twice > 0 {
        failures.push(format!("{twice} requests answered more than once"));
    }
    let max_slow = stats.slowloris_max_ms.load(Relaxed);
    if stats.slowloris_closed.load(Relaxed) == 0 {
        failures.push("no slowloris connection was closed by the server".to_owned());
    } else if max_slow > (HEADER_TIMEOUT + Duration::from_secs(3)).as_millis() as u64 {
        failures.push(format!("a slowloris connection lived {max_slow} ms"));
    }
    if stats.bursts.load(Relaxed) == 0 || stats.client_emfile.load(Relaxed) == 0 {
        failures.push("no descriptor burst reached EMFILE".to_owned());
    }
    if stats.id_ok.load(Relaxed) == 0 || stats.served.load(Relaxed) == 0 {
        failures.push("no request was served".to_owned());
    }
    for p in stats.problems.lock().unwrap().iter() {
        failures.push(p.clone());
    }
    server.cancel();
    let report = rt.shutdown(Duration::from_secs(5));
    println!(
        "summary: served {}, id requests {} of {} answered (each once), resets {}, panics {} \
         (requested {}), slowloris closed {} (longest {} ms), accept errors {}, client EMFILE {}, \
         bursts {}, chaos tasks {}; shutdown {:?}",
        stats.served.load(Relaxed),
        stats.id_ok.load(Relaxed),
        stats.id_sent.load(Relaxed),
        stats.resets.load(Relaxed),
        stats.injected_panics.load(Relaxed),
        stats.panics_requested.load(Relaxed),
        stats.slowloris_closed.load(Relaxed),
        max_slow,
        stats.accept_errors.load(Relaxed),
        stats.client_emfile.load(Relaxed),
        stats.bursts.load(Relaxed),
        stats.chaos_tasks.load(Relaxed),
        report,
    );
    if failures.is_empty() {
        println!("soak: PASS");
        ExitCode::SUCCESS
    } else {
        for f in &failures {
            println!("soak: FAIL: {f}");
        }
        ExitCode::FAILURE
    }
}

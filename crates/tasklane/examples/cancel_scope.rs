//! Cancel scopes and movable deadlines: trio's `CancelScope`, asyncio's
//! `asyncio.timeout(..)` with `reschedule`.
//!
//! 1. **An idle timeout on a connection.** A TCP echo server on localhost
//!    serves each connection inside `time::timeout_with(IDLE, ..)`, and
//!    moves the deadline `IDLE` ahead on every message. A client sends a
//!    few messages, each well within the limit but together longer than
//!    it, then goes quiet: the handler's catch point receives the timeout,
//!    says goodbye on the socket (cleanup that awaits), and re-raises; the
//!    server logs the connection as idle after every message was echoed.
//! 2. **An operator cancelling one scope of many.** Three workers each run
//!    their jobs inside a `CancelScope` of their own. Worker 1's second job
//!    hangs (an upstream that never answers); an operator task, seeing it
//!    stuck, cancels worker 1's scope only. Its catch point saves its
//!    progress and re-raises; `run` returns `Err(Cancelled)` and the worker
//!    task goes on to report. Workers 0 and 2 finish every job.
//!
//! Run it with `cargo run --example cancel_scope`. It checks what it prints
//! and exits non-zero on a wrong result.

use futures_lite::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use std::future::pending;
use std::time::Duration;
use tasklane::CancelScope;
use tasklane::net::{TcpListener, TcpStream};
use tasklane::task::cancellable;
use tasklane::time::{Instant, sleep, timeout_with};

/// How long a connection may stay silent.
const IDLE: Duration = Duration::from_millis(150);
/// Messages the client sends, one every `GAP`: together longer than `IDLE`.
const MESSAGES: usize = 6;
const GAP: Duration = Duration::from_millis(40);
const BYE: &str = "idle for too long, bye\n";

/// Serves one connection: echoes each line, with an idle timeout moved
/// forward on every message. Returns how many messages it echoed, and
/// whether it ended idle.
async fn serve(mut stream: TcpStream) -> (usize, bool) {
    let mut echoed = 0;
    let (stream, count) = (&mut stream, &mut echoed);
    let r = timeout_with(IDLE, |idle| async move {
        let mut buf = [0; 1024];
        loop {
            match cancellable(stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(n)) => {
                    stream.write_all(&buf[..n]).await.expect("echo");
                    *count += 1;
                    idle.reschedule(Instant::now() + IDLE);
                }
                Err(cancelled) => {
                    // The idle timeout: cleanup may await.
                    let _ = stream.write_all(BYE.as_bytes()).await;
                    cancelled.reraise().await
                }
            }
        }
    })
    .await;
    (echoed, r.is_err())
}

async fn idle_timeout_demo() {
    println!("== an idle timeout, rescheduled on every message");
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let server = tasklane::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        serve(stream).await
    });

    let stream = TcpStream::connect(addr).await.expect("connect");
    let mut lines = BufReader::new(stream);
    let started = Instant::now();
    for i in 0..MESSAGES {
        sleep(GAP).await;
        let msg = format!("message {i}\n");
        lines.get_mut().write_all(msg.as_bytes()).await.unwrap();
        let mut echo = String::new();
        lines.read_line(&mut echo).await.unwrap();
        print!("client got back: {echo}");
        assert_eq!(echo, msg);
    }
    // Quiet now: the server says goodbye and closes.
    let mut rest = String::new();
    lines.read_to_string(&mut rest).await.unwrap();
    let lasted = started.elapsed();
    print!("client got: {rest}");
    assert_eq!(rest, BYE);

    let (echoed, idle) = server.await.unwrap();
    println!("server: {echoed} messages echoed, ended idle: {idle}");
    assert_eq!(echoed, MESSAGES);
    assert!(idle);
    // Longer than one idle period: the deadline moved with each message.
    assert!(lasted >= GAP * MESSAGES as u32 + IDLE, "{lasted:?}");
    println!("the connection lasted more than {MESSAGES} gaps plus the idle limit");
}

/// Runs `jobs` jobs; job `hangs_at`, if any, never finishes. Each job is a
/// catch point: a cancellation of the worker's scope lands there.
async fn worker(
    id: usize,
    jobs: usize,
    hangs_at: Option<usize>,
    stuck: tasklane::sync::Sender<usize>,
) -> usize {
    let mut done = 0;
    for job in 0..jobs {
        let work = async {
            if hangs_at == Some(job) {
                let _ = stuck.send(id).await;
                pending::<()>().await;
            }
            sleep(Duration::from_millis(5)).await;
        };
        if let Err(cancelled) = cancellable(work).await {
            println!("worker {id}: cancelled in job {job}, saving {done} finished jobs");
            sleep(Duration::from_millis(2)).await; // save progress, say
            cancelled.reraise().await
        }
        done += 1;
    }
    done
}

async fn operator_demo() {
    println!("== an operator cancels one scope of three");
    const JOBS: usize = 4;
    let scopes: Vec<CancelScope> = (0..3).map(|_| CancelScope::new()).collect();
    let (stuck_tx, stuck_rx) = tasklane::sync::bounded(1);
    let workers: Vec<_> = scopes
        .iter()
        .enumerate()
        .map(|(id, scope)| {
            let scope = scope.clone();
            let hangs_at = (id == 1).then_some(1);
            let stuck = stuck_tx.clone();
            tasklane::spawn(async move {
                let r = scope.run(worker(id, JOBS, hangs_at, stuck)).await;
                // The task goes on after its scope, cancelled or not.
                match &r {
                    Ok(n) => println!("worker {id}: finished {n} jobs"),
                    Err(_) => println!("worker {id}: its scope was cancelled"),
                }
                r.ok()
            })
        })
        .collect();
    drop(stuck_tx);

    let operator = {
        let scopes = scopes.clone();
        tasklane::spawn(async move {
            let id = stuck_rx.recv().await.expect("a worker reports it is stuck");
            println!("operator: worker {id} is stuck, cancelling its scope");
            scopes[id].cancel();
        })
    };
    operator.await.unwrap();

    let mut results = Vec::new();
    for w in workers {
        results.push(w.await.unwrap());
    }
    println!("results: {results:?}");
    assert_eq!(results, [Some(JOBS), None, Some(JOBS)]);
    assert!(!scopes[0].is_cancelled() && scopes[1].is_cancelled() && !scopes[2].is_cancelled());
}

fn main() {
    tasklane::run(async {
        idle_timeout_demo().await;
        operator_demo().await;
    });
    println!("ok");
}

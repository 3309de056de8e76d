//! `signal::ctrl_c()` with real signals: SIGINT and SIGTERM sent to the
//! process resolve it; one signal reaches every `ctrl_c` future alive; a
//! signal that comes while none is alive is dropped, without ending the
//! process, and is not seen by a later call.
//!
//! Alone in its test binary: the signals go to the whole process. The tests
//! take turns (`SERIAL`), so that one test's signal never reaches another's
//! futures.

mod common;

use common::rt;
use futures_lite::future::poll_once;
use std::io;
use std::pin::pin;
use std::sync::{Mutex, MutexGuard, mpsc};
use std::time::Duration;
use tasklane::Runtime;
use tasklane::signal::ctrl_c;
use tasklane::task::JoinHandle;

/// How long a delivered signal may take to resolve the futures, at most
/// (it normally takes microseconds).
const CAP: Duration = Duration::from_secs(5);

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Spawns a task that awaits `ctrl_c()`, and returns once that future has
/// been polled (so the handlers are installed and it is listening).
fn armed(rt: &Runtime) -> JoinHandle<io::Result<()>> {
    let (tx, rx) = mpsc::channel();
    let task = rt.spawn(async move {
        let mut signal = pin!(ctrl_c());
        if let Some(r) = poll_once(signal.as_mut()).await {
            return r; // only a setup error can end it this early
        }
        tx.send(()).unwrap();
        signal.await
    });
    rx.recv_timeout(CAP)
        .expect("the ctrl_c task was never polled, or failed to install its handler");
    task
}

/// Sends `sig` to the whole process from a new thread, as `kill` would.
fn send_from_another_thread(sig: libc::c_int) {
    std::thread::spawn(move || {
        // SAFETY: plain system calls with valid arguments.
        let r = unsafe { libc::kill(libc::getpid(), sig) };
        assert_eq!(r, 0, "kill: {}", io::Error::last_os_error());
    })
    .join()
    .unwrap();
}

/// Waits (at most `CAP`) for `task` to finish, and checks it saw a signal.
fn expect_resolved(rt: &Runtime, task: JoinHandle<io::Result<()>>, what: &str) {
    match rt.block_on(tasklane::wait_for(task, CAP)) {
        Ok(r) => r
            .expect("the ctrl_c task failed")
            .unwrap_or_else(|e| panic!("{what}: ctrl_c returned an error: {e}")),
        Err(_) => panic!("{what}: ctrl_c did not resolve within {CAP:?}"),
    }
}

#[test]
fn sigint_resolves_ctrl_c() {
    let _turn = serial();
    let rt = rt(2);
    let task = armed(&rt);
    send_from_another_thread(libc::SIGINT);
    expect_resolved(&rt, task, "SIGINT");
}

#[test]
fn sigterm_resolves_ctrl_c() {
    let _turn = serial();
    let rt = rt(2);
    let task = armed(&rt);
    send_from_another_thread(libc::SIGTERM);
    expect_resolved(&rt, task, "SIGTERM");
}

/// Three futures alive (in tasks, and one in `block_on`) all resolve on
/// one signal.
#[test]
fn one_signal_reaches_every_live_ctrl_c() {
    let _turn = serial();
    let rt = rt(2);
    let tasks: Vec<_> = (0..3).map(|_| armed(&rt)).collect();
    let (tx, rx) = mpsc::channel();
    let in_block_on = std::thread::scope(|s| {
        let rt = &rt;
        let h = s.spawn(move || {
            rt.block_on(async move {
                let mut signal = pin!(ctrl_c());
                assert!(poll_once(signal.as_mut()).await.is_none());
                tx.send(()).unwrap();
                tasklane::wait_for(signal, CAP).await
            })
        });
        rx.recv_timeout(CAP).expect("block_on never polled ctrl_c");
        send_from_another_thread(libc::SIGINT);
        h.join().unwrap()
    });
    in_block_on
        .expect("ctrl_c in block_on did not resolve")
        .unwrap();
    for (i, t) in tasks.into_iter().enumerate() {
        expect_resolved(&rt, t, &format!("future {i}"));
    }
}

/// With no `ctrl_c` future alive, SIGINT and SIGTERM do not end the
/// process (the handlers stay from the first call on) and are dropped: a
/// later call does not see them, only the next signal.
#[test]
fn a_signal_while_nobody_listens_is_dropped() {
    let _turn = serial();
    let rt = rt(2);
    // Install the handlers (and see them work) first.
    let task = armed(&rt);
    send_from_another_thread(libc::SIGINT);
    expect_resolved(&rt, task, "SIGINT");

    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: raising a signal whose handler is installed. `raise`
        // runs it on this thread before returning.
        assert_eq!(unsafe { libc::raise(sig) }, 0);
    }
    let task = armed(&rt);
    let early = rt.block_on(async {
        let mut task = task;
        let r = tasklane::wait_for(&mut task, Duration::from_millis(100)).await;
        (r.is_ok(), task)
    });
    let (resolved, task) = early;
    assert!(!resolved, "ctrl_c saw a signal sent before it was called");
    send_from_another_thread(libc::SIGTERM);
    expect_resolved(&rt, task, "SIGTERM after the dropped ones");
}

//! `signal::unix::signal` with real signals: SIGHUP and SIGUSR1 sent to the
//! process reach every listener of their kind and no other; signals
//! coalesce; a cancelled `recv` loses nothing; SIGCHLD from a child; bad
//! signal numbers are clear errors; a listener outlives its runtime as
//! `None`.
//!
//! Alone in its test binary: the signals go to the whole process. The tests
//! take turns (`SERIAL`), so that one test's signal never reaches another's
//! listeners.

mod common;

use common::rt;
use futures_lite::future::poll_once;
use std::io::{self, ErrorKind};
use std::pin::pin;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tasklane::Runtime;
use tasklane::signal::unix::{Signal, SignalKind, signal};
use tasklane::task::JoinHandle;

/// How long a delivered signal may take to reach a listener, at most (it
/// normally takes microseconds): only turns a hang into a failure.
const CAP: Duration = Duration::from_secs(10);

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends `sig` to the whole process from a new thread, as `kill` from
/// outside would: any thread may run the handler.
fn kill_from_another_thread(sig: libc::c_int) {
    std::thread::spawn(move || {
        // SAFETY: plain system calls with valid arguments.
        let r = unsafe { libc::kill(libc::getpid(), sig) };
        assert_eq!(r, 0, "kill: {}", io::Error::last_os_error());
    })
    .join()
    .unwrap();
}

/// Raises `sig` on this thread: the handler has run when it returns.
fn raise(sig: libc::c_int) {
    // SAFETY: raising a signal whose handler the caller installed.
    assert_eq!(unsafe { libc::raise(sig) }, 0);
}

/// A listener for `kind`, made inside `rt`; it hears signals from here on.
fn listener(rt: &Runtime, kind: SignalKind) -> Signal {
    rt.block_on(async { signal(kind) })
        .unwrap_or_else(|e| panic!("signal({kind:?}): {e}"))
}

/// A task that receives once on `sig` and hands the listener back.
fn receive_once(rt: &Runtime, mut sig: Signal) -> JoinHandle<(Option<()>, Signal)> {
    rt.spawn(async move {
        let r = sig.recv().await;
        (r, sig)
    })
}

/// Waits (at most `CAP`) for `task` and checks it heard its signal.
fn expect_heard(rt: &Runtime, task: JoinHandle<(Option<()>, Signal)>, what: &str) -> Signal {
    match rt.block_on(tasklane::wait_for(task, CAP)) {
        Ok(Ok((Some(()), sig))) => sig,
        Ok(Ok((None, _))) => panic!("{what}: recv returned None"),
        Ok(Err(e)) => panic!("{what}: the task failed: {e}"),
        Err(_) => panic!("{what}: no signal within {CAP:?}"),
    }
}

/// `sig` has nothing to deliver right now.
fn assert_quiet(rt: &Runtime, sig: &mut Signal, what: &str) {
    let r = rt.block_on(poll_once(sig.recv()));
    assert_eq!(r, None, "{what}: a signal was delivered that should not be");
}

/// Two listeners of `kind`, waiting in tasks, both hear one signal sent
/// from another thread, and both hear a second one raised on this thread;
/// a listener of `other` hears neither.
fn two_listeners_hear_each_signal(kind: SignalKind, other: SignalKind) {
    let _turn = serial();
    let rt = rt(2);
    let mut bystander = listener(&rt, other);
    let mut a = listener(&rt, kind);
    let mut b = listener(&rt, kind);
    for round in 0..2 {
        let (ta, tb) = (receive_once(&rt, a), receive_once(&rt, b));
        if round == 0 {
            kill_from_another_thread(kind.as_raw_value());
        } else {
            raise(kind.as_raw_value());
        }
        a = expect_heard(&rt, ta, &format!("{kind:?} listener a, round {round}"));
        b = expect_heard(&rt, tb, &format!("{kind:?} listener b, round {round}"));
    }
    assert_quiet(&rt, &mut bystander, &format!("{other:?} after {kind:?}"));
}

#[test]
fn sighup_reaches_two_listeners() {
    two_listeners_hear_each_signal(SignalKind::hangup(), SignalKind::user_defined1());
}

#[test]
fn sigusr1_reaches_two_listeners() {
    two_listeners_hear_each_signal(SignalKind::user_defined1(), SignalKind::user_defined2());
}

/// Three signals before a `recv` make one `recv` return, not three; the
/// next `recv` waits for a new signal.
#[test]
fn signals_coalesce() {
    let _turn = serial();
    let rt = rt(2);
    let mut sig = listener(&rt, SignalKind::user_defined2());
    for _ in 0..3 {
        raise(libc::SIGUSR2);
    }
    let heard = rt.block_on(tasklane::wait_for(sig.recv(), CAP));
    assert_eq!(heard, Ok(Some(())));
    assert_quiet(&rt, &mut sig, "after one recv took three SIGUSR2");
    raise(libc::SIGUSR2);
    assert_eq!(
        rt.block_on(tasklane::wait_for(sig.recv(), CAP)),
        Ok(Some(()))
    );
}

/// A `recv` suspended and then dropped takes nothing: the signal that
/// arrives after it is dropped is seen by the next `recv`. So is one that
/// arrives while it is suspended, if it is dropped before it runs again.
#[test]
fn a_cancelled_recv_loses_no_signal() {
    let _turn = serial();
    let rt = rt(2);
    let mut sig = listener(&rt, SignalKind::hangup());
    rt.block_on(async {
        {
            let mut recv = pin!(sig.recv());
            assert_eq!(poll_once(recv.as_mut()).await, None);
        }
        raise(libc::SIGHUP);
        assert_eq!(tasklane::wait_for(sig.recv(), CAP).await, Ok(Some(())));

        {
            let mut recv = pin!(sig.recv());
            assert_eq!(poll_once(recv.as_mut()).await, None);
            // Arrives (and wakes `recv`) while it is suspended; dropped
            // before it is polled again.
            raise(libc::SIGHUP);
        }
        assert_eq!(tasklane::wait_for(sig.recv(), CAP).await, Ok(Some(())));
    });
}

/// A child process that exits raises SIGCHLD, which a `child()` listener
/// hears.
#[test]
fn sigchld_when_a_child_exits() {
    let _turn = serial();
    let rt = rt(2);
    let mut sig = listener(&rt, SignalKind::child());
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("run `true`");
    let heard = rt.block_on(tasklane::wait_for(sig.recv(), CAP));
    assert_eq!(heard, Ok(Some(())), "no SIGCHLD from an exiting child");
    assert!(child.wait().unwrap().success());
}

/// With every listener of SIGHUP dropped, a SIGHUP does not end the
/// process (it stays caught, and is dropped); a new listener does not see
/// it, only the next one.
#[test]
fn a_signal_with_no_listener_is_dropped() {
    let _turn = serial();
    let rt = rt(2);
    drop(listener(&rt, SignalKind::hangup()));
    raise(libc::SIGHUP); // would end the process if it were not caught
    let mut sig = listener(&rt, SignalKind::hangup());
    assert_quiet(&rt, &mut sig, "a SIGHUP sent before the listener existed");
    raise(libc::SIGHUP);
    assert_eq!(
        rt.block_on(tasklane::wait_for(sig.recv(), CAP)),
        Ok(Some(()))
    );
}

/// Signals that cannot be caught, numbers that are no signal, and the C
/// library's reserved ones are `InvalidInput` errors that say why.
#[test]
fn bad_signals_are_clear_errors() {
    let _turn = serial();
    let rt = rt(1);
    rt.block_on(async {
        for (sig, name) in [
            (libc::SIGKILL, "SIGKILL"),
            (libc::SIGSTOP, "SIGSTOP"),
            (libc::SIGSEGV, "SIGSEGV"),
            (libc::SIGILL, "SIGILL"),
            (libc::SIGFPE, "SIGFPE"),
        ] {
            let e = signal(SignalKind::from_raw(sig)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name}: {e}");
            assert!(e.to_string().contains(name), "{name}: {e}");
        }
        for sig in [0, -1, libc::SIGRTMAX() + 1, 10_000, 32] {
            let e = signal(SignalKind::from_raw(sig)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{sig}: {e}");
            assert!(e.to_string().contains(&sig.to_string()), "{sig}: {e}");
        }
    });
    // A real-time signal is fine.
    let mut rt_sig = listener(&rt, SignalKind::from_raw(libc::SIGRTMIN() + 1));
    raise(libc::SIGRTMIN() + 1);
    assert_eq!(
        rt.block_on(tasklane::wait_for(rt_sig.recv(), CAP)),
        Ok(Some(()))
    );
}

/// Outside a runtime, `signal` is an error, not a panic.
#[test]
fn outside_a_runtime_is_an_error() {
    let _turn = serial();
    let e = signal(SignalKind::user_defined1()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

/// A listener whose runtime has shut down returns `None`: no signal can
/// reach it any more.
#[test]
fn recv_after_the_runtime_is_gone_is_none() {
    let _turn = serial();
    let first = rt(1);
    let mut sig = listener(&first, SignalKind::user_defined1());
    drop(first);
    let other = rt(1);
    let r = other.block_on(tasklane::wait_for(sig.recv(), CAP));
    assert_eq!(r, Ok(None));
}

//! A daemon's signal handling, asyncio's `loop.add_signal_handler` for
//! several signals: SIGHUP reloads the configuration, SIGUSR1 prints
//! statistics (heard by two listeners: the statistics printer and an audit
//! log), SIGTERM ends the program.
//!
//! Each signal is a `tasklane::signal::unix::Signal` awaited by a task of
//! its own; nothing runs inside the signal handler.
//!
//! ```sh
//! cargo run --example signal_reload            # then: kill -HUP <pid>, kill -USR1 <pid>, kill -TERM <pid>
//! cargo run --example signal_reload -- --self-test
//! ```
//!
//! With `--self-test` it sends itself SIGHUP twice, SIGUSR1 once and then
//! SIGTERM, waiting after each for the tasks to report it heard, and exits
//! with an error unless each listener heard what it should.

use std::process::ExitCode;
use tasklane::signal::unix::{SignalKind, signal};

/// What the listener tasks report to `main`.
#[derive(Debug, PartialEq)]
enum Event {
    Reloaded(u32),
    Stats,
    Audited,
}

fn send_self(sig: libc::c_int) {
    // SAFETY: kill(2) on our own pid with a valid signal number, whose
    // handler is installed (the listeners exist before any is sent).
    let rc = unsafe { libc::kill(libc::getpid(), sig) };
    assert_eq!(rc, 0, "kill failed");
}

fn main() -> ExitCode {
    let self_test = std::env::args().any(|a| a == "--self-test");
    tasklane::run(async move {
        let (tx, rx) = async_channel::unbounded();

        // Made here, before any signal can be sent: each hears from now on.
        let mut hup = signal(SignalKind::hangup()).expect("SIGHUP listener");
        let mut usr1_stats = signal(SignalKind::user_defined1()).expect("SIGUSR1 listener");
        let mut usr1_audit = signal(SignalKind::user_defined1()).expect("SIGUSR1 listener");
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM listener");

        let t = tx.clone();
        let reloader = tasklane::spawn(async move {
            let mut generation = 0;
            while hup.recv().await.is_some() {
                generation += 1;
                println!("SIGHUP: configuration reloaded (generation {generation})");
                t.send(Event::Reloaded(generation)).await.unwrap();
            }
        });
        let t = tx.clone();
        let stats = tasklane::spawn(async move {
            while usr1_stats.recv().await.is_some() {
                let tasks = tasklane::Handle::current().tasks().len();
                println!("SIGUSR1: {tasks} tasks alive");
                t.send(Event::Stats).await.unwrap();
            }
        });
        let audit = tasklane::spawn(async move {
            while usr1_audit.recv().await.is_some() {
                println!("SIGUSR1: audit log notes a statistics request");
                tx.send(Event::Audited).await.unwrap();
            }
        });

        if self_test {
            let mut heard = Vec::new();
            for (sig, expect) in [(libc::SIGHUP, 1), (libc::SIGHUP, 1), (libc::SIGUSR1, 2)] {
                send_self(sig);
                for _ in 0..expect {
                    heard.push(rx.recv().await.unwrap());
                }
            }
            heard[2..].sort_by_key(|e| matches!(e, Event::Audited));
            let want = [
                Event::Reloaded(1),
                Event::Reloaded(2),
                Event::Stats,
                Event::Audited,
            ];
            if heard != want {
                eprintln!("heard {heard:?}, expected {want:?}");
                return ExitCode::FAILURE;
            }
            send_self(libc::SIGTERM);
        } else {
            println!(
                "pid {}: kill -HUP to reload, -USR1 for statistics, -TERM to stop",
                std::process::id()
            );
        }

        term.recv().await;
        println!("SIGTERM: stopping");
        for t in [reloader, stats, audit] {
            t.cancel();
        }
        ExitCode::SUCCESS
    })
}

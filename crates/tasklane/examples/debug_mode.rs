//! Debug mode: each mistake it warns about, provoked once, and the warning
//! printed (target `tasklane::debug`). The example checks that all four
//! were reported, and exits with an error if one was not.
//!
//! ```sh
//! cargo run -p tasklane --example debug_mode
//! ```
//!
//! The same warnings come from any program run with `TASKLANE_DEBUG=1`.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tasklane::Runtime;
use tasklane::task::{self, TaskState, cancellable};
use tasklane::time::sleep;

/// Everything the subscriber writes, kept to check, and echoed to stdout.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        std::io::stdout().write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn main() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_target(true)
        .without_time()
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");

    let rt = Runtime::builder()
        .worker_threads(2)
        .debug(true)
        .cancel_warn_after(Duration::from_millis(100))
        .build()
        .expect("runtime");
    let h = rt.handle();

    println!("1. a task that swallows its cancellation and completes");
    let swallower = task::Builder::new().name("swallower").spawn_on(
        async {
            match cancellable(sleep(Duration::from_secs(30))).await {
                Ok(()) => "slept",
                Err(_) => "caught it, and returned a value",
            }
        },
        &h,
    );
    wait_until("suspended", || swallower.state() == TaskState::Suspended);
    swallower.cancel();
    println!("   -> {}", rt.block_on(swallower).unwrap());

    println!("2. a catch point the delivery cannot reach (held aside, as by a select! arm)");
    let held = task::Builder::new().name("held-aside").spawn_on(
        async {
            let mut aside = Box::pin(cancellable(std::future::pending::<()>()));
            let _ = futures_lite::future::poll_once(aside.as_mut()).await;
            sleep(Duration::from_secs(30)).await;
        },
        &h,
    );
    wait_until("suspended", || held.state() == TaskState::Suspended);
    held.cancel();
    println!("   -> {}", rt.block_on(held).unwrap_err());

    println!("3. a detached task that panics");
    // One line for the panic, not the default hook's report.
    std::panic::set_hook(Box::new(|info| println!("   (panicked: {info})")));
    let panicky = task::Builder::new()
        .name("detached-panic")
        .spawn_on(async { panic!("nobody will see this") }, &h);
    let r = panicky.task_ref();
    panicky.detach();
    wait_until("ended", || r.state() == TaskState::Panicked);

    println!("4. a cancellation that cannot be delivered: the task blocks its worker");
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let stuck = task::Builder::new().name("stuck").spawn_on(
        async move {
            let _ = rx.recv();
        },
        &h,
    );
    wait_until("running", || stuck.state() == TaskState::Running);
    stuck.cancel();
    wait_until("the warning", || {
        String::from_utf8_lossy(&log.0.lock().unwrap()).contains("has not been delivered")
    });
    println!("   dump while it waits:\n{}", h.dump());
    tx.send(()).unwrap();
    let _ = rt.block_on(stuck);
    drop(rt);

    let out = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
    let expected = [
        ("swallower", "swallowed a cancellation"),
        ("held-aside", "none polled during its delivery"),
        ("detached-panic", "nobody retrieved the panic"),
        ("stuck", "has not been delivered"),
    ];
    let mut missing = Vec::new();
    for (task, warning) in expected {
        let found = out
            .lines()
            .any(|l| l.contains("tasklane::debug") && l.contains(task) && l.contains(warning));
        if !found {
            missing.push(task);
        }
    }
    if !missing.is_empty() {
        eprintln!("debug mode did not report: {missing:?}");
        std::process::exit(1);
    }
    println!("all four mistakes were reported");
}

//! An idle runtime makes no system calls: once its work is done, no thread
//! of it wakes up (no periodic tick of the workers, the driver or the
//! monitor that watches for stuck workers). Checked with the kernel's
//! per-thread context-switch counts: a thread that sleeps and is never
//! woken switches no more.

mod common;
use std::time::{Duration, Instant};

/// Context switches of this process's runtime threads (named `tasklane-*`).
fn runtime_switches() -> (usize, u64) {
    let mut threads = 0;
    let mut switches = 0;
    for entry in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let dir = entry.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue; // the thread ended meanwhile
        };
        if !comm.starts_with("tasklane-") {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(dir.join("status")) else {
            continue;
        };
        threads += 1;
        for line in status.lines() {
            if let Some(v) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                switches += v.trim().parse::<u64>().unwrap();
            }
        }
    }
    (threads, switches)
}

#[test]
fn an_idle_runtime_does_not_wake_up() {
    let rt = common::rt(2);
    // Some work first (tasks, a timer, a stuck poll that the monitor
    // watches), so that every thread has run and the monitor is awake.
    rt.block_on(async {
        let h = tasklane::spawn(async {
            std::thread::sleep(Duration::from_millis(5));
        });
        tasklane::time::sleep(Duration::from_millis(2)).await;
        h.await.unwrap();
    });
    // The monitor sleeps a few ticks after the runtime goes idle. Wait for
    // the counts to settle (a deadline turns a runtime that never settles
    // into a failure).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = runtime_switches();
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = runtime_switches();
        if now == last {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the runtime's threads kept waking up: {last:?} then {now:?} (threads, switches)"
        );
        last = now;
    }
    // Three threads: two workers and the monitor.
    assert_eq!(last.0, 3, "runtime threads");
    // Idle now: half a second more without a single switch.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(runtime_switches(), last, "an idle runtime woke up");
    // And it still works afterwards (the monitor is woken again).
    assert_eq!(
        rt.block_on(async { tasklane::spawn(async { 7 }).await })
            .unwrap(),
        7
    );
}

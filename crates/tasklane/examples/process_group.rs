//! Child processes under a deadline: a `TaskGroup` runs three commands,
//! `wait_for` gives the group 1.5 s, and the slow one is killed when the
//! deadline cancels it.
//!
//! 1. `sh -c 'sleep 0.05; echo a'` and `sh -c 'sleep 0.1; echo b'` finish
//!    in time; each child task records its output as it ends.
//! 2. `sleep 30` would not: when the deadline expires, `wait_for` cancels
//!    the group's `join`, the group cancels its children, and the slow
//!    child's task drops its `Child`, built with `kill_on_drop(true)`:
//!    SIGKILL, then the runtime reaps it.
//! 3. The example checks both outputs, that the deadline (not the slow
//!    command) ended the wait, and that the slow child's pid is no longer
//!    a process of ours, not even a zombie (read from `/proc`).
//!
//! Run it with `cargo run --example process_group`; it exits non-zero on a
//! wrong result.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tasklane::TaskGroup;
use tasklane::process::Command;
use tasklane::time::{Instant, sleep};

/// How long the group gets.
const DEADLINE: Duration = Duration::from_millis(1500);

type Log = Arc<Mutex<Vec<(String, String)>>>;

/// Runs `sh -c script`, and records its output under `name` once it ends.
async fn run(name: &'static str, script: &'static str, log: Log) -> io::Result<()> {
    let out = Command::new("sh")
        .args(["-c", script])
        .kill_on_drop(true)
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("    {name}: exited {}, printed {stdout:?}", out.status);
    log.lock().unwrap().push((name.to_owned(), stdout));
    Ok(())
}

/// `Some(state)` while `pid` is a child of this process (running, or a
/// zombie not yet reaped); `None` once it is gone.
fn our_child_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid: u32 = fields.next()?.parse().ok()?;
    (ppid == std::process::id()).then_some(state)
}

#[tasklane::main]
async fn main() {
    let log = Log::default();
    let slow_pid = Arc::new(Mutex::new(None));

    println!("three commands in a task group, {DEADLINE:?} for all of them:");
    let start = Instant::now();
    let mut group: TaskGroup<(), io::Error> = TaskGroup::new();
    group.spawn_named("a", run("a", "sleep 0.05; echo a", log.clone()));
    group.spawn_named("b", run("b", "sleep 0.1; echo b", log.clone()));
    let pid_slot = slow_pid.clone();
    group.spawn_named("slow", async move {
        let mut child = Command::new("sleep").arg("30").kill_on_drop(true).spawn()?;
        *pid_slot.lock().unwrap() = child.id();
        println!("    slow: sleep 30 started as pid {:?}", child.id());
        child.wait().await?; // cancelled here by the deadline
        println!("    slow: finished (it should have been killed)");
        Ok(())
    });
    let outcome = tasklane::wait_for(group.join(), DEADLINE).await;
    let waited = start.elapsed();
    println!("  wait_for returned after {waited:?}: {outcome:?}");

    assert!(outcome.is_err(), "the deadline must end the wait");
    assert!(
        waited >= DEADLINE && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    let mut done = log.lock().unwrap().clone();
    done.sort();
    assert_eq!(
        done,
        [("a".into(), "a\n".into()), ("b".into(), "b\n".into())],
        "the two fast commands finished in time, and only they"
    );

    let pid = slow_pid.lock().unwrap().expect("the slow child started");
    let give_up = Instant::now() + Duration::from_secs(10);
    while let Some(state) = our_child_state(pid) {
        assert!(
            Instant::now() < give_up,
            "pid {pid} still ours (state {state}) 10 s after the deadline"
        );
        sleep(Duration::from_millis(5)).await;
    }
    println!("  the slow child (pid {pid}) was killed and reaped: no process, no zombie");
    println!("ok");
}

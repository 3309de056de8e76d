//! Task identity and lifecycle as seen from outside and inside: names, ids,
//! `task::current()`, and `state()` at each step of asyncio's lifecycle.

mod common;

use common::{occupy_worker, rt, spin_until};
use futures_channel::oneshot;
use std::collections::HashSet;
use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::sync::mpsc;
use tasklane::task::{self, TaskId, TaskInfo, TaskState};

#[test]
fn named_tasks_keep_their_names() {
    let rt = rt(2);
    let _entered = rt.enter();
    let h = task::Builder::new()
        .name("data-fetch-01")
        .spawn(async { task::current().map(|i| i.name().to_owned()) });
    assert_eq!(h.name(), "data-fetch-01");
    let mut h = h;
    assert_eq!(
        rt.block_on(&mut h).unwrap().as_deref(),
        Some("data-fetch-01")
    );
    assert_eq!(h.name(), "data-fetch-01", "the name outlives the task");

    let owned = String::from("worker-") + "7";
    let h = task::Builder::new().name(owned).spawn(async {});
    assert_eq!(h.name(), "worker-7");
    rt.block_on(h).unwrap();
}

#[test]
fn unnamed_tasks_are_called_task_id() {
    let rt = rt(2);
    let h = rt.spawn(async { task::current().unwrap() });
    let expected = format!("Task-{}", h.id());
    assert_eq!(h.name(), expected);
    let mut h = h;
    let info = rt.block_on(&mut h).unwrap();
    assert_eq!(info.name(), expected);
    assert_eq!(info.id(), h.id());

    let h = task::Builder::new().spawn_on(async {}, &rt.handle());
    assert_eq!(h.name(), format!("Task-{}", h.id()));
    rt.block_on(h).unwrap();
}

#[test]
fn ids_are_unique_across_ten_thousand_tasks() {
    let rt = rt(2);
    // Half spawned from this thread, half from tasks on the workers (each
    // thread takes ids from its own block).
    let mut handles: Vec<_> = (0..5_000).map(|_| rt.spawn(async {})).collect();
    let spawners: Vec<_> = (0..10)
        .map(|_| {
            rt.spawn(async {
                (0..500)
                    .map(|_| tasklane::spawn(async {}))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for s in spawners {
        handles.extend(rt.block_on(s).unwrap());
    }
    assert_eq!(handles.len(), 10_000);
    let ids: HashSet<TaskId> = handles.iter().map(|h| h.id()).collect();
    assert_eq!(ids.len(), 10_000, "every id distinct");
    let u64s: HashSet<u64> = ids.iter().map(|id| id.as_u64()).collect();
    assert_eq!(u64s.len(), 10_000);
    for h in handles {
        rt.block_on(h).unwrap();
    }
}

#[test]
fn current_gives_the_running_task() {
    let rt = rt(2);
    assert!(task::current().is_none(), "none outside any runtime");
    let mut h = task::Builder::new()
        .name("me")
        .spawn_on(async { task::current() }, &rt.handle());
    let seen = rt.block_on(&mut h).unwrap().expect("some inside a task");
    assert_eq!(seen.id(), h.id());
    assert_eq!(seen.name(), "me");

    // Across a suspension, possibly resumed on the other worker.
    let mut h = rt.spawn(async {
        let before = task::current().unwrap();
        for _ in 0..10 {
            tasklane::yield_now().await;
        }
        (before, task::current().unwrap())
    });
    let (before, after) = rt.block_on(&mut h).unwrap();
    assert_eq!(before, after);
    assert_eq!(before.id(), h.id());

    // Not a task: the future driven by block_on, or a plain thread.
    assert!(rt.block_on(async { task::current() }).is_none());
    let plain = rt
        .block_on(rt.spawn(async { std::thread::spawn(task::current).join().unwrap() }))
        .unwrap();
    assert!(plain.is_none());
    assert!(task::current().is_none());
}

#[test]
fn current_in_a_nested_spawn_is_the_child() {
    let rt = rt(2);
    let (parent, child) = rt
        .block_on(rt.spawn(async {
            let me = task::current().unwrap().id();
            let mut child = tasklane::spawn(async { task::current().unwrap().id() });
            let seen = (&mut child).await.unwrap();
            assert_eq!(seen, child.id());
            assert_eq!(
                task::current().unwrap().id(),
                me,
                "restored after the await"
            );
            (me, seen)
        }))
        .unwrap();
    assert_ne!(parent, child);
}

#[test]
fn current_inside_a_blocking_job_is_that_job() {
    let rt = rt(1);
    let mut h = {
        let _entered = rt.enter();
        tasklane::spawn_blocking(task::current)
    };
    let info = rt
        .block_on(&mut h)
        .unwrap()
        .expect("a blocking job is a task");
    assert_eq!(info.id(), h.id());
    assert_eq!(info.name(), h.name());
}

/// asyncio runs a cancelled task's `finally` blocks inside that task, where
/// `current_task()` still names it; Rust's `finally` is `Drop`.
#[test]
fn current_inside_the_destructor_of_a_cancelled_future() {
    struct Report(Option<mpsc::Sender<Option<TaskInfo>>>);
    impl Drop for Report {
        fn drop(&mut self) {
            self.0.take().unwrap().send(task::current()).unwrap();
        }
    }
    let rt = rt(2);
    let (tx, rx) = mpsc::channel();
    let report = Report(Some(tx));
    let mut h = task::Builder::new().name("cleaner").spawn_on(
        async move {
            let _r = report;
            std::future::pending::<()>().await;
        },
        &rt.handle(),
    );
    spin_until("task suspended", || h.state() == TaskState::Suspended);
    assert!(h.cancel());
    assert!(rt.block_on(&mut h).unwrap_err().is_cancelled());
    let seen = rx
        .recv()
        .unwrap()
        .expect("current() inside the task's own cleanup");
    assert_eq!(seen.id(), h.id());
    assert_eq!(seen.name(), "cleaner");
}

#[test]
fn task_id_is_copy_eq_hash_display() {
    fn assert_traits<T: Copy + Eq + Hash + Display + Debug + Send + Sync + 'static>() {}
    assert_traits::<TaskId>();
    let rt = rt(1);
    let h = rt.spawn(async {});
    let id = h.id();
    let copy = id;
    assert_eq!(id, copy);
    assert_eq!(id.to_string(), id.as_u64().to_string());
    assert!(format!("{id:?}").contains(&id.to_string()));
    rt.block_on(h).unwrap();
    assert_eq!(id, copy, "still usable after the task ended");
}

#[test]
fn state_follows_the_lifecycle() {
    let rt = rt(1);

    // Scheduled: queued behind a task that holds the only worker.
    let (gate, blocker) = occupy_worker(&rt);
    let (in_poll_tx, in_poll_rx) = mpsc::channel::<()>();
    let (resume_tx, resume_rx) = mpsc::channel::<()>();
    let (value_tx, value_rx) = oneshot::channel::<u32>();
    let mut h = rt.spawn(async move {
        in_poll_tx.send(()).unwrap();
        resume_rx.recv().unwrap();
        value_rx.await.unwrap()
    });
    assert_eq!(h.state(), TaskState::Scheduled);
    assert!(!h.is_finished());
    gate.open();

    // Running: observed while the task holds its worker inside a poll.
    in_poll_rx.recv().unwrap();
    assert_eq!(h.state(), TaskState::Running);
    resume_tx.send(()).unwrap();

    // Suspended: waiting for the value.
    spin_until("task suspended", || h.state() == TaskState::Suspended);
    assert!(!h.is_finished());

    // Woken, then Completed.
    value_tx.send(5).unwrap();
    assert_eq!(rt.block_on(&mut h).unwrap(), 5);
    assert_eq!(h.state(), TaskState::Completed);
    assert!(h.is_finished() && !h.is_cancelled());
    rt.block_on(blocker).unwrap();

    // Panicked and Cancelled end states.
    let mut p = rt.spawn(async { panic!("for the state") });
    assert!(rt.block_on(&mut p).unwrap_err().is_panic());
    assert_eq!(p.state(), TaskState::Panicked);
    let mut c = rt.spawn(std::future::pending::<()>());
    c.abort();
    assert!(rt.block_on(&mut c).unwrap_err().is_cancelled());
    assert_eq!(c.state(), TaskState::Cancelled);
}

/// A task sees itself `Running` through its own handle, handed to it after
/// the spawn.
#[test]
fn a_task_sees_itself_running() {
    let rt = rt(2);
    let (handle_tx, handle_rx) = oneshot::channel();
    let (report_tx, report_rx) = oneshot::channel();
    let h = rt.spawn(async move {
        let me: task::JoinHandle<()> = handle_rx.await.unwrap();
        report_tx.send(me.state()).unwrap();
        me.detach();
    });
    handle_tx.send(h).unwrap();
    assert_eq!(rt.block_on(report_rx).unwrap(), TaskState::Running);
}

#[test]
fn task_state_helpers() {
    let done = [
        TaskState::Completed,
        TaskState::Panicked,
        TaskState::Cancelled,
    ];
    let live = [
        TaskState::Scheduled,
        TaskState::Running,
        TaskState::Suspended,
    ];
    assert!(done.iter().all(|s| s.is_done()));
    assert!(live.iter().all(|s| !s.is_done()));
    assert_eq!(TaskState::Suspended.to_string(), "suspended");
    assert_eq!(TaskState::Completed.to_string(), "completed");
}

//! What a `tracing` subscriber sees of tasks (spans, lifecycle events;
//! slow polls are in `slow_poll.rs`), the task dump, and the metrics.
//!
//! Each test runs its runtime under a scoped capturing subscriber
//! (`tracing::subscriber::with_default`), which the runtime passes on to
//! its worker threads, so tests running in parallel do not see each
//! other's events.

#[path = "common/capture.rs"]
mod capture;

use capture::{Capture, EventRec, rt};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tasklane::task;
use tracing::Level;

#[test]
fn every_poll_of_a_task_runs_inside_its_span() {
    let cap = Capture::default();
    let id = cap.run(|| {
        let rt = rt(2, Duration::from_millis(100));
        rt.block_on(async {
            let t = task::Builder::new().name("traced").spawn(async {
                for i in 0..3 {
                    tracing::info!(step = i, "inside");
                    tasklane::yield_now().await;
                }
            });
            let id = t.id();
            t.await.unwrap();
            id
        })
    });
    let spans: Vec<_> = cap
        .spans()
        .into_iter()
        .filter(|s| s.name == "task" && s.fields.get("name") == Some("traced"))
        .collect();
    assert_eq!(spans.len(), 1, "one span per task");
    assert_eq!(spans[0].fields.get("id"), Some(id.to_string().as_str()));
    assert!(
        spans[0]
            .fields
            .get("spawned_at")
            .unwrap()
            .contains("observability.rs")
    );
    let inside: Vec<_> = cap
        .events()
        .into_iter()
        .filter(|e| e.fields.get("message") == Some("inside"))
        .collect();
    assert_eq!(inside.len(), 3);
    for e in inside {
        assert_eq!(e.span_task.as_deref(), Some("traced"), "{e:?}");
    }
}

#[test]
fn a_task_spawned_inside_another_records_its_parent() {
    let cap = Capture::default();
    cap.run(|| {
        let rt = rt(2, Duration::from_millis(100));
        rt.block_on(async {
            let parent = task::Builder::new().name("parent").spawn(async {
                let child = task::Builder::new().name("child").spawn(async {
                    task::Builder::new()
                        .name("grandchild")
                        .spawn(async {})
                        .await
                        .unwrap();
                });
                child.await.unwrap();
            });
            parent.await.unwrap();
            // Outside any task, the span current at the spawn is the parent.
            let request = tracing::info_span!("request");
            let orphan =
                request.in_scope(|| task::Builder::new().name("in-request").spawn(async {}));
            orphan.await.unwrap();
        });
    });
    let parent_of = |name: &str| {
        let spans = cap.spans();
        let s = spans
            .iter()
            .find(|s| s.name == "task" && s.fields.get("name") == Some(name))
            .unwrap_or_else(|| panic!("no span for {name}"));
        s.parent.clone()
    };
    assert_eq!(parent_of("parent"), None);
    assert_eq!(parent_of("child").as_deref(), Some("parent"));
    assert_eq!(parent_of("grandchild").as_deref(), Some("child"));
    assert_eq!(parent_of("in-request").as_deref(), Some("request"));
}

#[test]
fn spawn_completion_cancellation_and_panic_are_events() {
    let cap = Capture::default();
    cap.run(|| {
        let rt = rt(2, Duration::from_millis(100));
        rt.block_on(async {
            let ok = task::Builder::new().name("ok").spawn(async {
                tasklane::time::sleep(Duration::from_millis(20)).await;
                1
            });
            let stuck = task::Builder::new()
                .name("stuck")
                .spawn(std::future::pending::<()>());
            let boom = task::Builder::new().name("boom").spawn(async {
                tasklane::yield_now().await;
                panic!("kaboom");
            });
            assert_eq!(ok.await.unwrap(), 1);
            tasklane::yield_now().await;
            stuck.cancel();
            assert!(stuck.await.unwrap_err().is_cancelled());
            assert!(boom.await.unwrap_err().is_panic());
        });
    });
    let events: Vec<_> = cap
        .events()
        .into_iter()
        .filter(|e| e.target == "tasklane::task")
        .collect();
    let of = |name: &str| -> Vec<&EventRec> {
        events
            .iter()
            .filter(|e| e.fields.get("name") == Some(name))
            .collect()
    };
    for (name, end, level) in [
        ("ok", "completed", Level::DEBUG),
        ("stuck", "cancelled", Level::DEBUG),
        ("boom", "panicked", Level::WARN),
    ] {
        let evs = of(name);
        let messages: Vec<_> = evs
            .iter()
            .map(|e| e.fields.get("message").unwrap())
            .collect();
        assert_eq!(messages, ["spawned", end], "{name}: {evs:#?}");
        let last = evs[1];
        assert_eq!(last.level, level);
        assert_eq!(
            last.span_task.as_deref(),
            Some(name),
            "inside the task's span"
        );
        for f in ["lifetime", "running", "polls", "id"] {
            assert!(last.fields.get(f).is_some(), "{name}: no {f}");
        }
    }
    let ok_end = of("ok")[1];
    // It slept 20 ms: its lifetime covers that, its running time does not.
    assert!(ok_end.fields.get("lifetime").unwrap().ends_with("ms"));
    assert_eq!(ok_end.fields.get("polls"), Some("2"));
    assert_eq!(of("boom")[1].fields.get("panic"), Some("kaboom"));
}

#[test]
fn the_dump_lists_exactly_the_live_tasks() {
    let rt = rt(2, Duration::from_millis(100));
    let h = rt.handle();
    let live = rt.block_on(async {
        let done: Vec<_> = (0..3)
            .map(|i| {
                task::Builder::new()
                    .name(format!("done-{i}"))
                    .spawn(async {})
            })
            .collect();
        for d in done {
            d.await.unwrap();
        }
        let live: Vec<_> = (0..5)
            .map(|i| {
                task::Builder::new()
                    .name(format!("live-{i}"))
                    .spawn(std::future::pending::<()>())
            })
            .collect();
        // Let each live task be polled once (they then stay suspended); the
        // poll count goes up as a poll starts, so wait for the state too.
        while h
            .tasks()
            .iter()
            .any(|t| t.polls() == 0 || t.state() != task::TaskState::Suspended)
        {
            tasklane::yield_now().await;
        }
        live
    });
    let dump = h.dump();
    let mut names: Vec<_> = dump.tasks().iter().map(|t| t.name().to_owned()).collect();
    names.sort();
    assert_eq!(names, ["live-0", "live-1", "live-2", "live-3", "live-4"]);
    let ids: Vec<_> = dump.tasks().iter().map(|t| t.id()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "in id order");
    let text = dump.to_string();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("5 live tasks:"));
    for (line, t) in lines.zip(dump.tasks()) {
        assert!(line.starts_with("  <Task suspended name='live-"), "{line}");
        assert!(line.contains(&format!("id={}", t.id())), "{line}");
        assert!(line.contains("polls=1"), "{line}");
        assert!(line.contains("running="), "{line}");
        assert!(
            line.contains("spawned at crates/tasklane/tests/observability.rs:"),
            "{line}"
        );
    }
    for t in &live {
        t.cancel();
    }
    rt.block_on(async {
        for t in live {
            assert!(t.await.unwrap_err().is_cancelled());
        }
    });
    assert_eq!(h.dump().to_string(), "0 live tasks");
}

#[test]
fn metrics_count_the_steals_of_a_workload_that_must_steal() {
    const CHILDREN: usize = 64;
    let rt = rt(2, Duration::from_secs(10));
    let h = rt.handle();
    let before = h.metrics();
    assert_eq!(before.workers().len(), 2);
    let ran = Arc::new(AtomicUsize::new(0));
    let stolen_all = rt.block_on({
        let ran = ran.clone();
        rt.spawn(async move {
            // Children go to this worker's queue (the last to its LIFO
            // slot); this task then holds the worker until the others have
            // run, which only the other worker, stealing, can do.
            for _ in 0..CHILDREN {
                let ran = ran.clone();
                tasklane::spawn(async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                })
                .detach();
            }
            let deadline = Instant::now() + Duration::from_secs(20);
            while ran.load(Ordering::SeqCst) < CHILDREN - 1 {
                assert!(Instant::now() < deadline, "the other worker never stole");
                std::hint::spin_loop();
            }
            true
        })
    });
    assert!(stolen_all.unwrap());
    // Poll counts are published every MAINTENANCE_INTERVAL ticks and when
    // a worker parks:
    // wait (on that condition, with a deadline) until both went idle.
    let deadline = Instant::now() + Duration::from_secs(20);
    let after = loop {
        let m = h.metrics();
        if m.total_polls() - before.total_polls() > CHILDREN as u64 {
            break m;
        }
        assert!(Instant::now() < deadline, "polls never published:\n{m}");
        std::thread::yield_now();
    };
    assert!(
        after.total_steals() >= 1,
        "a workload that cannot run without stealing counted no steal:\n{after}"
    );
    // The workers slept before the workload came (and count it).
    assert!(after.workers().iter().map(|w| w.parks()).sum::<u64>() >= 1);
    let shown = after.to_string();
    assert!(
        shown.starts_with("worker      polls     steals      parks  queue\n"),
        "{shown}"
    );
    assert!(shown.contains("injector queue"), "{shown}");
}

#[test]
fn queue_depths_and_blocking_threads_are_read_live() {
    let rt = rt(1, Duration::from_secs(10));
    let h = rt.handle();
    let gate = Arc::new(std::sync::Barrier::new(2));
    let release = Arc::new(std::sync::Barrier::new(2));
    let blocking = h.spawn_blocking({
        let (gate, release) = (gate.clone(), release.clone());
        move || {
            gate.wait();
            release.wait();
        }
    });
    gate.wait();
    let m = h.metrics();
    assert!(m.blocking_threads() >= 1, "{m}");
    // The one worker is held inside a poll; tasks spawned from outside pile
    // up in the injector.
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let holder = rt.spawn(async move {
        held_tx.send(()).unwrap();
        go_rx.recv().unwrap();
    });
    held_rx.recv().unwrap();
    let queued: Vec<_> = (0..10).map(|_| rt.spawn(async {})).collect();
    let m = h.metrics();
    assert_eq!(
        m.injector_depth() + m.workers()[0].local_queue_depth(),
        10,
        "{m}"
    );
    assert!(m.live_tasks() >= 12, "{m}");
    go_tx.send(()).unwrap();
    release.wait();
    rt.block_on(async {
        holder.await.unwrap();
        for q in queued {
            q.await.unwrap();
        }
        blocking.await.unwrap();
    });
    let m = h.metrics();
    assert_eq!(m.injector_depth(), 0);
    assert_eq!(m.workers()[0].local_queue_depth(), 0);
}

/// A subscriber that panics on every span entry and event on a runtime
/// worker thread.
struct Panicky;

fn on_worker() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|n| n.starts_with("tasklane-worker"))
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Panicky {
    fn on_enter(&self, _: &tracing::span::Id, _: tracing_subscriber::layer::Context<'_, S>) {
        assert!(!on_worker(), "subscriber panics on enter");
    }
    fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        assert!(!on_worker(), "subscriber panics on every event");
    }
}

#[test]
fn a_panicking_subscriber_never_takes_down_a_worker() {
    use tracing_subscriber::layer::SubscriberExt;
    // A worker killed by the panic would leave block_on waiting forever:
    // run the body on its own thread and fail if it does not finish.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let body = std::thread::spawn(move || {
        let subscriber = tracing_subscriber::registry().with(Panicky);
        tracing::subscriber::with_default(subscriber, run_tasks_under_a_panicking_subscriber);
        done_tx.send(()).unwrap();
    });
    match done_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => body.join().unwrap(),
        Err(_) => panic!("the runtime stopped running tasks under a panicking subscriber"),
    }
}

fn run_tasks_under_a_panicking_subscriber() {
    // Every poll is a slow poll (threshold zero): its report panics too,
    // as do entering the task's span and its end event.
    let rt = rt(1, Duration::ZERO);
    let h = rt.handle();
    for round in 0..20u32 {
        let task = h.spawn(async move {
            tasklane::yield_now().await;
            std::thread::sleep(Duration::from_millis(1));
            round
        });
        assert_eq!(rt.block_on(task).unwrap(), round);
    }
    assert_eq!(h.num_tasks(), 0, "every task ended");
}

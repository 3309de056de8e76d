//! A poll longer than the slow-poll threshold is a `tracing` WARN naming
//! the task, once; a task that yields often is never reported. (A file of
//! its own, so that no other test's busy workers share the machine with it:
//! the report is about wall time.)

#[path = "common/capture.rs"]
mod capture;

use capture::{Capture, rt};
use std::time::{Duration, Instant};
use tasklane::task;
use tracing::Level;

#[test]
fn a_slow_poll_is_reported_once_by_name_and_a_polite_task_is_not() {
    let cap = Capture::default();
    cap.run(|| {
        let rt = rt(2, Duration::from_millis(100));
        rt.block_on(async {
            let blocker = task::Builder::new().name("blocker").spawn(async {
                // One poll that blocks its worker for 200 ms.
                std::thread::sleep(Duration::from_millis(200));
            });
            let polite = task::Builder::new().name("polite").spawn(async {
                // 200 ms of work too, in 2 ms slices with a yield between.
                for _ in 0..100 {
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_millis(2) {
                        std::hint::spin_loop();
                    }
                    tasklane::yield_now().await;
                }
            });
            let brief = task::Builder::new().name("brief").spawn(async {
                // Under the threshold: 20 ms in one poll.
                std::thread::sleep(Duration::from_millis(20));
            });
            blocker.await.unwrap();
            polite.await.unwrap();
            brief.await.unwrap();
        });
    });
    let slow: Vec<_> = cap
        .events()
        .into_iter()
        .filter(|e| e.target == "tasklane::slow_poll")
        .collect();
    assert_eq!(slow.len(), 1, "exactly one slow poll: {slow:#?}");
    let e = &slow[0];
    assert_eq!(e.level, Level::WARN);
    assert_eq!(e.fields.get("name"), Some("blocker"));
    let ms: u64 = e.fields.get("duration_ms").unwrap().parse().unwrap();
    // The coarse clock ticks every few ms; the poll took at least 200 ms.
    assert!((190..2_000).contains(&ms), "duration {ms} ms");
    let worker: usize = e.fields.get("worker").unwrap().parse().unwrap();
    let thread = e.thread.as_deref().unwrap();
    assert_eq!(
        thread,
        format!("tasklane-worker-{worker}"),
        "reported by the worker that ran it"
    );
    assert!(e.fields.get("message").unwrap().contains("'blocker'"));
}

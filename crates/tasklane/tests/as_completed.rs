//! `as_completed`: a stream of the handles' results in the order their
//! tasks finish; cancelled and panicked tasks are items too; dropping the
//! stream cancels the tasks not yet yielded, and only those.

mod common;

use common::{in_task_watched, yield_until};
use futures_channel::oneshot;
use futures_lite::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tasklane::as_completed;
use tasklane::task::{CancelCause, TaskState, cancellable};
use tasklane::time::sleep;

/// Never expires during a test.
const LONG: Duration = Duration::from_secs(60);

#[test]
fn results_come_in_completion_order() {
    in_task_watched(async {
        let mut gates = Vec::new();
        let mut handles = Vec::new();
        for i in 0..5u32 {
            let (open, gate) = oneshot::channel::<()>();
            gates.push(Some(open));
            handles.push(tasklane::spawn(async move {
                gate.await.unwrap();
                i
            }));
        }
        let mut stream = as_completed(handles);
        assert_eq!(futures_core::Stream::size_hint(&stream), (5, Some(5)));
        for i in [2usize, 4, 0, 3, 1] {
            gates[i].take().unwrap().send(()).unwrap();
            assert_eq!(stream.next().await.unwrap().unwrap(), i as u32);
        }
        assert!(stream.is_empty());
        assert!(stream.next().await.is_none());
        assert!(stream.next().await.is_none(), "stays ended");
    });
}

#[test]
fn no_handles_is_an_empty_stream() {
    in_task_watched(async {
        let mut stream = as_completed(Vec::<tasklane::task::JoinHandle<()>>::new());
        assert!(stream.next().await.is_none());
    });
}

#[test]
fn cancelled_and_panicked_tasks_are_items() {
    in_task_watched(async {
        let waiting = Arc::new(AtomicUsize::new(0));
        let w = waiting.clone();
        let cancelled = tasklane::spawn(async move {
            w.fetch_add(1, Ordering::SeqCst);
            sleep(LONG).await;
            "slept"
        });
        let panicked = tasklane::spawn(async {
            panic!("task failed");
        });
        let fine = tasklane::spawn(async { "fine" });
        let cancelled_id = cancelled.id();
        let panicked_id = panicked.id();
        yield_until(|| waiting.load(Ordering::SeqCst) == 1).await;
        cancelled.cancel_with("not needed");
        let results: Vec<_> = as_completed([cancelled, panicked, fine]).collect().await;
        assert_eq!(results.len(), 3);
        let mut seen = 0;
        for r in results {
            match r {
                Ok(v) => {
                    assert_eq!(v, "fine");
                    seen |= 1;
                }
                Err(e) if e.is_panic() => {
                    assert_eq!(e.id(), panicked_id);
                    seen |= 2;
                }
                Err(e) => {
                    assert!(e.is_cancelled());
                    assert_eq!(e.id(), cancelled_id);
                    assert_eq!(e.cancel_message(), Some("not needed"));
                    seen |= 4;
                }
            }
        }
        assert_eq!(seen, 7);
    });
}

#[test]
fn dropping_the_stream_cancels_the_tasks_not_yielded() {
    in_task_watched(async {
        let waiting = Arc::new(AtomicUsize::new(0));
        let causes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for _ in 0..3 {
            let (w, causes) = (waiting.clone(), causes.clone());
            handles.push(tasklane::spawn(async move {
                w.fetch_add(1, Ordering::SeqCst);
                if let Err(c) = cancellable(sleep(LONG)).await {
                    causes.lock().unwrap().push(c.cause());
                    c.reraise().await
                }
            }));
        }
        let refs: Vec<_> = handles.iter().map(|h| h.task_ref()).collect();
        let quick = tasklane::spawn(async {});
        let quick_ref = quick.task_ref();
        handles.push(quick);
        yield_until(|| waiting.load(Ordering::SeqCst) == 3).await;
        let mut stream = as_completed(handles);
        // The quick one is yielded; the three sleepers are not.
        stream.next().await.unwrap().unwrap();
        assert_eq!(stream.len(), 3);
        drop(stream);
        yield_until(|| refs.iter().all(|r| r.state() == TaskState::Cancelled)).await;
        assert_eq!(quick_ref.state(), TaskState::Completed);
        assert_eq!(*causes.lock().unwrap(), vec![CancelCause::HandleDropped; 3]);
    });
}

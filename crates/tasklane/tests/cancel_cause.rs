//! Why a task was cancelled: `Cancelled::cause()` at the catch point and
//! `JoinError::cancel_cause()` on the handle, for every way a cancellation
//! starts, and `cancel_with(msg)`'s message at both.

mod common;

use common::{rt, spin_until, yield_until};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use tasklane::TaskGroup;
use tasklane::task::{CancelCause, TaskState, cancellable};
use tasklane::time::sleep;

const LONG: Duration = Duration::from_secs(30);

/// A task that waits in a catch point, reports what it caught, then
/// re-raises it.
async fn catcher(tx: mpsc::Sender<(CancelCause, Option<String>)>) {
    if let Err(c) = cancellable(sleep(LONG)).await {
        let _ = tx.send((c.cause(), c.message().map(str::to_owned)));
        c.reraise().await
    }
}

#[test]
fn cancel_is_requested_and_reaches_the_join_error() {
    let rt = rt(2);
    let (tx, rx) = mpsc::channel();
    let h = rt.spawn(catcher(tx));
    spin_until("suspended", || h.state() == TaskState::Suspended);
    assert!(h.cancel());
    assert_eq!(rx.recv().unwrap(), (CancelCause::Requested, None));
    let err = rt.block_on(h).unwrap_err();
    assert_eq!(err.cancel_cause(), Some(CancelCause::Requested));
    assert_eq!(err.cancel_message(), None);
}

#[test]
fn cancel_with_carries_its_message_to_the_catch_point_and_the_error() {
    let rt = rt(2);
    let (tx, rx) = mpsc::channel();
    let h = rt.spawn(catcher(tx));
    spin_until("suspended", || h.state() == TaskState::Suspended);
    assert!(h.cancel_with("client went away"));
    assert_eq!(
        rx.recv().unwrap(),
        (CancelCause::Requested, Some("client went away".to_owned()))
    );
    let err = rt.block_on(h).unwrap_err();
    assert_eq!(err.cancel_message(), Some("client went away"));
    assert!(err.to_string().contains("client went away"), "{err}");
}

#[test]
fn a_task_without_catch_points_keeps_the_cause_in_its_error() {
    let rt = rt(2);
    let h = rt.spawn(sleep(LONG));
    spin_until("suspended", || h.state() == TaskState::Suspended);
    h.cancel_with("no longer needed");
    let err = rt.block_on(h).unwrap_err();
    assert_eq!(err.cancel_cause(), Some(CancelCause::Requested));
    assert_eq!(err.cancel_message(), Some("no longer needed"));
}

#[test]
fn a_dropped_handle_and_an_abort_say_so() {
    let rt = rt(2);
    let (tx, rx) = mpsc::channel();
    let h = rt.spawn(catcher(tx));
    spin_until("suspended", || h.state() == TaskState::Suspended);
    drop(h);
    assert_eq!(rx.recv().unwrap(), (CancelCause::HandleDropped, None));

    let h = rt.spawn(async { cancellable(sleep(LONG)).await.is_err() });
    spin_until("suspended", || h.state() == TaskState::Suspended);
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert_eq!(err.cancel_cause(), Some(CancelCause::Aborted));
}

#[test]
fn a_timeout_is_a_timeout() {
    let rt = rt(2);
    let cause = rt.block_on(async {
        let mut seen = None;
        let r = tasklane::wait_for(
            async {
                if let Err(c) = cancellable(sleep(LONG)).await {
                    seen = Some(c.cause());
                    c.reraise().await
                }
            },
            Duration::from_millis(5),
        )
        .await;
        assert!(r.is_err());
        seen
    });
    assert_eq!(cause, Some(CancelCause::Timeout));
}

#[test]
fn a_group_failure_names_the_failing_child_to_siblings_and_owner() {
    let rt = rt(2);
    let (tx, rx) = mpsc::channel();
    let h = rt.spawn(async move {
        let mut group = TaskGroup::<(), &'static str>::new();
        let sibling_tx = tx.clone();
        // The failing child waits until the sibling is in the poll that
        // reaches its catch point, so the sibling's body always runs.
        let started = Arc::new(AtomicBool::new(false));
        let s = started.clone();
        group.spawn(async move {
            s.store(true, Ordering::SeqCst);
            catcher(sibling_tx).await;
            Ok(())
        });
        let failing = group.spawn(async move {
            yield_until(|| started.load(Ordering::SeqCst)).await;
            Err("boom")
        });
        let owner_saw = cancellable(sleep(LONG)).await.unwrap_err().cause();
        let _ = group.join().await;
        (failing.id(), owner_saw)
    });
    let (failing, owner_saw) = rt.block_on(h).unwrap();
    assert_eq!(owner_saw, CancelCause::GroupFailed(failing));
    assert_eq!(
        rx.recv().unwrap(),
        (CancelCause::GroupFailed(failing), None)
    );
}

#[test]
fn shutdown_is_shutdown() {
    let rt = rt(2);
    let (tx, rx) = mpsc::channel();
    let h = rt.spawn(catcher(tx));
    spin_until("suspended", || h.state() == TaskState::Suspended);
    h.detach();
    let report = rt.shutdown(Duration::from_secs(5));
    assert_eq!(report.cancelled(), 1);
    assert_eq!(rx.recv().unwrap(), (CancelCause::Shutdown, None));
}

#[test]
fn a_reraise_keeps_the_cause_and_message() {
    let rt = rt(2);
    let h = rt.spawn(async {
        let outer = cancellable(async {
            if let Err(c) = cancellable(sleep(LONG)).await {
                c.reraise::<()>().await
            }
        })
        .await;
        let c = outer.unwrap_err();
        (c.cause(), c.message().map(str::to_owned))
    });
    spin_until("suspended", || h.state() == TaskState::Suspended);
    h.cancel_with("bye");
    assert_eq!(
        rt.block_on(h).unwrap(),
        (CancelCause::Requested, Some("bye".to_owned()))
    );
}

#[test]
fn a_cancel_scope_says_scope_and_its_deadline_says_timeout() {
    let rt = rt(2);
    rt.block_on(async {
        let caught = |scope: tasklane::CancelScope| async move {
            scope
                .run(async {
                    match cancellable(sleep(LONG)).await {
                        Ok(()) => None,
                        Err(c) => Some(c.cause()),
                    }
                })
                .await
                .ok()
                .flatten()
        };
        let scope = tasklane::CancelScope::new();
        let canceller = scope.clone();
        let run = tasklane::spawn(caught(scope));
        sleep(Duration::from_millis(5)).await;
        canceller.cancel();
        assert_eq!(run.await.unwrap(), Some(CancelCause::Scope));

        let scope = tasklane::CancelScope::new();
        scope.set_deadline(tasklane::time::Instant::now() + Duration::from_millis(5));
        assert_eq!(caught(scope).await, Some(CancelCause::Timeout));

        let seen = tasklane::time::timeout(Duration::from_millis(5), async {
            cancellable(sleep(LONG)).await.unwrap_err().cause()
        })
        .await;
        assert_eq!(seen, Ok(CancelCause::Timeout));
    });
}

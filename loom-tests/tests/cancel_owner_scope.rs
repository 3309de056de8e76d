//! A task group's owner (`crates/tasklane/src/group.rs`) over the task
//! core: the owner task is suspended in a catch point while one thread, as
//! a failing child does, asks for a delivery to the owner's body
//! (`TaskRef::cancel_scope`) and then, as the owner's `join` does, retracts
//! it; meanwhile the main thread cancels the owner itself (`cancel()`).
//! Both threads run what is queued. After they are done the gate opens and
//! the owner, which catches every cancellation and waits again, finishes.
//!
//! What must hold, in every interleaving:
//!
//! * The owner's own cancellation is never lost nor doubled: its catch
//!   points receive exactly one `Cancelled` of origin `Task`.
//! * The group's request is delivered at most once, with its origin and
//!   cause, and never ends the task: it ends `Completed`, once, freed once.
//!   (Taken with the task's own request before a delivery, or retracted
//!   first, it is not delivered at all.)
#![cfg(tasklane_loom)]

use loom::thread;
use loom_tests::mock::{self, Counter, Gate, Queue};
use std::task::{Poll, Waker};
use tasklane_sched::facade::new_owner_scope;
use tasklane_sched::task::{self, CancelCause, Origin, TaskState};

/// Which deliveries the owner received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reached {
    TaskOnly,
    TaskAndScope,
}

fn race() -> Reached {
    let queue = Queue::new();
    let gate = Gate::new();
    let (task_caught, scope_caught) = (Counter::new(), Counter::new());
    let scope = new_owner_scope();
    let owner = queue.spawn({
        let (gate, task_caught, scope_caught) =
            (gate.clone(), task_caught.clone(), scope_caught.clone());
        async move {
            loop {
                let wait = std::future::poll_fn(|cx| gate.poll_open(cx));
                match task::cancellable(wait).await {
                    Ok(()) => break,
                    Err(c) if c.origin() == Origin::Task => {
                        assert_eq!(c.cause(), CancelCause::Requested);
                        task_caught.incr();
                    }
                    Err(c) => {
                        assert_eq!(c.origin(), scope, "another scope's cancellation");
                        assert!(matches!(c.cause(), CancelCause::GroupFailed(_)));
                        scope_caught.incr();
                    }
                }
            }
        }
    });
    owner.notified.run();
    assert_eq!(owner.handle.state(), TaskState::Suspended);
    let owner_ref = owner.handle.task_ref();
    let owner_id = owner.handle.id();

    let child = thread::spawn({
        let q = queue.clone();
        move || {
            assert!(owner_ref.cancel_scope(scope, CancelCause::GroupFailed(owner_id)));
            q.run_all();
            owner_ref.retract_scope(scope);
            q.run_all();
        }
    });
    assert!(owner.handle.cancel());
    queue.run_all();
    child.join().unwrap();
    queue.run_all();
    gate.open();
    queue.run_all();

    assert!(queue.is_empty());
    assert!(queue.max_len() <= 1, "two Notified queued at once");
    let mut handle = owner.handle;
    let Poll::Ready(result) = mock::poll_join(&mut handle, Waker::noop()) else {
        panic!("the owner did not finish");
    };
    assert!(result.is_ok(), "the owner ended {result:?}");
    assert_eq!(handle.state(), TaskState::Completed);
    assert_eq!(task_caught.get(), 1, "the owner's own cancellation");
    let scope_caught = scope_caught.get();
    assert!(scope_caught <= 1, "the group's request delivered twice");
    drop(handle);
    assert_eq!(owner.freed.get(), 1, "freed exactly once");
    if scope_caught == 1 {
        Reached::TaskAndScope
    } else {
        Reached::TaskOnly
    }
}

/// Bound 4: the two requests, the retraction and the polls of two threads.
#[test]
fn owner_scope_vs_own_cancel_and_retract() {
    mock::model_outcomes(Some(4), &[Reached::TaskOnly, Reached::TaskAndScope], race);
}

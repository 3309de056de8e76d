//! `task_local!`: `scope`, `sync_scope`, `get`, `try_get`, `with`,
//! `try_with`; nested scopes shadow and restore; a task or blocking job
//! spawned inside a scope (by any spawn path) starts with the values its
//! spawner had at the spawn, and neither side's later scopes reach the
//! other; values hold across awaits and workers, in catch-point cleanup
//! after a cancellation, and in destructors; a value is dropped once the
//! scope and every task that inherited it are gone.

mod common;

use common::{Counts, DropCounter, in_task, in_task_watched, poll_once, rt, worker_index};
use futures_channel::oneshot;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};
use tasklane::task::{Builder, cancellable};
use tasklane::time::sleep;
use tasklane::{Handle, TaskGroup, TaskSet, gather, shield, yield_now};

tasklane::task_local! {
    /// The id of the request being handled.
    static REQUEST_ID: u64;

    pub(crate) static USER: String;

    #[allow(dead_code)]
    static SHARED: Arc<DropCounter>
}

/// Never expires during a test.
const LONG: Duration = Duration::from_secs(60);

#[test]
fn scope_sets_the_value_for_get_try_get_with_and_try_with() {
    in_task_watched(async {
        assert_eq!(REQUEST_ID.try_get(), None);
        assert!(REQUEST_ID.try_with(|_| ()).is_err());
        let out = REQUEST_ID
            .scope(7, async {
                assert_eq!(REQUEST_ID.get(), 7);
                assert_eq!(REQUEST_ID.try_get(), Some(7));
                assert_eq!(REQUEST_ID.with(|v| *v * 2), 14);
                assert_eq!(REQUEST_ID.try_with(|v| *v + 1), Ok(8));
                // Another key is still unset.
                assert_eq!(USER.try_get(), None);
                "done"
            })
            .await;
        assert_eq!(out, "done");
        assert_eq!(REQUEST_ID.try_get(), None, "the value ends with its scope");
    });
}

#[test]
fn get_outside_a_scope_panics_naming_the_key() {
    let err = panic::catch_unwind(|| REQUEST_ID.get()).expect_err("get outside a scope panics");
    let msg = common::payload_str(&*err).expect("a string message");
    assert!(
        msg.contains("task-local `REQUEST_ID` is not set here"),
        "message: {msg}"
    );
    let e = REQUEST_ID.try_with(|_| ()).unwrap_err();
    assert_eq!(e.key_name(), "REQUEST_ID");
    assert_eq!(e.to_string(), msg);
}

#[test]
#[should_panic(expected = "task-local `USER` is not set here")]
fn with_outside_a_scope_panics() {
    USER.with(|u| u.len());
}

#[test]
fn get_in_a_task_spawned_outside_any_scope_panics_into_the_handle() {
    let r = in_task_watched(async { tasklane::spawn(async { REQUEST_ID.get() }).await });
    let e = r.expect_err("the task panicked");
    let payload = e.into_panic();
    let msg = common::payload_str(&*payload).expect("a string message");
    assert!(msg.contains("`REQUEST_ID` is not set"), "message: {msg}");
}

#[test]
fn nested_scopes_shadow_and_restore() {
    in_task_watched(async {
        REQUEST_ID
            .scope(1, async {
                USER.scope("ada".to_string(), async {
                    REQUEST_ID
                        .scope(2, async {
                            assert_eq!(REQUEST_ID.get(), 2);
                            assert_eq!(USER.get(), "ada", "other keys show through");
                            yield_now().await;
                            assert_eq!(REQUEST_ID.get(), 2);
                        })
                        .await;
                    assert_eq!(REQUEST_ID.get(), 1, "the outer value is back");
                    assert_eq!(USER.get(), "ada");
                })
                .await;
                assert_eq!(REQUEST_ID.get(), 1);
                assert_eq!(USER.try_get(), None);
            })
            .await;
    });
}

#[test]
fn sync_scope_nests_and_restores() {
    let seen = REQUEST_ID.sync_scope(1, || {
        let inner = REQUEST_ID.sync_scope(2, || (REQUEST_ID.get(), USER.try_get()));
        (inner, REQUEST_ID.get())
    });
    assert_eq!(seen, ((2, None), 1));
    assert_eq!(REQUEST_ID.try_get(), None);
}

#[test]
fn the_context_is_restored_when_a_scope_panics() {
    let r = panic::catch_unwind(|| REQUEST_ID.sync_scope(1, || panic!("boom")));
    assert!(r.is_err());
    assert_eq!(REQUEST_ID.try_get(), None);
    let mut fut = Box::pin(REQUEST_ID.scope(1, async { panic!("boom") }));
    let r = panic::catch_unwind(AssertUnwindSafe(|| poll_once(&mut fut)));
    assert!(r.is_err());
    assert_eq!(REQUEST_ID.try_get(), None);
}

#[test]
fn a_scope_polled_from_another_scope_sees_that_scope_s_values() {
    // The same scope future, polled first where USER is "a", then where it
    // is "b": its own key holds, the others follow where it is polled.
    let mut fut = Box::pin(REQUEST_ID.scope(5, async {
        let first = (REQUEST_ID.get(), USER.get());
        yield_now().await;
        let second = (REQUEST_ID.get(), USER.get());
        (first, second)
    }));
    let p = USER.sync_scope("a".into(), || poll_once(&mut fut));
    assert!(p.is_pending());
    let p = USER.sync_scope("b".into(), || poll_once(&mut fut));
    assert_eq!(p, Poll::Ready(((5, "a".into()), (5, "b".into()))));
}

#[test]
fn values_hold_across_awaits_on_two_workers() {
    const TASKS: u64 = 200;
    const AWAITS: usize = 20;
    let wrong = in_task_watched(async {
        let mut handles = Vec::new();
        for i in 0..TASKS {
            handles.push(tasklane::spawn(REQUEST_ID.scope(i, async move {
                let mut wrong = 0;
                for k in 0..AWAITS {
                    if k % 2 == 0 {
                        yield_now().await;
                    } else {
                        sleep(Duration::from_micros(50)).await;
                    }
                    wrong += usize::from(REQUEST_ID.get() != i);
                }
                wrong
            })));
        }
        let mut wrong = 0;
        for h in handles {
            wrong += h.await.unwrap();
        }
        wrong
    });
    assert_eq!(wrong, 0, "reads that saw another task's value");
}

#[test]
fn a_child_on_another_worker_sees_the_value() {
    // The parent holds its worker until the child has run, so on two
    // workers the child runs on the other one.
    let (parent_worker, child_worker, value) = in_task_watched(async {
        REQUEST_ID
            .scope(42, async {
                let done = Arc::new(AtomicBool::new(false));
                let d = done.clone();
                let child = tasklane::spawn(async move {
                    let seen = (worker_index(), REQUEST_ID.get());
                    d.store(true, Ordering::SeqCst);
                    seen
                });
                let parent_worker = worker_index();
                common::spin_until("the child ran", || done.load(Ordering::SeqCst));
                let (child_worker, value) = child.await.unwrap();
                (parent_worker, child_worker, value)
            })
            .await
    });
    assert!(parent_worker.is_some() && child_worker.is_some());
    assert_ne!(parent_worker, child_worker);
    assert_eq!(value, 42);
}

#[test]
fn children_and_grandchildren_start_with_the_values_at_the_spawn() {
    in_task_watched(async {
        REQUEST_ID
            .scope(1, async {
                let child = tasklane::spawn(async {
                    let grandchild = tasklane::spawn(async { (REQUEST_ID.get(), USER.try_get()) });
                    // The child's own scope reaches its children, not its parent.
                    let scoped = USER
                        .scope("child".into(), async {
                            tasklane::spawn(async { (REQUEST_ID.get(), USER.get()) })
                                .await
                                .unwrap()
                        })
                        .await;
                    (REQUEST_ID.get(), grandchild.await.unwrap(), scoped)
                });
                let (v, g, s) = child.await.unwrap();
                assert_eq!(v, 1);
                assert_eq!(g, (1, None));
                assert_eq!(s, (1, "child".to_string()));
                assert_eq!(USER.try_get(), None, "the child's scope stays in the child");
            })
            .await;
    });
}

#[test]
fn every_spawn_path_inherits() {
    in_task_watched(async {
        REQUEST_ID
            .scope(9, async {
                let h = Handle::current();
                assert_eq!(
                    tasklane::spawn(async { REQUEST_ID.get() }).await.unwrap(),
                    9
                );
                let named = Builder::new().name("n").spawn(async { REQUEST_ID.get() });
                assert_eq!(named.await.unwrap(), 9);
                let on = Builder::new().spawn_on(async { REQUEST_ID.get() }, &h);
                assert_eq!(on.await.unwrap(), 9);
                assert_eq!(h.spawn(async { REQUEST_ID.get() }).await.unwrap(), 9);
                let blocking = tasklane::spawn_blocking(|| REQUEST_ID.get());
                assert_eq!(blocking.await.unwrap(), 9);
                let blocking_on = Builder::new().spawn_blocking_on(|| REQUEST_ID.get(), &h);
                assert_eq!(blocking_on.await.unwrap(), 9);
                assert_eq!(h.spawn_blocking(|| REQUEST_ID.get()).await.unwrap(), 9);
                assert_eq!(shield(async { REQUEST_ID.get() }).await, 9);
                let all = gather((0..3).map(|_| async { REQUEST_ID.get() })).await;
                assert_eq!(all, vec![9, 9, 9]);
            })
            .await;
    });
}

#[test]
fn task_group_and_task_set_children_inherit() {
    in_task_watched(async {
        REQUEST_ID
            .scope(3, async {
                let mut group = TaskGroup::new();
                for _ in 0..4 {
                    group.spawn(async { Ok::<_, ()>(REQUEST_ID.get()) });
                }
                assert_eq!(group.join().await.unwrap(), vec![3; 4]);

                let mut set = TaskSet::new();
                for i in 0..4u64 {
                    // Each set member may scope its own value on top.
                    set.spawn(async move {
                        let inherited = REQUEST_ID.get();
                        let own = REQUEST_ID.scope(100 + i, async { REQUEST_ID.get() }).await;
                        (inherited, own)
                    });
                }
                let mut got = Vec::new();
                while let Some(r) = set.join_next().await {
                    got.push(r.unwrap());
                }
                got.sort();
                assert_eq!(got, vec![(3, 100), (3, 101), (3, 102), (3, 103)]);
                assert_eq!(REQUEST_ID.get(), 3);
            })
            .await;
    });
}

#[test]
fn a_child_s_scope_never_changes_the_parent() {
    in_task_watched(async {
        REQUEST_ID
            .scope(1, async {
                let (entered_tx, entered_rx) = oneshot::channel();
                let (leave_tx, leave_rx) = oneshot::channel::<()>();
                let child = tasklane::spawn(REQUEST_ID.scope(2, async move {
                    entered_tx.send(REQUEST_ID.get()).unwrap();
                    leave_rx.await.unwrap();
                }));
                // While the child is inside its scope, the parent still reads 1.
                assert_eq!(entered_rx.await.unwrap(), 2);
                assert_eq!(REQUEST_ID.get(), 1);
                leave_tx.send(()).unwrap();
                child.await.unwrap();
                assert_eq!(REQUEST_ID.get(), 1);
            })
            .await;
    });
}

#[test]
fn a_parent_s_later_scope_is_not_seen_by_a_spawned_child() {
    in_task_watched(async {
        REQUEST_ID
            .scope(1, async {
                let (go_tx, go_rx) = oneshot::channel::<()>();
                let child = tasklane::spawn(async move {
                    go_rx.await.unwrap();
                    (REQUEST_ID.get(), USER.try_get())
                });
                // The parent sets new values, and lets the child run inside them.
                REQUEST_ID
                    .scope(
                        2,
                        USER.scope("later".into(), async {
                            go_tx.send(()).unwrap();
                            yield_now().await;
                        }),
                    )
                    .await;
                assert_eq!(child.await.unwrap(), (1, None));
            })
            .await;

        // Spawned before any scope: it never sees one.
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let child = tasklane::spawn(async move {
            go_rx.await.unwrap();
            REQUEST_ID.try_get()
        });
        REQUEST_ID.scope(5, async { go_tx.send(()).unwrap() }).await;
        assert_eq!(child.await.unwrap(), None);
    });
}

#[test]
fn a_cancelled_task_sees_its_values_in_catch_point_cleanup() {
    in_task_watched(async {
        // Inherited from the spawner, and from a scope inside the task.
        let (ready_tx, ready_rx) = oneshot::channel();
        let inherited = REQUEST_ID.sync_scope(11, || {
            tasklane::spawn(USER.scope("own".into(), async move {
                ready_tx.send(()).unwrap();
                match cancellable(sleep(LONG)).await {
                    Ok(()) => panic!("not cancelled"),
                    Err(c) => {
                        // Cleanup with an await, then pass it on.
                        yield_now().await;
                        let seen = (REQUEST_ID.get(), USER.get());
                        CLEANUP.lock().unwrap().push(seen);
                        c.reraise().await
                    }
                }
            }))
        });
        ready_rx.await.unwrap();
        yield_now().await;
        assert!(inherited.cancel());
        let e = inherited.await.unwrap_err();
        assert!(e.is_cancelled());
        assert_eq!(*CLEANUP.lock().unwrap(), vec![(11, "own".to_string())]);
    });
}

static CLEANUP: std::sync::Mutex<Vec<(u64, String)>> = std::sync::Mutex::new(Vec::new());

/// Records, when dropped, the value of `REQUEST_ID` it sees.
struct ReadOnDrop(Arc<std::sync::Mutex<Vec<Option<u64>>>>);

impl Drop for ReadOnDrop {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(REQUEST_ID.try_get());
    }
}

#[test]
fn destructors_of_an_aborted_task_see_its_values() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    in_task_watched(async move {
        let (ready_tx, ready_rx) = oneshot::channel();
        let inherited = {
            let guard = ReadOnDrop(s.clone());
            REQUEST_ID.sync_scope(21, move || {
                tasklane::spawn(async move {
                    let _guard = guard;
                    ready_tx.send(()).unwrap();
                    sleep(LONG).await;
                })
            })
        };
        let (ready2_tx, ready2_rx) = oneshot::channel();
        let guard = ReadOnDrop(s.clone());
        let scoped = tasklane::spawn(REQUEST_ID.scope(22, async move {
            let _guard = guard;
            ready2_tx.send(()).unwrap();
            sleep(LONG).await;
        }));
        ready_rx.await.unwrap();
        ready2_rx.await.unwrap();
        inherited.abort();
        scoped.abort();
        assert!(inherited.await.unwrap_err().is_cancelled());
        assert!(scoped.await.unwrap_err().is_cancelled());
    });
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, vec![Some(21), Some(22)]);
}

#[test]
fn a_value_is_dropped_once_its_scope_and_inheriting_tasks_are_gone() {
    let counts = Counts::new();
    let c = counts.clone();
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let rt = rt(2);
    // The scope is a future `block_on` drives; its child outlives it.
    let (child_tx, child_rx) = std::sync::mpsc::channel();
    rt.block_on(SHARED.scope(Arc::new(DropCounter::new(&c)), async move {
        let child = tasklane::spawn(async move {
            release_rx.await.unwrap();
            SHARED.with(Arc::strong_count)
        });
        child_tx.send(child).unwrap();
    }));
    let child = child_rx.recv().unwrap();
    // The scope is over; the running child still holds the value.
    assert_eq!(counts.drops(), 0);
    release_tx.send(()).unwrap();
    assert_eq!(rt.block_on(child).unwrap(), 1, "shared, not cloned");
    let deadline = Instant::now() + LONG;
    while counts.drops() == 0 {
        assert!(Instant::now() < deadline, "the value was never dropped");
        std::thread::yield_now();
    }
    assert_eq!((counts.created(), counts.drops()), (1, 1));
}

#[test]
fn spawning_from_outside_the_runtime_inside_sync_scope_inherits() {
    let rt = rt(2);
    let (spawned, blocked_on) = REQUEST_ID.sync_scope(77, || {
        let h = rt.spawn(async { REQUEST_ID.get() });
        // The future `block_on` drives sees the value too.
        let here = rt.block_on(async {
            yield_now().await;
            REQUEST_ID.get()
        });
        (rt.block_on(h).unwrap(), here)
    });
    assert_eq!((spawned, blocked_on), (77, 77));
    // Outside the scope again: nothing inherited.
    assert_eq!(
        rt.block_on(rt.spawn(async { REQUEST_ID.try_get() }))
            .unwrap(),
        None
    );
}

#[test]
fn many_concurrent_requests_keep_their_own_values() {
    // Every request's children, on both workers, see that request's id.
    let mismatches = in_task(async {
        let bad = Arc::new(AtomicUsize::new(0));
        let mut set = TaskSet::new();
        for id in 0..50u64 {
            let bad = bad.clone();
            set.spawn(REQUEST_ID.scope(id, async move {
                let mut children = TaskSet::new();
                for _ in 0..5 {
                    let bad = bad.clone();
                    children.spawn(async move {
                        yield_now().await;
                        if REQUEST_ID.get() != id {
                            bad.fetch_add(1, Ordering::SeqCst);
                        }
                    });
                }
                while let Some(r) = children.join_next().await {
                    r.unwrap();
                }
            }));
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
        bad.load(Ordering::SeqCst)
    });
    assert_eq!(mismatches, 0);
}

//! `task::spawn_local`: `!Send` futures on a current-thread runtime, with
//! the lifecycle of any task.

mod common;

use common::payload_str;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;
use tasklane::Runtime;
use tasklane::task::{TaskState, cancellable, spawn_local};
use tasklane::time::sleep;

fn ct() -> Runtime {
    Runtime::builder()
        .current_thread()
        .build()
        .expect("runtime builds")
}

/// Counts its drops in a `Send` counter, and holds an `Rc` so that any
/// future holding it is `!Send`.
struct Guard {
    drops: Arc<AtomicUsize>,
    _not_send: Rc<()>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn guard(drops: &Arc<AtomicUsize>) -> Guard {
    Guard {
        drops: drops.clone(),
        _not_send: Rc::new(()),
    }
}

#[test]
fn rc_and_refcell_across_awaits() {
    let rt = ct();
    let total = rt.block_on(async {
        let shared = Rc::new(RefCell::new(Vec::new()));
        let mut hs = Vec::new();
        for i in 0..10 {
            let s = shared.clone();
            hs.push(spawn_local(async move {
                sleep(Duration::from_millis(i)).await;
                s.borrow_mut().push(i);
                tasklane::yield_now().await;
                s.borrow().len()
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
        let v = shared.borrow();
        v.iter().sum::<u64>()
    });
    assert_eq!(total, 45);
}

#[test]
fn names_listing_and_on_done() {
    let rt = ct();
    rt.block_on(async {
        let flag = Rc::new(Cell::new(false));
        let f = flag.clone();
        let h = tasklane::task::Builder::new()
            .name("local-one")
            .spawn_local(async move {
                sleep(Duration::from_secs(60)).await;
                f.set(true);
            });
        assert_eq!(h.name(), "local-one");
        tasklane::yield_now().await;
        let listed = tasklane::Handle::current()
            .tasks()
            .into_iter()
            .find(|t| t.name() == "local-one")
            .expect("listed in tasks()");
        assert_eq!(listed.state(), TaskState::Suspended);
        let (tx, rx) = std::sync::mpsc::channel();
        h.on_done(move |snap| {
            let _ = tx.send((snap.name().to_owned(), snap.state()));
        });
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
        assert_eq!(
            rx.recv().unwrap(),
            ("local-one".to_owned(), TaskState::Cancelled)
        );
        assert!(!flag.get());
    });
}

#[test]
fn cancel_reaches_the_catch_points_of_a_local_task() {
    let rt = ct();
    let cleaned = rt.block_on(async {
        let cleaned = Rc::new(Cell::new(false));
        let c = cleaned.clone();
        let h = spawn_local(async move {
            if let Err(e) = cancellable(sleep(Duration::from_secs(60))).await {
                sleep(Duration::from_millis(1)).await;
                c.set(true);
                e.reraise().await
            }
        });
        tasklane::yield_now().await;
        assert!(h.cancel());
        assert!(h.await.unwrap_err().is_cancelled());
        cleaned.get()
    });
    assert!(cleaned);
}

#[test]
fn a_panic_reaches_the_handle() {
    let rt = ct();
    let err = rt.block_on(async {
        spawn_local(async {
            let _rc = Rc::new(1);
            tasklane::yield_now().await;
            panic!("local boom");
        })
        .await
        .unwrap_err()
    });
    assert!(err.is_panic());
    assert_eq!(payload_str(&*err.into_panic()), Some("local boom"));
}

#[test]
fn shutdown_cancels_and_drops_each_future_once_at_home() {
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = ct();
    let d = drops.clone();
    rt.block_on(async move {
        for _ in 0..5 {
            let g = guard(&d);
            spawn_local(async move {
                let _g = g;
                sleep(Duration::from_secs(60)).await;
            })
            .detach();
        }
        tasklane::yield_now().await;
    });
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    let report = rt.shutdown(Duration::from_secs(5));
    assert_eq!(report.cancelled(), 5);
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

#[test]
fn outside_a_current_thread_runtime_it_panics_clearly() {
    fn message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).unwrap_err();
        payload_str(&*err).unwrap_or_default().to_owned()
    }
    let expected = "spawn_local called outside a current-thread runtime's block_on";
    // No runtime at all.
    let m = message(|| drop(spawn_local(async {})));
    assert!(m.contains(expected), "{m}");
    // Inside a multi-thread runtime's task: the task ends panicked.
    let rt = common::rt(1);
    let err = rt
        .block_on(rt.spawn(async { drop(spawn_local(async {})) }))
        .unwrap_err();
    let m = payload_str(&*err.into_panic())
        .unwrap_or_default()
        .to_owned();
    assert!(m.contains(expected), "{m}");
    // On a current-thread runtime's blocking pool.
    let ct = ct();
    let err = ct
        .block_on(ct.handle().spawn_blocking(|| drop(spawn_local(async {}))))
        .unwrap_err();
    let m = payload_str(&*err.into_panic())
        .unwrap_or_default()
        .to_owned();
    assert!(m.contains(expected), "{m}");
}

#[test]
fn driven_from_another_thread_a_local_task_ends_panicked_and_is_leaked() {
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = ct();
    let (tx, rx) = tasklane::sync::oneshot::channel::<()>();
    let d = drops.clone();
    // The handle leaves `block_on` on purpose: the runtime's next driver
    // awaits it.
    #[allow(clippy::async_yields_async)]
    let h = rt.block_on(async move {
        let g = guard(&d);
        let h = spawn_local(async move {
            let _g = g;
            rx.await.unwrap();
        });
        tasklane::yield_now().await;
        h
    });
    tx.send(()).unwrap();
    // The runtime moves to another thread, which then drives it.
    let err = thread::spawn(move || {
        let err = rt.block_on(h).unwrap_err();
        drop(rt);
        err
    })
    .join()
    .unwrap();
    assert!(err.is_panic());
    let m = payload_str(&*err.into_panic())
        .unwrap_or_default()
        .to_owned();
    assert!(m.contains("polled on another thread"), "{m}");
    // Its future held an `Rc`: it was not dropped away from home.
    assert_eq!(drops.load(Ordering::SeqCst), 0);
}

#[tasklane::test(flavor = "current_thread")]
async fn under_the_test_macro() {
    let rc = Rc::new(Cell::new(1));
    let r = rc.clone();
    spawn_local(async move { r.set(r.get() + 1) })
        .await
        .unwrap();
    assert_eq!(rc.get(), 2);
}

tasklane::task_local! {
    static REQUEST: u32;
}

#[test]
fn a_local_task_inherits_task_locals() {
    let rt = ct();
    let seen = rt.block_on(REQUEST.scope(7, async {
        let rc = Rc::new(());
        spawn_local(async move {
            let _rc = rc;
            tasklane::yield_now().await;
            REQUEST.get()
        })
        .await
        .unwrap()
    }));
    assert_eq!(seen, 7);
}

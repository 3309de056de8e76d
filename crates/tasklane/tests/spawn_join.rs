//! Spawning and joining: values come back through the `JoinHandle`, from
//! inside a task and from outside the runtime.

mod common;

use common::{Counts, DropCounter, Tracked, poll_once, rt};
use futures_channel::oneshot;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tasklane::task::{JoinError, JoinHandle, TaskState};

#[test]
fn join_from_outside_with_block_on() {
    let rt = rt(2);
    let h = rt.spawn(async { 6 * 7 });
    assert_eq!(rt.block_on(h).unwrap(), 42);

    let h = rt.handle().spawn(async { String::from("via handle") });
    assert_eq!(rt.block_on(h).unwrap(), "via handle");
}

#[test]
fn join_from_inside_a_task() {
    let rt = rt(2);
    let outer = rt.spawn(async {
        assert!(tasklane::task::current().is_some(), "runs as a task");
        let inner = tasklane::spawn(async { 21 });
        inner.await.unwrap() * 2
    });
    assert_eq!(rt.block_on(outer).unwrap(), 42);
}

#[tasklane::test]
async fn join_from_block_on_future() {
    let h = tasklane::spawn(async { vec![1, 2, 3] });
    let v = h.await.unwrap();
    assert_eq!(v, [1, 2, 3]);
}

#[test]
fn run_returns_the_value() {
    let v = tasklane::run(async { tasklane::spawn(async { 5u8 }).await.unwrap() });
    assert_eq!(v, 5);
}

#[test]
fn many_joins_inside_a_task_keep_their_values() {
    let rt = rt(2);
    let sum = rt.block_on(rt.spawn(async {
        let handles: Vec<_> = (0..2_000u64)
            .map(|i| {
                tasklane::spawn(async move {
                    if i % 3 == 0 {
                        tasklane::yield_now().await;
                    }
                    i * 2
                })
            })
            .collect();
        let mut sum = 0;
        for (i, h) in handles.into_iter().enumerate() {
            let v = h.await.unwrap();
            assert_eq!(v, i as u64 * 2, "handle {i} gave another task's value");
            sum += v;
        }
        sum
    }));
    assert_eq!(sum.unwrap(), 2 * (0..2_000u64).sum::<u64>());
}

#[test]
fn many_joins_from_outside() {
    let rt = rt(2);
    let handles: Vec<_> = (0..2_000u64).map(|i| rt.spawn(async move { i })).collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(rt.block_on(h).unwrap(), i as u64);
    }
}

#[test]
fn a_handle_can_be_joined_from_another_task() {
    let rt = rt(2);
    let (tx, rx) = oneshot::channel::<u32>();
    let producer = rt.spawn(async move { rx.await.unwrap() + 1 });
    let consumer = rt.spawn(async move { producer.await.unwrap() * 10 });
    tx.send(4).unwrap();
    assert_eq!(rt.block_on(consumer).unwrap(), 50);
}

#[test]
fn await_by_mut_ref_then_inspect_the_handle() {
    let rt = rt(2);
    let mut h = rt.spawn(async { "done" });
    assert_eq!(rt.block_on(&mut h).unwrap(), "done");
    assert!(h.is_finished());
    assert!(!h.is_cancelled());
    assert_eq!(h.state(), TaskState::Completed);
    assert!(!h.cancel(), "cancel after completion reports false");
}

/// The joiner's waker may change between polls (the handle moves from one
/// waiter to another); the last one registered is the one woken.
#[test]
fn join_waker_can_be_replaced() {
    let rt = rt(2);
    let (tx, rx) = oneshot::channel::<()>();
    let mut h = rt.spawn(async move {
        rx.await.unwrap();
        7
    });
    // First registered with a waker that does nothing.
    assert!(poll_once(&mut h).is_pending());

    /// Polls the handle (registering block_on's waker), and only then lets
    /// the task finish.
    struct ReleaseAfterFirstPoll<'a> {
        h: &'a mut JoinHandle<i32>,
        tx: Option<oneshot::Sender<()>>,
    }
    impl Future for ReleaseAfterFirstPoll<'_> {
        type Output = Result<i32, JoinError>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let r = Pin::new(&mut *self.h).poll(cx);
            if r.is_pending()
                && let Some(tx) = self.tx.take()
            {
                tx.send(()).unwrap();
            }
            r
        }
    }
    let out = rt.block_on(ReleaseAfterFirstPoll {
        h: &mut h,
        tx: Some(tx),
    });
    assert_eq!(out.unwrap(), 7);
}

#[test]
fn future_and_output_are_dropped_exactly_once() {
    let rt = rt(2);
    let futs = Counts::new();
    let outs = Counts::new();
    let handles: Vec<_> = (0..500)
        .map(|_| {
            let outs = outs.clone();
            rt.spawn(Tracked::new(&futs, async move {
                tasklane::yield_now().await;
                DropCounter::new(&outs)
            }))
        })
        .collect();
    for h in handles {
        let out = rt.block_on(h).unwrap();
        drop(out);
    }
    assert_eq!(futs.created(), 500);
    assert_eq!(
        futs.drops(),
        500,
        "every future dropped once, at completion"
    );
    assert_eq!(outs.created(), 500);
    assert_eq!(
        outs.drops(),
        500,
        "every output dropped once, by its joiner"
    );
    // Each task was polled twice: once up to the yield, once to the end.
    assert_eq!(futs.polls(), 1_000);
}

#[test]
fn handles_and_errors_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_send_sync::<JoinHandle<u32>>();
    assert_send_sync::<JoinHandle<Arc<String>>>();
    assert_send_sync::<tasklane::Handle>();
    assert_error::<JoinError>();
}

//! How `block_on` drives a future on the calling thread: poll it, and
//! between polls park the thread until the future's waker unparks it.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Polls `future` on this thread until it is ready, parking in between.
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    let unparker = Arc::new(Unparker {
        thread: thread::current(),
        notified: AtomicBool::new(false),
    });
    let waker = Waker::from(unparker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        // Acquire: pairs with the Release in `wake_by_ref`, so whatever the
        // waker published is visible to the next poll.
        while !unparker.notified.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
}

/// The waker of a future driven by [`block_on`]: sets `notified` and
/// unparks the thread, once per park.
struct Unparker {
    thread: Thread,
    notified: AtomicBool,
}

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Release: see `block_on`.
        if !self.notified.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }
}

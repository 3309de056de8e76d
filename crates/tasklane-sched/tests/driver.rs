//! The scheduler parks one idle worker inside the `Driver` it is given and
//! wakes it through `Driver::unpark`; other idle workers use their own
//! parkers. A test driver stands in for the timer and I/O reactor.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tasklane_sched::task::TaskOptions;
use tasklane_sched::{Config, Driver, Scheduler};

/// A driver that is a condition variable, counting its calls.
#[derive(Default)]
struct TestDriver {
    woken: Mutex<bool>,
    cvar: Condvar,
    parks: AtomicUsize,
    polls: AtomicUsize,
    unparks: AtomicUsize,
}

/// The scheduler owns its driver; the test keeps a second handle.
struct Handle(Arc<TestDriver>);

impl Driver for Handle {
    fn park(&self, timeout: Option<Duration>) {
        let this = &*self.0;
        if timeout == Some(Duration::ZERO) {
            this.polls.fetch_add(1, SeqCst);
            return;
        }
        this.parks.fetch_add(1, SeqCst);
        let mut woken = this.woken.lock().unwrap();
        while !*woken {
            match timeout {
                None => woken = this.cvar.wait(woken).unwrap(),
                Some(t) => {
                    let (g, res) = this.cvar.wait_timeout(woken, t).unwrap();
                    woken = g;
                    if res.timed_out() {
                        break;
                    }
                }
            }
        }
        *woken = false;
    }

    fn unpark(&self) {
        let this = &*self.0;
        this.unparks.fetch_add(1, SeqCst);
        *this.woken.lock().unwrap() = true;
        this.cvar.notify_one();
    }
}

fn block_on_handle<T>(h: tasklane_sched::task::JoinHandle<T>) -> T {
    // A tiny block_on: the scheduler crate has none of its own.
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut h = std::pin::pin!(h);
    loop {
        if let Poll::Ready(v) = h.as_mut().poll(&mut Context::from_waker(&waker)) {
            return v.expect("task completed");
        }
        std::thread::park();
    }
}

use std::future::Future;

/// A scheduler with one worker parking in `driver`.
fn one_worker_config(driver: &Arc<TestDriver>) -> Config {
    Config {
        worker_threads: 1,
        driver: Some(Box::new(Handle(driver.clone()))),
        ..Config::default()
    }
}

fn one_worker_with(driver: &Arc<TestDriver>) -> Scheduler {
    Scheduler::new(one_worker_config(driver)).unwrap()
}

#[test]
fn idle_workers_park_in_the_driver_and_wake_through_it() {
    let driver = Arc::new(TestDriver::default());
    // One worker: it always gets the driver when it sleeps, so every task
    // from outside must reach it through `Driver::unpark`. Without the
    // yield before parking, which could catch every spawn below while the
    // worker is still awake and leave the driver's wake-up untested.
    let mut sched = Scheduler::new(Config {
        yield_before_park: false,
        ..one_worker_config(&driver)
    })
    .unwrap();
    // Wait until the worker is asleep inside the driver.
    while driver.parks.load(SeqCst) == 0 {
        std::thread::yield_now();
    }
    // Work from outside must reach a sleeping worker; the one in the driver
    // can only be woken through `Driver::unpark`.
    let n: u64 = if cfg!(miri) { 10 } else { 200 };
    for i in 0..n {
        let h = sched
            .handle()
            .spawn(async move { i * 2 }, TaskOptions::new());
        assert_eq!(block_on_handle(h), i * 2);
    }
    assert!(
        driver.unparks.load(SeqCst) > 0,
        "the driver was never unparked"
    );
    assert!(
        driver.parks.load(SeqCst) > 1,
        "the worker never went back to sleep in the driver"
    );
    let stats = sched.shutdown(Duration::from_secs(5));
    assert!(stats.dropped.is_empty());
}

#[test]
fn busy_workers_poll_the_driver_without_blocking() {
    let driver = Arc::new(TestDriver::default());
    let mut sched = one_worker_with(&driver);
    // One task that yields many times keeps the worker busy for many ticks.
    struct YieldN(u32);
    impl Future for YieldN {
        type Output = ();
        fn poll(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<()> {
            if self.0 == 0 {
                return std::task::Poll::Ready(());
            }
            self.0 -= 1;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
    let polls = if cfg!(miri) { 200 } else { 1_000 };
    let h = sched.handle().spawn(YieldN(polls), TaskOptions::new());
    block_on_handle(h);
    assert!(
        driver.polls.load(SeqCst) > 0,
        "a busy worker never looked at the driver"
    );
    sched.shutdown(Duration::from_secs(5));
}

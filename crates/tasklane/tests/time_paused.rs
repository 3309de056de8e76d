//! The paused clock: while paused, time stands still until every task is
//! idle, then jumps to the next deadline exactly; `advance` moves it by
//! hand, `resume` lets it run from where it got to. On the multi-thread
//! runtime (two workers) and the current-thread one.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tasklane::time::{
    Instant, MissedTickBehavior, advance, interval, pause, resume, sleep, sleep_until, timeout,
};
use tasklane::{CancelScope, Runtime, wait_for};

const SEC: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);
/// A bound on wall time for work that takes hours of virtual time: far
/// more than it needs, far less than the virtual time.
const WATCHDOG: Duration = Duration::from_secs(60);

fn multi_thread() -> Runtime {
    Runtime::builder()
        .worker_threads(2)
        .start_paused(true)
        .build()
        .expect("runtime builds")
}

fn current_thread() -> Runtime {
    Runtime::builder()
        .current_thread()
        .start_paused(true)
        .build()
        .expect("runtime builds")
}

/// Runs `check` on both flavours, from `block_on` and from a task.
fn on_every_flavour<F, Fut>(check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    for (name, rt) in [
        ("multi-thread", multi_thread()),
        ("current-thread", current_thread()),
    ] {
        let wall = std::time::Instant::now();
        rt.block_on(check());
        rt.block_on(rt.spawn(check())).unwrap();
        let took = wall.elapsed();
        assert!(took < WATCHDOG, "{name}: took {took:?} of wall time");
    }
}

#[test]
fn sleeping_an_hour_returns_at_once_an_hour_later() {
    on_every_flavour(|| async {
        let start = Instant::now();
        sleep(HOUR).await;
        assert_eq!(Instant::now() - start, HOUR);
        // sleep_until takes a std instant too.
        let at = start.into_std() + 2 * HOUR;
        sleep_until(at).await;
        assert_eq!(Instant::now().into_std(), at);
    });
}

#[test]
fn an_hour_of_interval_ticks_is_exact() {
    on_every_flavour(|| async {
        // One tick a second for an hour: tick k at start + k s, exactly,
        // and the clock reads exactly that when the tick is returned.
        let mut ticks = interval(SEC);
        let start = ticks.tick().await;
        assert_eq!(start, Instant::now());
        for k in 1..=3600u32 {
            let t = ticks.tick().await;
            assert_eq!(t, start + SEC * k, "tick {k}");
            assert_eq!(Instant::now(), t, "tick {k}");
        }
        assert_eq!(Instant::now() - start, HOUR);

        // One a millisecond for ten seconds.
        let ms = Duration::from_millis(1);
        let mut ticks = interval(ms);
        let start = ticks.tick().await;
        for k in 1..=10_000u32 {
            let t = ticks.tick().await;
            assert_eq!(t, start + ms * k, "tick {k}");
            assert_eq!(Instant::now(), t, "tick {k}");
        }
    });
}

#[test]
fn deadlines_within_one_timer_tick_fire_in_order_at_their_own_instants() {
    // 100 µs and 130 µs round up to the same 65.5 µs tick of the wheel; a
    // paused clock keeps them apart.
    on_every_flavour(|| async {
        let start = Instant::now();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for us in [130u64, 100, 115] {
            let seen = seen.clone();
            tasks.push(tasklane::spawn(async move {
                let d = Duration::from_micros(us);
                sleep(d).await;
                seen.lock().unwrap().push((us, Instant::now() - start));
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let us = Duration::from_micros;
        assert_eq!(
            *seen.lock().unwrap(),
            [(100, us(100)), (115, us(115)), (130, us(130))]
        );
    });
}

#[test]
fn a_busy_task_holds_the_clock() {
    // A task spinning on `yield_now` keeps the runtime busy: the sleeper's
    // deadline comes only once it is done, and the sleeper still wakes at
    // exactly its deadline.
    on_every_flavour(|| async {
        let start = Instant::now();
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let sleeper = tasklane::spawn(async move {
            sleep(SEC).await;
            (Instant::now() - start, d.load(Ordering::SeqCst))
        });
        let d = done.clone();
        let spinner = tasklane::spawn(async move {
            for _ in 0..20_000 {
                tasklane::task::yield_now().await;
                assert_eq!(Instant::now(), start, "time moved while a task ran");
            }
            d.store(true, Ordering::SeqCst);
        });
        spinner.await.unwrap();
        assert_eq!(sleeper.await.unwrap(), (SEC, true));
    });
}

#[test]
fn a_blocking_job_in_flight_holds_the_clock() {
    on_every_flavour(|| async {
        let start = Instant::now();
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let job = tasklane::task::spawn_blocking(move || {
            // Real work that takes real time while the clock is paused.
            std::thread::sleep(Duration::from_millis(50));
            d.store(true, Ordering::SeqCst);
        });
        let d = done.clone();
        let sleeper = tasklane::spawn(async move {
            sleep(Duration::from_millis(10)).await;
            (Instant::now() - start, d.load(Ordering::SeqCst))
        });
        let (woke_at, job_done) = sleeper.await.unwrap();
        assert_eq!(woke_at, Duration::from_millis(10));
        assert!(job_done, "the clock moved while a blocking job ran");
        job.await.unwrap();
    });
}

#[test]
fn timeouts_expire_in_virtual_time() {
    on_every_flavour(|| async {
        let start = Instant::now();
        assert!(wait_for(sleep(HOUR), 30 * SEC).await.is_err());
        assert_eq!(Instant::now() - start, 30 * SEC);
        assert_eq!(
            wait_for(
                async {
                    sleep(10 * SEC).await;
                    7
                },
                30 * SEC
            )
            .await,
            Ok(7)
        );
        assert_eq!(Instant::now() - start, 40 * SEC);
        assert!(timeout(SEC, sleep(HOUR)).await.is_err());
        assert_eq!(Instant::now() - start, 41 * SEC);

        let scope = CancelScope::new();
        scope.set_deadline(Instant::now() + 5 * SEC);
        let r = scope.run(sleep(HOUR)).await;
        assert!(r.is_err());
        assert_eq!(Instant::now() - start, 46 * SEC);
    });
}

/// Records the order in which its wakers are woken.
struct Recorder {
    id: u64,
    order: Arc<Mutex<Vec<u64>>>,
}

impl std::task::Wake for Recorder {
    fn wake(self: Arc<Self>) {
        self.order.lock().unwrap().push(self.id);
    }
}

#[test]
fn advance_moves_time_by_exactly_d_waking_timers_in_deadline_order() {
    on_every_flavour(|| async {
        let start = Instant::now();
        // Three sleeps registered out of order, each with a waker that
        // records when it is woken.
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut sleeps: Vec<_> = [3u64, 1, 2]
            .into_iter()
            .map(|s| {
                let waker = std::task::Waker::from(Arc::new(Recorder {
                    id: s,
                    order: order.clone(),
                }));
                let mut sleep = sleep_until(start + Duration::from_secs(s));
                let mut cx = std::task::Context::from_waker(&waker);
                assert!(std::pin::Pin::new(&mut sleep).poll(&mut cx).is_pending());
                sleep
            })
            .collect();
        advance(Duration::from_millis(2500)).await;
        assert_eq!(Instant::now() - start, Duration::from_millis(2500));
        assert_eq!(*order.lock().unwrap(), [1, 2]);
        advance(Duration::from_millis(500)).await;
        assert_eq!(Instant::now() - start, 3 * SEC);
        assert_eq!(*order.lock().unwrap(), [1, 2, 3]);
        for s in &mut sleeps {
            s.await;
        }
        assert_eq!(Instant::now() - start, 3 * SEC);

        // Tasks woken by an advance see the new time; until they have run,
        // a busy runtime keeps it there.
        let woken = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let start = Instant::now();
        let tasks: Vec<_> = [1u64, 2]
            .into_iter()
            .map(|s| {
                let (woken, seen) = (woken.clone(), seen.clone());
                tasklane::spawn(async move {
                    sleep_until(start + Duration::from_secs(s)).await;
                    seen.lock().unwrap().push(Instant::now() - start);
                    woken.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        advance(5 * SEC).await;
        while woken.load(Ordering::SeqCst) < 2 {
            tasklane::task::yield_now().await;
        }
        assert_eq!(*seen.lock().unwrap(), [5 * SEC, 5 * SEC]);
        assert_eq!(Instant::now() - start, 5 * SEC);
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn pause_and_resume_keep_the_clock_monotonic() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let before = Instant::now();
        pause();
        pause(); // idempotent
        let t0 = Instant::now();
        assert!(t0 >= before);
        sleep(HOUR).await;
        assert_eq!(Instant::now() - t0, HOUR);
        resume();
        resume(); // idempotent
        let t1 = Instant::now();
        assert!(t1 >= t0 + HOUR, "the clock went back on resume");
        // Running again, at real speed, an hour ahead of the real clock.
        let real = std::time::Instant::now();
        sleep(Duration::from_millis(20)).await;
        assert!(Instant::now() - t1 >= Duration::from_millis(20));
        assert!(real.elapsed() >= Duration::from_millis(20));
        assert!(Instant::now().into_std() > std::time::Instant::now() + HOUR - SEC);
        // Pausing again stops it where it is.
        pause();
        let t2 = Instant::now();
        assert!(t2 >= t1);
        sleep(SEC).await;
        assert_eq!(Instant::now() - t2, SEC);
    });
}

#[test]
fn a_timer_registered_before_the_pause_fires_on_the_paused_clock() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let deadline = Instant::now() + HOUR;
        let sleeper = tasklane::spawn(async move {
            sleep_until(deadline).await;
            Instant::now()
        });
        // Let it register on the running clock.
        for _ in 0..100 {
            tasklane::task::yield_now().await;
        }
        pause();
        let woke = sleeper.await.unwrap();
        assert!(woke >= deadline);
        assert!(woke - deadline <= tasklane::time::TICK);
    });
}

#[test]
fn an_interval_catches_up_in_bursts_on_advance() {
    on_every_flavour(|| async {
        let mut ticks = interval(SEC);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let start = ticks.tick().await;
        advance(5 * SEC + Duration::from_millis(500)).await;
        for k in 1..=5u32 {
            assert_eq!(ticks.tick().await, start + SEC * k);
        }
        // The sixth is in the future: it comes at its own instant.
        assert_eq!(ticks.tick().await, start + SEC * 6);
        assert_eq!(Instant::now(), start + SEC * 6);
    });
}

#[test]
#[should_panic(expected = "pause, resume and advance act on the current runtime's clock")]
fn pause_outside_a_runtime_panics() {
    pause();
}

#[test]
fn advance_on_a_running_clock_panics() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let r = rt.block_on(rt.spawn(advance(SEC)));
    let err = r.unwrap_err();
    assert!(err.is_panic(), "{err:?}");
}

#[tasklane::test(start_paused = true)]
async fn the_test_macro_starts_paused() {
    let start = Instant::now();
    sleep(24 * HOUR).await;
    assert_eq!(Instant::now() - start, 24 * HOUR);
}

#[tasklane::test(flavor = "current_thread", start_paused = true)]
async fn the_test_macro_starts_paused_on_current_thread() {
    let start = Instant::now();
    let h = tasklane::spawn(async { sleep(HOUR).await });
    sleep(2 * HOUR).await;
    h.await.unwrap();
    assert_eq!(Instant::now() - start, 2 * HOUR);
}

#[test]
fn an_io_wait_does_not_hold_the_clock() {
    // A task waiting on a socket is idle: with nothing else to run, the
    // clock jumps to the timeout's deadline.
    on_every_flavour(|| async {
        let socket = tasklane::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 16];
        assert!(wait_for(socket.recv(&mut buf), 5 * SEC).await.is_err());
        assert_eq!(Instant::now() - start, 5 * SEC);
        // A datagram already there is seen before the clock jumps.
        let peer = tasklane::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        peer.send_to(b"hi", socket.local_addr().unwrap())
            .await
            .unwrap();
        let n = wait_for(socket.recv(&mut buf), 5 * SEC)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"hi");
    });
}

//! Cancellation fuzzing: `tasklane::testing::cancel_sweep` cancels a
//! future right after each of its suspension points in turn, so a test can
//! check that its cleanup runs whichever await the cancellation lands on.
//!
//! The future here checks a connection out of a pool, talks over it, and
//! must give it back. Giving it back starts with a goodbye to the server,
//! an await, so it cannot be a destructor: it is cleanup in a catch point
//! (`task::cancellable`), which then re-raises. The sweep runs three
//! versions:
//!
//! 1. `fetch`: every await after the check-out is inside the catch point;
//!    whichever await is cancelled, the connection goes back;
//! 2. `fetch_leaky_handshake`: the handshake is awaited before the catch
//!    point; a cancellation landing there drops the future with the
//!    connection still checked out. The sweep finds it: the copy cancelled
//!    at suspension point 1 leaks, and only that one;
//! 3. `fetch_leaky_give_back`: the connection is given back after the catch
//!    point, on success and on cancellation alike, which reads well but
//!    puts the goodbye's await outside the catch point: the copy cancelled
//!    there (suspension point 4) leaks.
//!
//! Each copy gets a pool of its own, so the example can say which copy
//! leaked. It checks its results and exits non-zero on a wrong one.
//!
//! Run it with `cargo run --example cancel_sweep`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tasklane::task::{TaskState, cancellable};
use tasklane::testing::{CancelSweep, cancel_sweep};
use tasklane::time::sleep;

/// A connection pool that counts the connections checked out of it.
#[derive(Debug, Default)]
struct Pool {
    checked_out: AtomicUsize,
}

impl Pool {
    fn check_out(self: &Arc<Self>) -> Conn {
        self.checked_out.fetch_add(1, Ordering::SeqCst);
        Conn { pool: self.clone() }
    }

    fn checked_out(&self) -> usize {
        self.checked_out.load(Ordering::SeqCst)
    }
}

/// A connection checked out of a [`Pool`]; [`Conn::give_back`] returns it.
#[derive(Debug)]
struct Conn {
    pool: Arc<Pool>,
}

impl Conn {
    async fn handshake(&self) {
        sleep(Duration::from_millis(2)).await;
    }

    async fn request(&self) -> u16 {
        tasklane::yield_now().await; // the request goes out
        sleep(Duration::from_millis(2)).await; // the answer comes back
        200
    }

    /// Says goodbye to the server, then returns the connection to its pool.
    /// Cancelled during the goodbye, it has not returned it.
    async fn give_back(&self) {
        tasklane::yield_now().await;
        self.pool.checked_out.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Every await after the check-out is inside the catch point, the giving
/// back on success included; on a cancellation, the catch point's code
/// gives the connection back and re-raises.
async fn fetch(pool: Arc<Pool>) -> u16 {
    let conn = pool.check_out();
    let talk = cancellable(async {
        conn.handshake().await;
        let status = conn.request().await;
        conn.give_back().await;
        status
    });
    match talk.await {
        Ok(status) => status,
        Err(cancelled) => {
            conn.give_back().await;
            cancelled.reraise().await
        }
    }
}

/// The handshake is awaited before the catch point: a cancellation there
/// drops the future with the connection still checked out.
async fn fetch_leaky_handshake(pool: Arc<Pool>) -> u16 {
    let conn = pool.check_out();
    conn.handshake().await;
    let talk = cancellable(async {
        let status = conn.request().await;
        conn.give_back().await;
        status
    });
    match talk.await {
        Ok(status) => status,
        Err(cancelled) => {
            conn.give_back().await;
            cancelled.reraise().await
        }
    }
}

/// The giving back on success is written after the catch point, where a
/// cancellation during the goodbye drops it half done.
async fn fetch_leaky_give_back(pool: Arc<Pool>) -> u16 {
    let conn = pool.check_out();
    let talk = cancellable(async {
        conn.handshake().await;
        conn.request().await
    });
    let result = talk.await;
    conn.give_back().await;
    match result {
        Ok(status) => status,
        Err(cancelled) => cancelled.reraise().await,
    }
}

/// Sweeps the future `fetch` builds, each copy with a pool of its own, and
/// returns the sweep and the `k`s of the copies that leaked a connection.
async fn sweep<F, Fut>(name: &str, fetch: F) -> (CancelSweep, Vec<usize>)
where
    F: Fn(Arc<Pool>) -> Fut,
    Fut: Future<Output = u16> + Send + 'static,
{
    let pools = Mutex::new(Vec::new());
    let sweep = cancel_sweep(|| {
        let pool = Arc::new(Pool::default());
        pools.lock().unwrap().push(pool.clone());
        fetch(pool)
    })
    .await;
    let pools = pools.into_inner().unwrap();
    println!(
        "{name}: {} suspension points; reference run returned its connection: {}",
        sweep.suspension_points(),
        pools[0].checked_out() == 0
    );
    let mut leaked = Vec::new();
    for (k, state) in (1..).zip(sweep.outcomes()) {
        let left = pools[k].checked_out();
        let verdict = if left == 0 { "returned" } else { "LEAKED" };
        println!("  cancelled after suspension point {k}: {state}, connection {verdict}");
        if left != 0 {
            leaked.push(k);
        }
    }
    assert_eq!(
        pools[0].checked_out(),
        0,
        "{name}: the reference run leaked"
    );
    (sweep, leaked)
}

#[tasklane::main]
async fn main() {
    // Each version awaits four times: the handshake (1), the request (2)
    // and the goodbye (1).
    let (correct, leaked) = sweep("fetch", fetch).await;
    assert_eq!(correct.suspension_points(), 4);
    assert_eq!(correct.outcomes(), [TaskState::Cancelled; 4]);
    assert!(leaked.is_empty(), "fetch leaked at {leaked:?}");

    // The outcomes are the same (the cancellation ended every copy); the
    // pools say where the cleanup was skipped.
    let (leaky, leaked) = sweep("fetch_leaky_handshake", fetch_leaky_handshake).await;
    assert_eq!(leaky.suspension_points(), 4);
    assert_eq!(leaky.outcomes(), [TaskState::Cancelled; 4]);
    assert_eq!(leaked, [1], "leaks at the handshake only");

    let (leaky, leaked) = sweep("fetch_leaky_give_back", fetch_leaky_give_back).await;
    assert_eq!(leaky.suspension_points(), 4);
    assert_eq!(leaky.outcomes(), [TaskState::Cancelled; 4]);
    assert_eq!(leaked, [4], "leaks at the goodbye only");

    println!("cancel_sweep: both leaks found, each at the await where it happens");
}

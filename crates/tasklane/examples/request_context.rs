//! A request id in a task-local, followed into every task a request
//! spawns and into its log lines: asyncio's `contextvars` example.
//!
//! ```python
//! request_id = contextvars.ContextVar("request_id")
//!
//! def log(msg):
//!     print(f"[req-{request_id.get()}] {msg}")
//!
//! async def handle(n):
//!     request_id.set(n)        # this task's context only
//!     user = asyncio.create_task(fetch_user())     # copies the context
//!     page = await asyncio.to_thread(render)       # so does to_thread
//!     ...
//! ```
//!
//! A server-ish loop handles several requests at once, each in its own
//! task; each handler sets `REQUEST_ID` in a scope and spawns child tasks
//! (one of which spawns a grandchild) and a blocking job, and none of them
//! is given the id: they read it from the task-local when they log. Each
//! log call also records, for checking only, the request its code belongs
//! to. A background task started before any request logs untagged.
//!
//! The example checks that every line carries its own request's id, that
//! each request logged every line it should, and that the background task
//! saw no id; it exits non-zero otherwise. Run it with
//! `cargo run --example request_context`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tasklane::TaskSet;
use tasklane::time::sleep;

tasklane::task_local! {
    /// The request being served, set by its handler.
    static REQUEST_ID: u64;
}

const REQUESTS: u64 = 8;
/// Lines each request logs: the handler's two, two children's, the
/// grandchild's and the blocking job's.
const LINES_PER_REQUEST: usize = 6;

/// One log line, with the request whose code wrote it (for the check).
struct Line {
    wrote_for: Option<u64>,
    text: String,
}

type Log = Arc<Mutex<Vec<Line>>>;

/// The logger: tags the message with the request id from the task-local,
/// as a logging filter reading a `ContextVar` would.
fn log(out: &Log, wrote_for: Option<u64>, msg: &str) {
    let tag = match REQUEST_ID.try_get() {
        Some(id) => format!("[req-{id}]"),
        None => "[no request]".to_string(),
    };
    let text = format!("{tag} {msg}");
    println!("{text}");
    out.lock().unwrap().push(Line { wrote_for, text });
}

/// A short, request-dependent wait, so that requests interleave.
fn jitter(n: u64, step: u64) -> Duration {
    Duration::from_micros(100 + (n * 37 + step * 53) % 400)
}

async fn fetch_user(out: Log, me: u64) -> String {
    sleep(jitter(me, 1)).await;
    log(&out, Some(me), "user loaded");
    format!("user{}", REQUEST_ID.get() % 3)
}

async fn fetch_orders(out: Log, me: u64) -> usize {
    // A grandchild: spawned by a child, it inherits the child's values.
    let audit = tasklane::spawn({
        let out = out.clone();
        async move {
            sleep(jitter(me, 2)).await;
            log(&out, Some(me), "audit record written");
        }
    });
    sleep(jitter(me, 3)).await;
    log(&out, Some(me), "orders loaded");
    audit.await.expect("the audit task completes");
    REQUEST_ID.get() as usize % 4
}

async fn handle(out: Log, me: u64) {
    log(&out, Some(me), "request received");
    let user = tasklane::spawn(fetch_user(out.clone(), me));
    let orders = tasklane::spawn(fetch_orders(out.clone(), me));
    let (user, orders) = (user.await.unwrap(), orders.await.unwrap());
    // asyncio.to_thread: the blocking job runs with the request's values.
    let page = tasklane::spawn_blocking({
        let out = out.clone();
        move || {
            std::thread::sleep(jitter(me, 4));
            log(&out, Some(me), "page rendered");
            format!("<h1>{user}: {orders} orders</h1>")
        }
    })
    .await
    .unwrap();
    log(
        &out,
        Some(me),
        &format!("response sent ({} bytes)", page.len()),
    );
}

fn main() -> ExitCode {
    let out: Log = Arc::default();
    let o = out.clone();
    tasklane::run(async move {
        // Started before any request: it never sees a request id.
        let background = tasklane::spawn({
            let o = o.clone();
            async move {
                sleep(Duration::from_millis(1)).await;
                log(&o, None, "background flush");
            }
        });
        // The accept loop: one task per request, reaped as they finish.
        let mut requests = TaskSet::new();
        for n in 1..=REQUESTS {
            requests.spawn(REQUEST_ID.scope(n, handle(o.clone(), n)));
        }
        while let Some(r) = requests.join_next().await {
            r.expect("a request handler completes");
        }
        background.await.expect("the background task completes");
        assert_eq!(
            REQUEST_ID.try_get(),
            None,
            "the accept loop has no request id"
        );
    });

    let lines = out.lock().unwrap();
    let mut per_request: BTreeMap<u64, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for line in lines.iter() {
        let expected = match line.wrote_for {
            Some(id) => {
                *per_request.entry(id).or_default() += 1;
                format!("[req-{id}] ")
            }
            None => "[no request] ".to_string(),
        };
        if !line.text.starts_with(&expected) {
            wrong.push(format!("{:?} should start with {expected:?}", line.text));
        }
    }
    let background = lines.iter().filter(|l| l.wrote_for.is_none()).count();
    for n in 1..=REQUESTS {
        let got = per_request.get(&n).copied().unwrap_or(0);
        if got != LINES_PER_REQUEST {
            wrong.push(format!(
                "request {n} logged {got} lines, not {LINES_PER_REQUEST}"
            ));
        }
    }
    if background != 1 {
        wrong.push(format!("{background} background lines, not 1"));
    }
    if !wrong.is_empty() {
        for w in &wrong {
            eprintln!("wrong: {w}");
        }
        return ExitCode::FAILURE;
    }
    println!(
        "ok: {} lines from {REQUESTS} concurrent requests, each tagged with its own \
         request id (handler, children, a grandchild, a blocking job); the background \
         task's line is untagged",
        lines.len()
    );
    ExitCode::SUCCESS
}

//! Profiling with `tracing-chrome`: a timeline of tasklane's tasks, one
//! slice per poll, to open in Perfetto.
//!
//! Run it with
//!
//! ```text
//! cargo run -p tasklane --example profile --release [-- <trace.json>]
//! ```
//!
//! then open the file it writes (default `trace-tasklane.json`) at
//! <https://ui.perfetto.dev> → "Open trace file" (or in `chrome://tracing`).
//!
//! What it does:
//!
//! 1. installs, as the global default, a `tracing_subscriber::registry()`
//!    with a `Targets` filter (`tasklane::task` at TRACE, so the per-task
//!    spans are enabled, with the DEBUG lifecycle events; `tasklane::slow_poll`
//!    at WARN), a small layer that keeps each task span's `name` field, and a
//!    `tracing_chrome::ChromeLayer` whose `name_fn` names every slice after its
//!    task (a `name_fn` only sees the span's metadata and extensions, not its
//!    fields, hence the small layer); `include_args(true)` keeps `id`, `name`
//!    and `spawned_at` in each slice's arguments. Threads are named in the
//!    trace after the runtime's threads (`tasklane-worker-0`, ...);
//! 2. runs a short, varied workload (about a third of a second) on a 2-worker
//!    runtime made by `#[tasklane::main(worker_threads = 2)]`: a producer and a
//!    consumer over a bounded `tasklane::sync` channel, CPU-bound crunchers
//!    that `yield_now` between chunks, a sleeper, a `spawn_blocking` job, a
//!    task that spawns and awaits children, a `TaskGroup`, a `gather`, and a
//!    hog that holds its worker for 120 ms (reported as a slow poll);
//! 3. once the runtime is shut down (every poll has ended), drops the
//!    `FlushGuard`, which writes and closes the trace, then reads the trace
//!    back and checks it: valid JSON, every slice begun is ended on the same
//!    thread, every named task has slices, both workers ran slices, the
//!    blocking job ran on the blocking pool and the hog's slow poll is there.
//!
//! The runtime is made by `#[tasklane::main]` on `workload`, not on `main`, so
//! that the guard outlives it: dropped at the end of an `async fn main`, it
//! would close the trace before the runtime's shutdown, losing whatever the
//! runtime's threads record after that (the polls of tasks cancelled at
//! shutdown, say; a poll under way would leave a slice without its end).

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::fmt;
use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use tasklane::task;
use tasklane::time::sleep;
use tasklane::{TaskGroup, sync, yield_now};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Level, Subscriber};
use tracing_chrome::{ChromeLayerBuilder, EventOrSpan};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// The tasks given a name by the workload (the `gather` children are left
/// unnamed, so they show up as `Task-{id}`).
const NAMED: &[&str] = &[
    "producer",
    "consumer",
    "crunch-0",
    "crunch-1",
    "crunch-2",
    "crunch-3",
    "sleeper",
    "blocking-read",
    "fan-out",
    "fan-out/child-0",
    "fan-out/child-1",
    "fan-out/child-2",
    "group/a",
    "group/b",
    "group/c",
    "hog",
];

// --- naming slices after their task -----------------------------------------

/// A task span's `name` field, kept in the span's extensions by [`TaskNames`].
struct TaskName(String);

/// Keeps the `name` field of every `tasklane::task` span where
/// `tracing-chrome`'s `name_fn` can read it.
struct TaskNames;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for TaskNames {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().target() != "tasklane::task" {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let (Some(name), Some(span)) = (fields.name, ctx.span(id)) {
            span.extensions_mut().insert(TaskName(name));
        }
    }
}

/// The `name` and `message` fields of a span or an event.
#[derive(Default)]
struct Fields {
    name: Option<String>,
    message: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "name" => self.name = Some(value.to_owned()),
            "message" => self.message = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "name" => self.name = Some(format!("{value:?}")),
            "message" => self.message = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

/// The name of a trace entry: a task span is called after its task; an event
/// after what happened and to which task (`spawned producer`, `slow poll:
/// hog`).
fn entry_name<S>(entry: &EventOrSpan<'_, '_, S>) -> String
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    match entry {
        EventOrSpan::Span(span) => match span.extensions().get::<TaskName>() {
            Some(TaskName(name)) => name.clone(),
            None => span.name().to_owned(),
        },
        EventOrSpan::Event(event) => {
            let mut fields = Fields::default();
            event.record(&mut fields);
            let task = fields.name.unwrap_or_default();
            if event.metadata().target() == "tasklane::slow_poll" {
                format!("slow poll: {task}")
            } else {
                let what = fields
                    .message
                    .unwrap_or_else(|| event.metadata().name().into());
                format!("{what} {task}")
            }
        }
    }
}

// --- the workload -------------------------------------------------------------

/// Burns the CPU for `d` (wall clock), as real work between two awaits would.
fn spin(d: Duration) -> u64 {
    let start = Instant::now();
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    while start.elapsed() < d {
        for i in 0..64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
        }
        x = std::hint::black_box(x);
    }
    x
}

/// A CPU-bound task: `rounds` chunks of `chunk` each, yielding in between so
/// the other tasks (and the other worker, by stealing) get their turn.
async fn crunch(rounds: u32, chunk: Duration) -> u64 {
    let mut acc = 0u64;
    for _ in 0..rounds {
        acc ^= spin(chunk);
        yield_now().await;
    }
    acc
}

/// What the workload observed, checked by `main`.
#[derive(Debug)]
struct Summary {
    took: Duration,
    consumed: u64,
    blocking_thread: String,
}

const ITEMS: u64 = 48;

/// The workload, on its own 2-worker runtime, which `#[tasklane::main]`
/// builds, drives and shuts down (gracefully) on each call.
#[tasklane::main(worker_threads = 2)]
async fn workload() -> Summary {
    let start = Instant::now();
    let named = |name: &'static str| task::Builder::new().name(name);

    // Phase 1: a pipeline, CPU-bound crunchers, a sleeper, a blocking job.
    let (tx, rx) = sync::bounded::<u64>(8);
    let producer = named("producer").spawn(async move {
        for i in 0..ITEMS {
            spin(Duration::from_micros(300)); // "make" the item
            tx.send(i)
                .await
                .expect("the consumer outlives the producer");
            if i % 16 == 15 {
                sleep(Duration::from_millis(10)).await; // a pause upstream
            }
        }
    });
    let consumer = named("consumer").spawn(async move {
        let mut sum = 0;
        while let Ok(item) = rx.recv().await {
            spin(Duration::from_micros(600)); // "process" it
            sum += item;
        }
        sum
    });
    // 10, 12, 14 and 16 chunks of 3 ms.
    let crunchers: Vec<_> = ["crunch-0", "crunch-1", "crunch-2", "crunch-3"]
        .into_iter()
        .zip((10..).step_by(2))
        .map(|(name, rounds)| named(name).spawn(crunch(rounds, Duration::from_millis(3))))
        .collect();
    let sleeper = named("sleeper").spawn(async {
        for _ in 0..3 {
            sleep(Duration::from_millis(40)).await;
            spin(Duration::from_millis(1));
        }
    });
    let blocking = named("blocking-read").spawn_blocking(|| {
        std::thread::sleep(Duration::from_millis(60)); // a slow read(2)
        spin(Duration::from_millis(5));
        std::thread::current().name().unwrap_or("?").to_owned()
    });

    producer.await.expect("producer");
    let consumed = consumer.await.expect("consumer");
    for c in crunchers {
        c.await.expect("cruncher");
    }
    sleeper.await.expect("sleeper");
    let blocking_thread = blocking.await.expect("blocking-read");

    // Phase 2: structured concurrency, next to a hog on one worker.
    let hog = named("hog").spawn(async {
        sleep(Duration::from_millis(5)).await;
        spin(Duration::from_millis(120)) // no await: a slow poll
    });
    let fan_out = named("fan-out").spawn(async {
        let children: Vec<_> = ["fan-out/child-0", "fan-out/child-1", "fan-out/child-2"]
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                task::Builder::new().name(name).spawn(async move {
                    sleep(Duration::from_millis(5 * i as u64)).await;
                    crunch(4, Duration::from_millis(2)).await
                })
            })
            .collect();
        let mut acc = 0;
        for child in children {
            acc ^= child.await.expect("child");
            spin(Duration::from_micros(500)); // merge its result
        }
        acc
    });
    let mut group: TaskGroup<u64, String> = TaskGroup::new();
    for (name, rounds) in [("group/a", 3), ("group/b", 5), ("group/c", 7)] {
        group.spawn_named(name, async move {
            Ok(crunch(rounds, Duration::from_millis(2)).await)
        });
    }
    let gathered = tasklane::gather((1..=4u64).map(|i| async move {
        sleep(Duration::from_millis(3 * i)).await;
        spin(Duration::from_millis(i));
        i * i
    }));

    fan_out.await.expect("fan-out");
    let group_out = group.join().await.expect("no group child fails");
    assert_eq!(group_out.len(), 3);
    assert_eq!(gathered.await, [1, 4, 9, 16]);
    hog.await.expect("hog");

    Summary {
        took: start.elapsed(),
        consumed,
        blocking_thread,
    }
}

// --- reading the trace back -----------------------------------------------------

/// One complete slice (a `B` and its `E`) of the trace.
#[derive(Debug)]
struct Slice {
    tid: u64,
    name: String,
    dur_us: f64,
}

/// The slices and instant events of a Chrome trace file, with thread names.
#[derive(Debug, Default)]
struct Trace {
    threads: BTreeMap<u64, String>,
    slices: Vec<Slice>,
    instants: Vec<(u64, String)>,
}

fn read_trace(path: &PathBuf) -> Result<Trace, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)?;
    let entries: Vec<Value> = serde_json::from_str(&text)?;
    let mut trace = Trace::default();
    let mut open: BTreeMap<u64, Vec<(String, f64)>> = BTreeMap::new();
    for e in &entries {
        let ph = e["ph"].as_str().ok_or("entry without ph")?;
        let tid = e["tid"].as_u64().ok_or("entry without tid")?;
        let name = e["name"].as_str().unwrap_or_default().to_owned();
        let ts = e["ts"].as_f64();
        match ph {
            "M" if name == "thread_name" => {
                let thread = e["args"]["name"].as_str().unwrap_or_default();
                trace.threads.insert(tid, thread.to_owned());
            }
            "B" => open
                .entry(tid)
                .or_default()
                .push((name, ts.ok_or("B without ts")?)),
            "E" => {
                let (begun, at) = open
                    .get_mut(&tid)
                    .and_then(Vec::pop)
                    .ok_or_else(|| format!("E of {name} on thread {tid} without a B"))?;
                if begun != name {
                    return Err(format!("B {begun} closed by E {name} on thread {tid}").into());
                }
                let dur_us = ts.ok_or("E without ts")? - at;
                trace.slices.push(Slice { tid, name, dur_us });
            }
            "i" => trace.instants.push((tid, name)),
            _ => {}
        }
    }
    if let Some((tid, left)) = open.iter().find(|(_, stack)| !stack.is_empty()) {
        return Err(format!("slices never ended on thread {tid}: {left:?}").into());
    }
    Ok(trace)
}

fn main() -> Result<(), Box<dyn Error>> {
    let path = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .unwrap_or_else(|| "trace-tasklane.json".into()),
    );

    let filter = Targets::new()
        .with_target("tasklane::task", Level::TRACE)
        .with_target("tasklane::slow_poll", Level::WARN);
    let (chrome, guard) = ChromeLayerBuilder::new()
        .writer(File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?)
        .include_args(true) // each slice carries its task's id, name, spawned_at
        .include_locations(false) // that would be trace.rs's, for every slice
        .name_fn(Box::new(entry_name))
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(TaskNames)
        .with(chrome);
    tracing::subscriber::set_global_default(subscriber)?;

    let summary = workload(); // builds the runtime, runs, shuts it down
    drop(guard); // writes the end of the trace and closes the file
    println!(
        "workload: {:.0?} on 2 workers; the consumer got {} items",
        summary.took, ITEMS
    );
    assert_eq!(summary.consumed, ITEMS * (ITEMS - 1) / 2);

    // Check what was written.
    let bytes = std::fs::metadata(&path)?.len();
    let trace = read_trace(&path)?;
    let thread_of = |tid: u64| trace.threads.get(&tid).map_or("?", String::as_str);

    println!("\nslices per thread:");
    let mut per_thread: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &trace.slices {
        *per_thread.entry(thread_of(s.tid)).or_default() += 1;
    }
    for (thread, n) in &per_thread {
        println!("  {thread:<20} {n:>5}");
    }

    println!("\nslices per task (count, total time, threads):");
    let mut per_task: BTreeMap<&str, (usize, f64, BTreeSet<&str>)> = BTreeMap::new();
    for s in &trace.slices {
        let t = per_task.entry(s.name.as_str()).or_default();
        t.0 += 1;
        t.1 += s.dur_us;
        t.2.insert(thread_of(s.tid));
    }
    for (task, (n, us, threads)) in &per_task {
        let threads: Vec<_> = threads.iter().copied().collect();
        println!(
            "  {task:<16} {n:>4} {:>8.2} ms  {}",
            us / 1000.0,
            threads.join(", ")
        );
    }
    let slow: Vec<_> = trace
        .instants
        .iter()
        .filter(|(_, n)| n.starts_with("slow poll"))
        .map(|(tid, n)| format!("{n} (on {})", thread_of(*tid)))
        .collect();
    println!("\nslow polls: {}", slow.join("; "));

    // What a profile of this workload must show.
    let workers: BTreeSet<&str> = per_thread
        .keys()
        .copied()
        .filter(|t| t.contains("-worker-"))
        .collect();
    assert_eq!(
        workers.len(),
        2,
        "slices on both workers, got {per_thread:?}"
    );
    for name in NAMED {
        assert!(
            per_task.contains_key(name),
            "no slice for task {name:?} in the trace"
        );
    }
    assert!(
        per_task.keys().any(|t| t.starts_with("Task-")),
        "gather's unnamed children are Task-{{id}}"
    );
    assert!(
        summary.blocking_thread.contains("-blocking"),
        "spawn_blocking ran on {}",
        summary.blocking_thread
    );
    assert!(
        per_task["blocking-read"]
            .2
            .iter()
            .all(|t| *t == summary.blocking_thread),
        "the blocking job's slice is on the blocking thread"
    );
    assert!(
        per_task["hog"].1 >= 100_000.0,
        "the hog's poll held its worker for at least 100 ms"
    );
    assert!(
        slow.iter().any(|s| s.starts_with("slow poll: hog")),
        "the hog's slow poll is in the trace"
    );

    println!(
        "\nwrote {} ({} KiB: {} slices on {} threads, {} instant events)",
        path.display(),
        bytes / 1024,
        trace.slices.len(),
        per_thread.len(),
        trace.instants.len()
    );
    println!(
        "open it at https://ui.perfetto.dev -> \"Open trace file\" (or chrome://tracing -> Load)"
    );
    Ok(())
}

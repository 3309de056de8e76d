//! How late 1 ms sleeps end, on tasklane, tokio and smol (async-io), in one
//! run: a distribution, so this is a plain harness rather than criterion.
//!
//! On an otherwise idle runtime, one task sleeps 1 ms `TASKLANE_LATENESS_N`
//! times in a row (default 2000, after 50 unrecorded warm-up sleeps) and
//! records, for each, how long after its deadline the task was running
//! again. The runtimes take turns in chunks of 100 sleeps so that a noisy
//! phase of the shared machine hits all three alike. Prints p50, p90, p99
//! and max per runtime, with tasklane/tokio and tasklane/smol ratios, and
//! writes them as JSON to `target/bench-runs/lateness.json` (or
//! `$TASKLANE_LATENESS_OUT`).
//!
//! `cargo bench -p tasklane-benches --bench timer_lateness`

use std::time::{Duration, Instant};

use tasklane_benches::{BenchRuntime, Smol, Spawner, Tasklane, Tokio, env_or, workers};

const SLEEP: Duration = Duration::from_millis(1);
const CHUNK: usize = 100;
const WARMUP: usize = 50;

/// `n` sequential 1 ms sleeps in one task; the lateness of each, in µs.
fn run_chunk<R: BenchRuntime>(rt: &R, n: usize) -> Vec<f64> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn_detached(async move {
        let mut late = Vec::with_capacity(n);
        for _ in 0..n {
            let deadline = Instant::now() + SLEEP;
            <R::Spawner as Spawner>::sleep(SLEEP).await;
            let now = Instant::now();
            assert!(now >= deadline, "a sleep ended early");
            late.push((now - deadline).as_secs_f64() * 1e6);
        }
        tx.send(late).unwrap();
    });
    rx.recv().unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Stats {
    name: &'static str,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

fn stats(name: &'static str, mut v: Vec<f64>) -> Stats {
    v.sort_by(f64::total_cmp);
    Stats {
        name,
        p50: percentile(&v, 0.5),
        p90: percentile(&v, 0.9),
        p99: percentile(&v, 0.99),
        max: *v.last().unwrap(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a `cargo test --benches` run passes
    // nothing and only checks that the harness works, briefly.
    let bench = std::env::args().any(|a| a == "--bench");
    let n: usize = env_or("TASKLANE_LATENESS_N", if bench { 2000 } else { 200 });
    let workers = workers();
    let (tl, tk, sm) = (
        Tasklane::start(workers),
        Tokio::start(workers),
        Smol::start(workers),
    );
    run_chunk(&tl, WARMUP);
    run_chunk(&tk, WARMUP);
    run_chunk(&sm, WARMUP);
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    let mut done = 0;
    while done < n {
        let k = CHUNK.min(n - done);
        a.extend(run_chunk(&tl, k));
        b.extend(run_chunk(&tk, k));
        c.extend(run_chunk(&sm, k));
        done += k;
    }
    let all = [stats("tasklane", a), stats("tokio", b), stats("smol", c)];
    println!("lateness of {n} sequential 1 ms sleeps, {workers} workers (µs past the deadline)\n");
    println!("| runtime | p50 | p90 | p99 | max |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for s in &all {
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} |",
            s.name, s.p50, s.p90, s.p99, s.max
        );
    }
    let ratio = |x: f64, y: f64| if y > 0.0 { x / y } else { f64::NAN };
    println!(
        "\ntasklane/tokio: p50 {:.2}, p99 {:.2}; tasklane/smol: p50 {:.2}, p99 {:.2}",
        ratio(all[0].p50, all[1].p50),
        ratio(all[0].p99, all[1].p99),
        ratio(all[0].p50, all[2].p50),
        ratio(all[0].p99, all[2].p99),
    );
    let json = all
        .iter()
        .map(|s| {
            format!(
                "\"{}\": {{\"p50\": {:.1}, \"p90\": {:.1}, \"p99\": {:.1}, \"max\": {:.1}}}",
                s.name, s.p50, s.p90, s.p99, s.max
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    // A relative `TASKLANE_LATENESS_OUT` is taken from the workspace root
    // (cargo runs benches from the package's directory).
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = std::env::var("TASKLANE_LATENESS_OUT")
        .map(|p| {
            if std::path::Path::new(&p).is_relative() {
                format!("{root}/{p}")
            } else {
                p
            }
        })
        .unwrap_or_else(|_| {
            let target = std::env::var("CARGO_TARGET_DIR")
                .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_owned());
            format!("{target}/bench-runs/lateness.json")
        });
    if let Some(dir) = std::path::Path::new(&out).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&out, format!("{{\"n\": {n}, {json}}}\n")).expect("write lateness JSON");
    eprintln!("wrote {out}");
}

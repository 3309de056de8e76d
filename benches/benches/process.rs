//! Child processes: tasklane's `process` against tokio's and against the
//! standard library on a thread of its own, in one run: a plain harness,
//! rounds interleaved between the three, medians reported.
//!
//! - `spawn_wait/seq`: `true` spawned and waited for, 200 times in turn.
//! - `spawn_wait/par`: 200 `true`s spawned from 200 tasks at once, each
//!   waited for by its task (std: spawned in a loop, then waited in turn).
//! - `output`: `echo hello`'s output captured (`output()`), 100 times in
//!   turn.
//!
//! Most of each figure is the kernel's `fork`/`exec`; the differences are
//! how each runtime notices the exit (tasklane and tokio: a pidfd on the
//! reactor; std: a blocking `waitpid`) and reads the pipes.
//!
//! `TASKLANE_PROC_N` sets the 200 (100 for `output`: half of it; default
//! 20 outside `cargo bench`), `TASKLANE_PROC_RUNS` the rounds (default 5,
//! 1 otherwise).
//!
//! `cargo bench -p tasklane-benches --bench process`

use std::time::{Duration, Instant};

use tasklane_benches::{BenchRuntime, Tasklane, env_or, workers};

mod tl {
    use tasklane::process::Command;

    pub(super) async fn seq(n: usize) {
        for _ in 0..n {
            assert!(Command::new("true").status().await.unwrap().success());
        }
    }

    pub(super) async fn par(n: usize) {
        let hs: Vec<_> = (0..n)
            .map(|_| {
                tasklane::spawn(async {
                    assert!(Command::new("true").status().await.unwrap().success());
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    }

    pub(super) async fn output(n: usize) {
        for _ in 0..n {
            let out = Command::new("echo").arg("hello").output().await.unwrap();
            assert_eq!(out.stdout, b"hello\n");
        }
    }
}

mod tk {
    use tokio::process::Command;

    pub(super) async fn seq(n: usize) {
        for _ in 0..n {
            assert!(Command::new("true").status().await.unwrap().success());
        }
    }

    pub(super) async fn par(n: usize) {
        let hs: Vec<_> = (0..n)
            .map(|_| {
                tokio::spawn(async {
                    assert!(Command::new("true").status().await.unwrap().success());
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    }

    pub(super) async fn output(n: usize) {
        for _ in 0..n {
            let out = Command::new("echo").arg("hello").output().await.unwrap();
            assert_eq!(out.stdout, b"hello\n");
        }
    }
}

mod st {
    use std::process::Command;

    pub(super) fn seq(n: usize) {
        for _ in 0..n {
            assert!(Command::new("true").status().unwrap().success());
        }
    }

    pub(super) fn par(n: usize) {
        let children: Vec<_> = (0..n)
            .map(|_| Command::new("true").spawn().unwrap())
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
    }

    pub(super) fn output(n: usize) {
        for _ in 0..n {
            let out = Command::new("echo").arg("hello").output().unwrap();
            assert_eq!(out.stdout, b"hello\n");
        }
    }

    /// Runs `f` on a thread of its own (its start is measured too).
    pub(super) fn on_thread(f: impl FnOnce() + Send + 'static) {
        std::thread::spawn(f).join().unwrap();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n: usize = env_or("TASKLANE_PROC_N", if bench { 200 } else { 20 });
    let runs: usize = env_or("TASKLANE_PROC_RUNS", if bench { 5 } else { 1 });
    let workers = workers();
    let tl = Tasklane::start(workers);
    let tk = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();

    let workloads = ["spawn_wait/seq", "spawn_wait/par", "output"];
    let mut times: Vec<[Vec<Duration>; 3]> = workloads.iter().map(|_| Default::default()).collect();
    for round in 0..runs {
        eprintln!("round {} of {runs}", round + 1);
        for (w, &name) in workloads.iter().enumerate() {
            let r = &mut times[w];
            match name {
                "spawn_wait/seq" => {
                    r[0].push(timed(|| tl.block_on(tl::seq(n))));
                    r[1].push(timed(|| tk.block_on(tk::seq(n))));
                    r[2].push(timed(|| st::on_thread(move || st::seq(n))));
                }
                "spawn_wait/par" => {
                    r[0].push(timed(|| tl.block_on(tl::par(n))));
                    r[1].push(timed(|| tk.block_on(tk::par(n))));
                    r[2].push(timed(|| st::on_thread(move || st::par(n))));
                }
                _ => {
                    let m = n / 2;
                    r[0].push(timed(|| tl.block_on(tl::output(m))));
                    r[1].push(timed(|| tk.block_on(tk::output(m))));
                    r[2].push(timed(|| st::on_thread(move || st::output(m))));
                }
            }
        }
    }

    println!("processes: n = {n}; {workers} workers; median of {runs} rounds (ms)\n");
    println!("| workload | tasklane | tokio | std thread | tasklane/tokio | tasklane/std |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (w, name) in workloads.iter().enumerate() {
        let [a, b, c] = std::mem::take(&mut times[w]).map(median);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} |",
            ms(a),
            ms(b),
            ms(c),
            ms(a) / ms(b),
            ms(a) / ms(c)
        );
    }
}

//! Files: tasklane's `fs` against tokio's `fs` and against the standard
//! library on a thread of its own, in one run: a plain harness (each
//! workload is one long measurement), rounds interleaved between the three,
//! medians reported.
//!
//! - `big/1MiB`: read a 1 GiB file to its end through a 1 MiB buffer
//!   (`File` + `read`; for std, `std::fs::File::read` on a spawned thread).
//! - `big/8KiB`: the same file through an 8 KiB buffer: many small reads,
//!   where tasklane's read-ahead (64 KiB per pool job at least) and tokio's
//!   one pool job per read differ.
//! - `tree/seq`: a tree of 10 000 small files (100 directories of 100
//!   files of 1 KiB): `read_dir` of the root and of each directory, then
//!   `fs::read` of every file, one after the other.
//! - `tree/par`: the same walk with one task per directory (std: the same
//!   sequential walk on one thread, for reference).
//!
//! The files are made once, before measuring, in a directory under the
//! system's temporary directory, and removed at the end (also on a panic).
//! After the first round they are in the page cache, so the figures are
//! the runtimes' overhead over a copy from memory, not the disk's speed.
//!
//! `TASKLANE_FS_MIB` sets the big file's size (default 1024 under
//! `cargo bench`, 16 otherwise), `TASKLANE_FS_FILES` the tree's file count
//! (default 10 000, 400 otherwise), `TASKLANE_FS_RUNS` the rounds (default
//! 5, 1 otherwise).
//!
//! `cargo bench -p tasklane-benches --bench fs`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tasklane_benches::{BenchRuntime, Tasklane, env_or, workers};

const BIG_NAME: &str = "big.bin";
const DIRS: usize = 100;
const SMALL: usize = 1024;

/// The bench's directory, removed with everything in it when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn make_files(root: &Path, mib: usize, files: usize) {
    use std::io::Write;
    let mut f = std::fs::File::create(root.join(BIG_NAME)).unwrap();
    let chunk: Vec<u8> = (0..1024 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    for _ in 0..mib {
        f.write_all(&chunk).unwrap();
    }
    f.sync_all().unwrap();
    let per_dir = files.div_ceil(DIRS);
    for i in 0..files {
        let dir = root.join("tree").join(format!("d{}", i / per_dir));
        if i % per_dir == 0 {
            std::fs::create_dir_all(&dir).unwrap();
        }
        std::fs::write(dir.join(format!("f{i}")), &chunk[..SMALL]).unwrap();
    }
}

/// What a workload read: bytes and files, checked against the setup.
type Count = (u64, usize);

mod tl {
    use super::*;
    use futures_lite::AsyncReadExt;
    use tasklane::fs;

    pub(super) async fn big(path: PathBuf, buf_len: usize) -> Count {
        let mut f = fs::File::open(path).await.unwrap();
        let mut buf = vec![0u8; buf_len];
        let mut total = 0u64;
        loop {
            let n = f.read(&mut buf).await.unwrap();
            if n == 0 {
                return (total, 1);
            }
            total += n as u64;
        }
    }

    async fn dir(path: PathBuf) -> Count {
        let mut c = (0, 0);
        for e in fs::read_dir(path).await.unwrap() {
            c.0 += fs::read(e.unwrap().path()).await.unwrap().len() as u64;
            c.1 += 1;
        }
        c
    }

    pub(super) async fn tree(root: PathBuf, parallel: bool) -> Count {
        let dirs: Vec<PathBuf> = fs::read_dir(root)
            .await
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        let mut c = (0, 0);
        if parallel {
            let hs: Vec<_> = dirs.into_iter().map(|d| tasklane::spawn(dir(d))).collect();
            for h in hs {
                let (b, n) = h.await.unwrap();
                (c.0, c.1) = (c.0 + b, c.1 + n);
            }
        } else {
            for d in dirs {
                let (b, n) = dir(d).await;
                (c.0, c.1) = (c.0 + b, c.1 + n);
            }
        }
        c
    }
}

mod tk {
    use super::*;
    use tokio::fs;
    use tokio::io::AsyncReadExt;

    pub(super) async fn big(path: PathBuf, buf_len: usize) -> Count {
        let mut f = fs::File::open(path).await.unwrap();
        let mut buf = vec![0u8; buf_len];
        let mut total = 0u64;
        loop {
            let n = f.read(&mut buf).await.unwrap();
            if n == 0 {
                return (total, 1);
            }
            total += n as u64;
        }
    }

    async fn dir(path: PathBuf) -> Count {
        let mut c = (0, 0);
        let mut rd = fs::read_dir(path).await.unwrap();
        while let Some(e) = rd.next_entry().await.unwrap() {
            c.0 += fs::read(e.path()).await.unwrap().len() as u64;
            c.1 += 1;
        }
        c
    }

    pub(super) async fn tree(root: PathBuf, parallel: bool) -> Count {
        let mut dirs = Vec::new();
        let mut rd = fs::read_dir(root).await.unwrap();
        while let Some(e) = rd.next_entry().await.unwrap() {
            dirs.push(e.path());
        }
        let mut c = (0, 0);
        if parallel {
            let hs: Vec<_> = dirs.into_iter().map(|d| tokio::spawn(dir(d))).collect();
            for h in hs {
                let (b, n) = h.await.unwrap();
                (c.0, c.1) = (c.0 + b, c.1 + n);
            }
        } else {
            for d in dirs {
                let (b, n) = dir(d).await;
                (c.0, c.1) = (c.0 + b, c.1 + n);
            }
        }
        c
    }
}

mod st {
    use super::*;
    use std::io::Read;

    pub(super) fn big(path: PathBuf, buf_len: usize) -> Count {
        let mut f = std::fs::File::open(path).unwrap();
        let mut buf = vec![0u8; buf_len];
        let mut total = 0u64;
        loop {
            let n = f.read(&mut buf).unwrap();
            if n == 0 {
                return (total, 1);
            }
            total += n as u64;
        }
    }

    pub(super) fn tree(root: PathBuf) -> Count {
        let mut c = (0, 0);
        for d in std::fs::read_dir(root).unwrap() {
            for e in std::fs::read_dir(d.unwrap().path()).unwrap() {
                c.0 += std::fs::read(e.unwrap().path()).unwrap().len() as u64;
                c.1 += 1;
            }
        }
        c
    }

    /// Runs `f` on a thread of its own, as a program would without a
    /// runtime (the thread's start is inside the measurement).
    pub(super) fn on_thread(f: impl FnOnce() -> Count + Send + 'static) -> Count {
        std::thread::spawn(f).join().unwrap()
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn timed(expect: Count, f: impl FnOnce() -> Count) -> Duration {
    let start = Instant::now();
    let got = f();
    let d = start.elapsed();
    assert_eq!(got, expect, "read the wrong amount");
    d
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let mib: usize = env_or("TASKLANE_FS_MIB", if bench { 1024 } else { 16 });
    let files: usize = env_or("TASKLANE_FS_FILES", if bench { 10_000 } else { 400 });
    let runs: usize = env_or("TASKLANE_FS_RUNS", if bench { 5 } else { 1 });
    let workers = workers();

    let root = std::env::temp_dir().join(format!("tasklane-fs-bench-{}", std::process::id()));
    std::fs::create_dir(&root).unwrap();
    let scratch = Scratch(root.clone());
    eprintln!(
        "making a {mib} MiB file and {files} small files in {}",
        root.display()
    );
    make_files(&root, mib, files);
    let big = root.join(BIG_NAME);
    let tree = root.join("tree");
    let big_count: Count = ((mib * 1024 * 1024) as u64, 1);
    let tree_count: Count = ((files * SMALL) as u64, files);

    let tl = Tasklane::start(workers);
    let tk = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();

    let workloads = ["big/1MiB", "big/8KiB", "tree/seq", "tree/par"];
    // [workload][runtime] -> durations; runtimes: tasklane, tokio, std.
    let mut times: Vec<[Vec<Duration>; 3]> = workloads.iter().map(|_| Default::default()).collect();
    for round in 0..runs {
        eprintln!("round {} of {runs}", round + 1);
        for (w, &name) in workloads.iter().enumerate() {
            let (b, t) = (big.clone(), tree.clone());
            let (b2, t2) = (big.clone(), tree.clone());
            let (b3, t3) = (big.clone(), tree.clone());
            let r = &mut times[w];
            match name {
                "big/1MiB" | "big/8KiB" => {
                    let len = if name == "big/1MiB" {
                        1024 * 1024
                    } else {
                        8 * 1024
                    };
                    r[0].push(timed(big_count, || tl.block_on(tl::big(b, len))));
                    r[1].push(timed(big_count, || tk.block_on(tk::big(b2, len))));
                    r[2].push(timed(big_count, || st::on_thread(move || st::big(b3, len))));
                }
                _ => {
                    let par = name == "tree/par";
                    r[0].push(timed(tree_count, || tl.block_on(tl::tree(t, par))));
                    r[1].push(timed(tree_count, || tk.block_on(tk::tree(t2, par))));
                    r[2].push(timed(tree_count, || st::on_thread(move || st::tree(t3))));
                }
            }
        }
    }
    drop(scratch);

    println!(
        "files: a {mib} MiB file, {files} small files; {workers} workers; median of {runs} rounds (ms)\n"
    );
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

//! tasklane vs tokio vs smol (async-io) on loopback TCP.
//!
//! `tcp_echo`: 50 connections to an echo server on the same runtime; one
//! iteration is every client doing 200 round trips of 64 bytes (write,
//! then read the echo back), all clients at once. Connections are made
//! once, before measuring. Same environment variables as `rt_compare`.
//! Throughput of one connection streaming 1 GiB is the `tcp_throughput`
//! bench.

use std::net::SocketAddr;
use std::sync::Arc;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use tasklane_benches::{BenchRuntime, Smol, Spawner, Tasklane, Tokio, workers};

const CONNECTIONS: usize = 50;
const ROUND_TRIPS: usize = 200;
const MSG: usize = 64;

/// tasklane: an accept loop spawning an echo task per connection; each
/// iteration spawns one client task per connection and awaits them all.
fn tcp_echo_tasklane(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use tasklane::net::{TcpListener, TcpStream};
    let rt = Tasklane::start(workers);
    let clients: Vec<Arc<TcpStream>> = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tasklane::spawn(async move {
            loop {
                let (s, _) = listener.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                tasklane::spawn(async move {
                    let mut s = s;
                    let mut buf = [0u8; MSG];
                    while s.read_exact(&mut buf).await.is_ok() {
                        if s.write_all(&buf).await.is_err() {
                            break;
                        }
                    }
                })
                .detach();
            }
        })
        .detach();
        let mut v = Vec::new();
        for _ in 0..CONNECTIONS {
            let c = TcpStream::connect(addr).await.unwrap();
            c.set_nodelay(true).unwrap();
            v.push(Arc::new(c));
        }
        v
    });
    g.bench_function(Tasklane::NAME, |b| {
        b.iter(|| {
            rt.block_on(async {
                let hs: Vec<_> = clients
                    .iter()
                    .map(|c| {
                        let c = c.clone();
                        tasklane::spawn(async move {
                            let mut s = &*c;
                            let mut buf = [7u8; MSG];
                            for _ in 0..ROUND_TRIPS {
                                s.write_all(&buf).await.unwrap();
                                s.read_exact(&mut buf).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            })
        });
    });
}

fn tcp_echo_tokio(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    let clients: Vec<Arc<tokio::sync::Mutex<TcpStream>>> = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; MSG];
                    while s.read_exact(&mut buf).await.is_ok() {
                        if s.write_all(&buf).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let mut v = Vec::new();
        for _ in 0..CONNECTIONS {
            let c = TcpStream::connect(addr).await.unwrap();
            c.set_nodelay(true).unwrap();
            v.push(Arc::new(tokio::sync::Mutex::new(c)));
        }
        v
    });
    g.bench_function(Tokio::NAME, |b| {
        b.iter(|| {
            rt.block_on(async {
                let hs: Vec<_> = clients
                    .iter()
                    .map(|c| {
                        let c = c.clone();
                        tokio::spawn(async move {
                            // Uncontended: one task per connection at a time.
                            let mut s = c.lock().await;
                            let mut buf = [7u8; MSG];
                            for _ in 0..ROUND_TRIPS {
                                s.write_all(&buf).await.unwrap();
                                s.read_exact(&mut buf).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            })
        });
    });
}

fn tcp_echo_smol(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) {
    use async_io::Async;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use std::net::{TcpListener, TcpStream};
    let rt = Smol::start(workers);
    let sp = rt.spawner();
    let rt = &rt;
    let clients: Vec<Arc<Async<TcpStream>>> = rt.block_on(async {
        let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let sp2 = sp.clone();
        rt.spawn_detached(async move {
            loop {
                let (s, _) = listener.accept().await.unwrap();
                s.get_ref().set_nodelay(true).unwrap();
                sp2.spawn_detached(async move {
                    let mut s = s;
                    let mut buf = [0u8; MSG];
                    while s.read_exact(&mut buf).await.is_ok() {
                        if s.write_all(&buf).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let mut v = Vec::new();
        for _ in 0..CONNECTIONS {
            let c = Async::<TcpStream>::connect(addr).await.unwrap();
            c.get_ref().set_nodelay(true).unwrap();
            v.push(Arc::new(c));
        }
        v
    });
    g.bench_function(Smol::NAME, |b| {
        b.iter(|| {
            rt.block_on(async {
                let hs: Vec<_> = clients
                    .iter()
                    .map(|c| {
                        let c = c.clone();
                        rt.spawn(async move {
                            let mut s = &*c;
                            let mut buf = [7u8; MSG];
                            for _ in 0..ROUND_TRIPS {
                                s.write_all(&buf).await.unwrap();
                                s.read_exact(&mut buf).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await;
                }
            })
        });
    });
}

fn net(c: &mut Criterion) {
    let workers = workers();
    let mut g = c.benchmark_group("tcp_echo");
    tcp_echo_tasklane(&mut g, workers);
    tcp_echo_tokio(&mut g, workers);
    tcp_echo_smol(&mut g, workers);
    g.finish();
}

criterion_group! {
    name = benches;
    config = tasklane_benches::criterion_config();
    targets = net
}
criterion_main!(benches);

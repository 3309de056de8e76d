//! A TCP echo server: a task per connection, graceful shutdown on Ctrl-C.
//!
//! Run it with `cargo run --example echo_server [port]` (default 7878), talk
//! to it with `nc 127.0.0.1 7878`, and stop it with Ctrl-C (or `kill`): it
//! stops accepting, shuts the runtime down (cancelling the connections still
//! open) and prints what happened to them.

use futures_lite::future;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use std::net::SocketAddr;
use std::time::Duration;
use tasklane::net::{TcpListener, TcpStream};

/// Echoes until the client closes; returns the number of bytes echoed.
async fn echo(mut stream: TcpStream) -> std::io::Result<u64> {
    let mut buf = vec![0; 16 * 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

fn main() {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().expect("usage: echo_server [port]"),
        None => 7878,
    };
    let rt = tasklane::Runtime::new().expect("runtime");
    let accepted = rt.block_on(async {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        println!("listening on {}", listener.local_addr().unwrap());
        // One ctrl_c future for the whole loop: a signal is seen by the
        // futures alive when it arrives.
        let mut shutdown = std::pin::pin!(tasklane::signal::ctrl_c());
        let mut accepted = 0u64;
        loop {
            // The signal first, so a stream of connections cannot starve it.
            let next = future::or(
                async {
                    shutdown.as_mut().await.expect("signal handler");
                    None
                },
                async { Some(listener.accept().await) },
            );
            let (stream, peer): (TcpStream, SocketAddr) = match next.await {
                None => break,
                Some(Ok(conn)) => conn,
                Some(Err(e)) => {
                    // Out of descriptors, say: back off rather than spin.
                    eprintln!("accept failed: {e}");
                    tasklane::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            accepted += 1;
            println!("connection {accepted} from {peer}");
            // Detached: dropping the handle would cancel the task.
            tasklane::spawn(async move {
                match echo(stream).await {
                    Ok(n) => println!("{peer} closed after {n} bytes"),
                    Err(e) => println!("{peer}: {e}"),
                }
            })
            .detach();
        }
        accepted
    });
    println!("shutting down after {accepted} connections");
    let report = rt.shutdown(Duration::from_secs(1));
    println!("shutdown: {report}");
}

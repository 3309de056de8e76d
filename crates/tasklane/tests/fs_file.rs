//! `fs::File`: written, sought and read back; read-ahead that small reads
//! share; reads and writes cancelled midway; the file left as documented.

mod common;
mod fsutil;
mod netutil;

use common::{occupy_blocking_thread, poll_once, rt};
use fsutil::TempDir;
use futures_lite::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use netutil::pattern;
use std::io::SeekFrom;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};
use tasklane::Runtime;
use tasklane::fs::{self, File, OpenOptions};

/// The OS offset of the file's descriptor (where the next pool job reads).
fn os_offset(f: &File) -> u64 {
    // SAFETY: `lseek` on a descriptor `f` keeps open; moves nothing.
    let off = unsafe { libc::lseek(f.as_raw_fd(), 0, libc::SEEK_CUR) };
    assert!(off >= 0);
    off as u64
}

/// A two-worker runtime whose blocking pool has one thread, for
/// `occupy_blocking_thread`.
fn rt_one_pool_thread() -> Runtime {
    Runtime::builder()
        .worker_threads(2)
        .max_blocking_threads(1)
        .build()
        .unwrap()
}

#[test]
fn written_sought_and_read_back() {
    let dir = TempDir::new("fs-file");
    let path = dir.join("data");
    rt(2).block_on(async {
        let data = pattern(1, 3 * 1024 * 1024 + 17); // more than one job's chunk
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .unwrap();
        f.write_all(&data).await.unwrap();
        f.flush().await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), data.len() as u64);

        // Seek into the middle, overwrite a stretch, read across it.
        assert_eq!(f.seek(SeekFrom::Start(1000)).await.unwrap(), 1000);
        f.write_all(b"OVERWRITTEN").await.unwrap();
        assert_eq!(f.seek(SeekFrom::Current(-11)).await.unwrap(), 1000);
        let mut got = vec![0; 20];
        f.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..11], b"OVERWRITTEN");
        assert_eq!(&got[11..], &data[1011..1020]);

        // From the end, then everything from the start.
        assert_eq!(
            f.seek(SeekFrom::End(-5)).await.unwrap(),
            data.len() as u64 - 5
        );
        let mut tail = Vec::new();
        f.read_to_end(&mut tail).await.unwrap();
        assert_eq!(tail, &data[data.len() - 5..]);
        f.seek(SeekFrom::Start(0)).await.unwrap();
        let mut all = Vec::new();
        f.read_to_end(&mut all).await.unwrap();
        let mut expected = data.clone();
        expected[1000..1011].copy_from_slice(b"OVERWRITTEN");
        assert!(all == expected, "contents differ after write, seek, read");
        f.sync_all().await.unwrap();
    });
}

#[test]
fn small_reads_share_one_read_ahead() {
    let dir = TempDir::new("fs-file");
    let path = dir.join("data");
    let data = pattern(2, 200_000);
    std::fs::write(&path, &data).unwrap();
    rt(1).block_on(async {
        let mut f = File::open(&path).await.unwrap();
        let mut byte = [0u8; 1];
        f.read_exact(&mut byte).await.unwrap();
        // One job read ahead far more than the byte asked for...
        let ahead = os_offset(&f);
        assert!(ahead >= 64 * 1024, "read {ahead} bytes for a 1-byte read");
        // ...and the next thousands of small reads are served from it.
        let mut got = vec![byte[0]];
        while got.len() < 60_000 {
            f.read_exact(&mut byte).await.unwrap();
            got.push(byte[0]);
        }
        assert_eq!(
            os_offset(&f),
            ahead,
            "no job ran for reads inside the read-ahead"
        );
        assert_eq!(got, &data[..60_000]);
        // A relative seek counts from the reader, not from the read-ahead.
        assert_eq!(f.seek(SeekFrom::Current(10)).await.unwrap(), 60_010);
        f.read_exact(&mut byte).await.unwrap();
        assert_eq!(byte[0], data[60_010]);
        // After the seek, the read-ahead starts small again.
        assert_eq!(os_offset(&f), 60_010 + 64 * 1024);
    });
}

#[test]
fn reading_in_order_grows_the_read_ahead() {
    let dir = TempDir::new("fs-file");
    let path = dir.join("data");
    let data = pattern(7, 5 * 1024 * 1024);
    std::fs::write(&path, &data).unwrap();
    rt(1).block_on(async {
        let mut f = File::open(&path).await.unwrap();
        let mut buf = vec![0u8; 8 * 1024];
        let mut got = Vec::new();
        let mut offsets = Vec::new();
        loop {
            let n = f.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if offsets.last() != Some(&os_offset(&f)) {
                offsets.push(os_offset(&f));
            }
        }
        assert!(got == data);
        // Jobs of 64 KiB, 128 KiB, ... up to 2 MiB: each job one step.
        let k = 1024;
        assert_eq!(
            offsets,
            [
                64 * k,
                192 * k,
                448 * k,
                960 * k,
                1984 * k,
                4032 * k,
                5 * 1024 * k
            ],
            "read-ahead sizes"
        );
    });
}

#[test]
fn a_write_after_read_ahead_lands_where_the_reader_is() {
    let dir = TempDir::new("fs-file");
    let path = dir.join("data");
    let data = pattern(3, 100_000);
    std::fs::write(&path, &data).unwrap();
    rt(1).block_on(async {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        let mut head = [0u8; 10];
        f.read_exact(&mut head).await.unwrap();
        f.write_all(b"xyz").await.unwrap();
        f.flush().await.unwrap();
        let mut next = [0u8; 4];
        f.read_exact(&mut next).await.unwrap();
        assert_eq!(next, data[13..17]);
        let std = f.into_std().await.unwrap();
        let mut expected = data.clone();
        expected[10..13].copy_from_slice(b"xyz");
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        // `into_std` put the offset back where the reader was.
        use std::io::Seek;
        assert_eq!((&std).stream_position().unwrap(), 17);
    });
}

#[test]
fn cancelled_reads_lose_no_data() {
    let dir = TempDir::new("fs-file");
    let path = dir.join("data");
    let data = pattern(4, 1_000_000);
    std::fs::write(&path, &data).unwrap();
    rt_one_pool_thread().block_on(async {
        let mut f = File::open(&path).await.unwrap();
        let mut got = Vec::new();
        let mut cancelled = 0;
        let mut i = 0usize;
        loop {
            let mut buf = vec![0u8; 1 + (i * 7919) % 100_000];
            i += 1;
            if i.is_multiple_of(3) {
                // Start a read, abandon it at its first suspension point,
                // with the pool held so a job it starts cannot finish first.
                // A read that completes at once (from the read-ahead) is no
                // cancellation: its bytes count.
                let (gate, holder) = occupy_blocking_thread(&tasklane::Handle::current());
                let mut read = Box::pin(f.read(&mut buf));
                let done = poll_once(&mut read);
                drop(read);
                gate.open();
                holder.await.unwrap();
                match done {
                    std::task::Poll::Pending => cancelled += 1,
                    std::task::Poll::Ready(n) => got.extend_from_slice(&buf[..n.unwrap()]),
                }
                continue;
            }
            let n = f.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert!(
            cancelled > 0,
            "some reads were abandoned while their job ran"
        );
        assert!(got == data, "data lost or repeated across cancelled reads");
    });
}

/// The pool's one thread is held while `write_all` is polled, so its first
/// chunk is accepted and queued and the second must wait for it: the write is
/// cancelled with exactly one chunk in flight, whatever the timing.
#[test]
fn a_cancelled_write_all_leaves_whole_chunks() {
    let dir = TempDir::new("fs-file");
    let path = dir.join("data");
    let data = pattern(5, 5 * 1024 * 1024);
    rt_one_pool_thread().block_on(async {
        let mut f = File::create(&path).await.unwrap();
        let (gate, holder) = occupy_blocking_thread(&tasklane::Handle::current());
        {
            let mut write = Box::pin(f.write_all(&data));
            assert!(
                poll_once(&mut write).is_pending(),
                "the second chunk waits for the first, which the held pool cannot run"
            );
        } // cancelled here
        gate.open();
        holder.await.unwrap();
        f.flush().await.unwrap(); // waits for the chunk in flight
        let written = std::fs::read(&path).unwrap();
        const CHUNK: usize = 2 * 1024 * 1024;
        assert_eq!(written.len(), CHUNK, "the one chunk in flight, whole");
        assert!(written == data[..CHUNK], "not a prefix of the data");
    });
}

#[test]
fn a_dropped_file_still_writes_what_it_accepted() {
    let dir = TempDir::new("fs-file");
    let path = dir.join("data");
    let data = pattern(6, 1024 * 1024);
    rt(2).block_on(async {
        let mut f = File::create(&path).await.unwrap();
        f.write_all(&data).await.unwrap(); // accepted, maybe not yet written
        drop(f);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::metadata(&path).unwrap().len() < data.len() as u64 {
            assert!(Instant::now() < deadline, "accepted write never landed");
            tasklane::time::sleep(Duration::from_millis(2)).await;
        }
        assert!(fs::read(&path).await.unwrap() == data);
    });
}

#[test]
fn set_len_and_metadata() {
    let dir = TempDir::new("fs-file");
    let path = dir.join("data");
    rt(1).block_on(async {
        let mut f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .unwrap();
        f.write_all(&[7u8; 1000]).await.unwrap();
        f.set_len(10).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 10);
        f.set_len(50).await.unwrap();
        f.seek(SeekFrom::Start(0)).await.unwrap();
        let mut all = Vec::new();
        f.read_to_end(&mut all).await.unwrap();
        assert_eq!(&all[..10], &[7u8; 10]);
        assert_eq!(&all[10..], &[0u8; 40]);
        f.sync_data().await.unwrap();
        // A file opened read-only cannot be resized: an error, not a panic.
        let ro = File::open(&path).await.unwrap();
        assert!(ro.set_len(0).await.is_err());
        // Writing to it fails at the write or at the flush that follows.
        let mut ro = ro;
        let w = ro.write_all(b"no").await;
        let f = ro.flush().await;
        assert!(
            w.is_err() || f.is_err(),
            "a write to a read-only file reported no error"
        );
    });
}

#[test]
fn directories_and_bad_paths_are_clear_errors() {
    let dir = TempDir::new("fs-file");
    rt(1).block_on(async {
        let err = File::open(dir.path()).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::IsADirectory);
        assert!(err.to_string().contains("is a directory"), "{err}");
        let err = File::create(dir.path()).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::IsADirectory, "{err}");
        let err = File::open(dir.join("missing")).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        let err = File::create(dir.join("no/such/parent")).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        let err = File::open("nul\0byte").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let err = OpenOptions::new().open(dir.join("x")).await.unwrap_err();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidInput,
            "no access mode"
        );
    });
}

#[test]
fn outside_a_runtime_an_error_not_a_panic() {
    let dir = TempDir::new("fs-file");
    let path = dir.join("data");
    std::fs::write(&path, b"abc").unwrap();
    let mut f = File::from_std(std::fs::File::open(&path).unwrap());
    let mut buf = [0u8; 3];
    let r = futures_lite::future::block_on(f.read(&mut buf));
    assert!(r.unwrap_err().to_string().contains("no tasklane runtime"));
    let r = futures_lite::future::block_on(fs::read(&path));
    assert!(r.is_err());
}

#[test]
fn concurrent_calls_from_several_tasks_on_one_file() {
    let dir = TempDir::new("fs-file");
    let path = dir.join("data");
    std::fs::write(&path, pattern(8, 300_000)).unwrap();
    rt(2).block_on(async {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        for round in 0..40u64 {
            // Leave a read job in flight, then make `&self` calls on the
            // file from three tasks at once: each must see its call end
            // (no task's wake-up may be lost to another's).
            let mut buf = vec![0u8; 100];
            {
                let mut read = Box::pin(f.read(&mut buf));
                let _ = poll_once(&mut read);
            }
            let shared = std::sync::Arc::new(f);
            let tasks: Vec<_> = (0..3)
                .map(|k| {
                    let f = shared.clone();
                    tasklane::spawn(async move {
                        match k {
                            0 => f.metadata().await.map(drop),
                            1 => f.sync_data().await,
                            _ => f.set_len(300_000 - round).await,
                        }
                    })
                })
                .collect();
            for t in tasks {
                tasklane::wait_for(t, Duration::from_secs(20))
                    .await
                    .expect("a call on a shared File hung")
                    .unwrap()
                    .unwrap();
            }
            f = std::sync::Arc::into_inner(shared).unwrap();
        }
        assert_eq!(f.metadata().await.unwrap().len(), 300_000 - 39);
    });
}

#[test]
fn a_dropped_set_len_still_runs_before_the_next_read() {
    let dir = TempDir::new("fs-file");
    let path = dir.join("data");
    let data = pattern(9, 200_000);
    std::fs::write(&path, &data).unwrap();
    rt(1).block_on(async {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        let mut byte = [0u8; 1];
        f.read_exact(&mut byte).await.unwrap(); // 64 KiB read ahead
        {
            // Started (its job puts the offset back, then resizes), then
            // dropped at its first suspension point.
            let mut resize = Box::pin(f.set_len(150_000));
            let _ = poll_once(&mut resize);
        }
        let mut next = [0u8; 4];
        f.read_exact(&mut next).await.unwrap();
        assert_eq!(
            next,
            data[1..5],
            "the read came after the dropped call's job"
        );
        assert_eq!(f.metadata().await.unwrap().len(), 150_000);
    });
}

/// A seek that fails (before the start of the file) leaves the reader
/// where it was: the next read goes on from there, skipping nothing the
/// read-ahead had taken.
#[test]
fn a_failed_seek_leaves_the_reader_where_it_was() {
    let dir = TempDir::new("fs-seek-fail");
    let path = dir.join("data");
    let data = pattern(7, 100_000);
    std::fs::write(&path, &data).unwrap();
    rt(2).block_on(async {
        let mut f = File::open(&path).await.unwrap();
        let mut head = [0u8; 10];
        f.read_exact(&mut head).await.unwrap();
        assert_eq!(&head[..], &data[..10]);
        let err = f.seek(SeekFrom::End(-1_000_000)).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        let mut next = [0u8; 10];
        f.read_exact(&mut next).await.unwrap();
        assert_eq!(&next[..], &data[10..20]);
    });
}

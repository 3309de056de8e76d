//! `fs`'s functions: a tree made, listed, copied, renamed and removed on
//! the blocking pool, and clear errors for bad paths.

mod common;
mod fsutil;

use common::rt;
use fsutil::TempDir;
use std::collections::BTreeSet;
use std::io::ErrorKind;
use tasklane::fs;

#[test]
fn a_tree_made_listed_and_removed() {
    let dir = TempDir::new("fs-ops");
    rt(2).block_on(async {
        let root = dir.join("tree");
        fs::create_dir_all(root.join("a/b/c")).await.unwrap();
        fs::create_dir(root.join("d")).await.unwrap();
        fs::write(root.join("a/one.txt"), "one").await.unwrap();
        fs::write(root.join("a/b/two.bin"), [0u8, 1, 2])
            .await
            .unwrap();
        assert_eq!(
            fs::copy(root.join("a/one.txt"), root.join("d/copy.txt"))
                .await
                .unwrap(),
            3
        );
        fs::rename(root.join("a/b/two.bin"), root.join("d/moved.bin"))
            .await
            .unwrap();
        fs::symlink("copy.txt", root.join("d/link")).await.unwrap();
        fs::hard_link(root.join("d/copy.txt"), root.join("d/hard"))
            .await
            .unwrap();

        let mut listing = fs::read_dir(root.join("d")).await.unwrap();
        assert_eq!(listing.len(), 4);
        let mut names = BTreeSet::new();
        while let Some(e) = listing.next_entry().await.unwrap() {
            let t = e.file_type().await.unwrap();
            let name = e.file_name().into_string().unwrap();
            assert_eq!(t.is_symlink(), name == "link", "{name}");
            assert_eq!(e.metadata().await.unwrap().is_file(), name != "link");
            assert_eq!(e.path(), root.join("d").join(&name));
            names.insert(name);
        }
        assert_eq!(
            names,
            BTreeSet::from(["copy.txt", "hard", "link", "moved.bin"].map(String::from))
        );

        assert_eq!(fs::read(root.join("d/moved.bin")).await.unwrap(), [0, 1, 2]);
        assert_eq!(
            fs::read_to_string(root.join("d/link")).await.unwrap(),
            "one"
        );
        assert_eq!(
            fs::read_link(root.join("d/link")).await.unwrap(),
            std::path::Path::new("copy.txt")
        );
        assert!(
            fs::symlink_metadata(root.join("d/link"))
                .await
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::metadata(root.join("d/link")).await.unwrap().len(), 3);
        let canon = fs::canonicalize(root.join("a/b/c/../../one.txt"))
            .await
            .unwrap();
        assert_eq!(
            canon,
            std::fs::canonicalize(root.join("a/one.txt")).unwrap()
        );
        assert!(fs::try_exists(root.join("a")).await.unwrap());

        fs::remove_file(root.join("d/hard")).await.unwrap();
        fs::remove_dir(root.join("a/b/c")).await.unwrap();
        fs::remove_dir_all(&root).await.unwrap();
        assert!(!fs::try_exists(&root).await.unwrap());
    });
}

#[test]
fn bad_paths_are_clear_errors() {
    let dir = TempDir::new("fs-ops");
    std::fs::write(dir.join("file"), "x").unwrap();
    std::fs::create_dir(dir.join("full")).unwrap();
    std::fs::write(dir.join("full/inside"), "x").unwrap();
    rt(1).block_on(async {
        let kind = |r: std::io::Result<()>| r.unwrap_err().kind();
        assert_eq!(
            fs::read(dir.join("missing")).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::read(dir.path()).await.unwrap_err().kind(),
            ErrorKind::IsADirectory
        );
        assert_eq!(
            kind(fs::write(dir.join("no/parent"), "x").await),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::read_dir(dir.join("file")).await.unwrap_err().kind(),
            ErrorKind::NotADirectory
        );
        assert_eq!(
            kind(fs::remove_dir(dir.join("full")).await),
            ErrorKind::DirectoryNotEmpty
        );
        assert_eq!(
            kind(fs::remove_file(dir.join("full")).await),
            ErrorKind::IsADirectory
        );
        assert_eq!(
            kind(fs::create_dir(dir.join("file")).await),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            fs::canonicalize(dir.join("missing/.."))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(fs::rename(dir.join("missing"), dir.join("b")).await),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::read("bad\0path").await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let err = fs::read_to_string("/proc/self/exe").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData, "not UTF-8");
    });
}

#[test]
fn two_hundred_concurrent_reads_each_get_their_file() {
    let dir = TempDir::new("fs-ops");
    for i in 0..200 {
        std::fs::write(dir.join(&format!("f{i}")), format!("file {i}")).unwrap();
    }
    rt(2).block_on(async {
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let p = dir.join(&format!("f{i}"));
                tasklane::spawn(async move { fs::read_to_string(p).await.unwrap() })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), format!("file {i}"));
        }
    });
}

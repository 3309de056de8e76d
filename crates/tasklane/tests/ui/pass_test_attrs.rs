// Built as a binary, so the tests are compiled out: this checks that the
// test macro's options are accepted and that it leaves `main` alone.

/// A documented test.
#[tasklane::test(worker_threads = 4)]
#[ignore]
async fn documented() {}

#[tasklane::test]
async fn returns_result() -> Result<(), String> {
    Ok(())
}

fn main() {}

#[tasklane::main(worker_threads = 3)]
async fn main() {
    assert_eq!(tasklane::Handle::current().num_workers(), 3);
}

#[tasklane::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    assert_eq!(tasklane::Handle::current().num_workers(), 2);
}

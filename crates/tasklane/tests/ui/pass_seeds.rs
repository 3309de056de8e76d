//! `seed = N` and `seeds = N` run the body on the deterministic runtime.

#[tasklane::test(seeds = 3)]
async fn swept() {
    assert!(tasklane::Handle::current().seed().unwrap() < 3);
}

#[tasklane::main(seed = 5)]
async fn main() {
    assert_eq!(tasklane::Handle::current().seed(), Some(5));
    assert_ne!(tasklane::Handle::current().schedule_digest(), 0);
}

//! Compile-time behaviour of `#[tasklane::main]` and `#[tasklane::test]`:
//! what expands and runs, and where each error points (the `.stderr` files
//! beside the cases).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}

use std::error::Error;

#[tasklane::main(worker_threads = 1)]
async fn main() -> Result<(), Box<dyn Error>> {
    let n: u32 = "42".parse()?;
    let doubled = tasklane::spawn(async move { n * 2 }).await?;
    assert_eq!(doubled, 84);
    Ok(())
}

//! The README's numbers in the debug profile of a dependent crate.

#[path = "../../../mock-idp/benches/harness.rs"]
mod harness;

#[tokio::main]
async fn main() {
    let flows: usize = std::env::var("FLOWS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let rows = harness::measure(flows).await;
    harness::print("debug, in a dependent crate (no profile settings)", &rows);
}

//! `cargo bench -p mock-idp --bench flows`: mock-idp's numbers in release, with where a flow's
//! time goes and what captured mail costs. `FLOWS=n` sets the number of flows (default 200).
//! The side-by-side table with a peer comes from `bench/dependent` (`scripts/bench`).

#[path = "harness.rs"]
mod harness;

#[tokio::main]
async fn main() {
    let flows: usize = std::env::var("FLOWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // The inbox first, in a process that has done nothing else yet.
    let inbox = harness::inbox_memory(20_000).await;
    let numbers = harness::measure::<harness::Logto>(flows, 20).await;
    let mut rows = numbers.rows();
    rows.extend(harness::logto_steps(flows).await);
    rows.extend(inbox);
    harness::print("mock-idp, release (cargo bench)", &rows);
}

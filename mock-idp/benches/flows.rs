//! `cargo bench -p mock-idp --bench flows`: the numbers of the README, in release.

#[path = "harness.rs"]
mod harness;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let flows: usize = std::env::var("FLOWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // The inbox first, in a process that has done nothing else yet.
    let inbox = harness::inbox_memory(20_000).await;
    let mut rows = harness::measure(flows).await;
    rows.extend(inbox);
    harness::print("release (cargo bench)", &rows);
}

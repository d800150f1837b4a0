//! mock-idp and a peer, side by side, measured by one harness in one run, in the profile this
//! crate is built in (`cargo run` is the debug build a user's `cargo test` uses; add
//! `--release`). Prints the table, then `result:` lines for `scripts/bench`.
//! `FLOWS=n` (default 100) and `STARTS=n` (default 10) set the runs; `ONLY=mock-idp` measures
//! mock-idp alone (to profile it), with where its flow's time goes; `INBOX=1` also measures the
//! memory of 20,000 captured mails.

#[path = "../../../mock-idp/benches/harness.rs"]
mod harness;
mod peer;

use std::time::Duration;

use harness::{Logto, Numbers, Target, ms};
use peer::Peer;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let (flows, starts) = (env("FLOWS", 100), env("STARTS", 10));
    // What captured mail costs (INBOX=1), first, while the process holds nothing else.
    let inbox = if std::env::var("INBOX").is_ok_and(|v| v == "1") {
        Some(harness::inbox_rss(20_000).await)
    } else {
        None
    };
    let ours = harness::measure::<Logto>(flows, starts).await;
    if std::env::var("ONLY").is_ok_and(|only| only == Logto::NAME) {
        let mut rows = ours.rows();
        rows.extend(harness::logto_steps(flows).await);
        harness::print(&format!("{}, {profile}", Logto::NAME), &rows);
        return;
    }
    let peer = harness::measure::<Peer>(flows, starts).await;

    let secs = |d: Duration| d.as_secs_f64();
    // (metric, ours, peer, shown, whether more is better)
    type Metric = (&'static str, f64, f64, fn(f64) -> String, bool);
    let time = |v: f64| ms(Duration::from_secs_f64(v));
    let count = |v: f64| format!("{v:.0}");
    let metrics: Vec<Metric> = vec![
        (
            "start() to ready, p50",
            secs(ours.start.0),
            secs(peer.start.0),
            time,
            false,
        ),
        (
            "a test: start() + one flow, p50",
            secs(ours.test.0),
            secs(peer.test.0),
            time,
            false,
        ),
        (
            "one flow, 1 at a time, p50",
            secs(ours.serial.0),
            secs(peer.serial.0),
            time,
            false,
        ),
        (
            "flows per second, 32 at a time",
            ours.parallel_per_second,
            peer.parallel_per_second,
            count,
            true,
        ),
        (
            "CPU per flow, 1 at a time",
            secs(cpu(&ours)),
            secs(cpu(&peer)),
            time,
            false,
        ),
        (
            "CPU per flow, 32 at a time",
            secs(ours.cpu_parallel),
            secs(peer.cpu_parallel),
            time,
            false,
        ),
        (
            "HTTP requests per flow",
            f64::from(ours.requests),
            f64::from(peer.requests),
            count,
            false,
        ),
        (
            "CPU per request, 1 at a time",
            secs(cpu(&ours)) / f64::from(ours.requests),
            secs(cpu(&peer)) / f64::from(peer.requests),
            time,
            false,
        ),
    ];
    println!(
        "{profile}, {flows} flows, {starts} starts; the ratio is mock-idp's value over the peer's"
    );
    println!("| {profile} | {} | {} | ratio |", Logto::NAME, Peer::NAME);
    println!("|---|---|---|---|");
    for (name, a, b, shown, _) in &metrics {
        println!("| {name} | {} | {} | {:.2} |", shown(*a), shown(*b), a / b);
    }
    for (name, a, b, _, _) in &metrics {
        let key = name.replace([' ', ',', '(', ')', ':', '+'], "_");
        println!("result: {profile}.{key} {a} {b}");
    }
    if let Some((total, growth)) = inbox {
        println!("result: {profile}.inbox_rss_mib {total} {growth}");
    }
    for (label, numbers) in [(Logto::NAME, &ours), (Peer::NAME, &peer)] {
        println!();
        harness::print(&format!("{label}, {profile}"), &numbers.rows());
    }
}

fn cpu(numbers: &Numbers) -> Duration {
    numbers.cpu.0 + numbers.cpu.1
}

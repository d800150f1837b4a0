//! How long a browser sign-in takes: `cargo bench -p e2e --bench browser_sign_in` (add
//! `--profile dev` for the speed `cargo test` sees). Each run starts its own stack and browser,
//! as a browser test does, and signs alice in through the app, Logto's pages and the emailed
//! code. Prints a table; `BENCH_RUNS` sets the number of runs (default 15).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::journey::Journey;
use mock_idp::browser::Browser;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    assert!(runs > 0, "BENCH_RUNS must be at least 1");
    let (mut stack_start, mut browser_start, mut flow, mut close, mut whole) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let started = Instant::now();
        let stack = Arc::new(e2e::spawn_stack().await);
        stack_start.push(started.elapsed());
        let at = Instant::now();
        let browser = Browser::start().await.expect("chromedriver and Chromium");
        browser_start.push(at.elapsed());
        let journey = Journey { stack, browser };
        let at = Instant::now();
        journey.sign_in("alice@example.com").await;
        flow.push(at.elapsed());
        let at = Instant::now();
        let Journey { stack, browser } = journey;
        browser.close().await;
        drop(stack);
        close.push(at.elapsed());
        whole.push(started.elapsed());
    }
    println!("browser sign-in, {runs} runs, one stack and one Chromium each");
    println!("| step | min | p50 | p90 | max |");
    println!("|---|---|---|---|---|");
    for (name, samples) in [
        (
            "stack start (mock Logto + Postmark + app)",
            &mut stack_start,
        ),
        (
            "browser start (chromedriver + Chromium session)",
            &mut browser_start,
        ),
        ("sign-in flow (home → Logto → code → home)", &mut flow),
        ("close (Chromium quits, driver group ended)", &mut close),
        ("whole run", &mut whole),
    ] {
        samples.sort();
        let at = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
        println!(
            "| {name} | {} | {} | {} | {} |",
            at(0.0),
            at(0.5),
            at(0.9),
            at(1.0)
        );
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

//! How long a browser sign-in takes: `cargo bench -p e2e --bench browser_sign_in` (add
//! `--profile dev` for the speed `cargo test` sees). Each run starts its own stack and browser,
//! as a browser test does, and signs alice in through the app, Logto's pages and the emailed
//! code, once as a test does it (`Journey::sign_in`) and once more, after signing out, walked
//! step by step to show where the time goes. Prints two tables; `BENCH_RUNS` sets the number
//! of runs (default 15).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::journey::Journey;
use mock_idp::browser::Browser;

/// The steps of the walked sign-in.
const STEPS: [&str; 6] = [
    "open the app's home page",
    "click #sign-in: the app's redirect, /oidc/auth, Logto's sign-in page",
    "type the email, submit: Logto mails the code, the code page",
    "the code arrives in the inbox",
    "type the code, submit: resume, the app's callback (token exchange), home",
    "read #status: Authenticated",
];

async fn walk(journey: &Journey) -> [Duration; 6] {
    let (browser, stack) = (&journey.browser, &journey.stack);
    let mut times = [Duration::ZERO; 6];
    let mut at = Instant::now();
    let mut lap = |i: usize, at: &mut Instant| {
        times[i] = at.elapsed();
        *at = Instant::now();
    };
    browser.goto(&stack.app_url("/")).await;
    browser.wait_for("#sign-in").await;
    lap(0, &mut at);
    browser.click("#sign-in").await;
    browser.wait_for("#identifier").await;
    lap(1, &mut at);
    let cursor = stack.inbox().cursor();
    browser.fill("#identifier", "alice@example.com").await;
    browser.click("#submit").await;
    browser.wait_for("#code").await;
    lap(2, &mut at);
    let code = stack.code_after("alice@example.com", cursor).await;
    lap(3, &mut at);
    browser.fill("#code", &code).await;
    browser.click("#submit").await;
    browser.wait_for("#sign-out").await;
    lap(4, &mut at);
    browser.wait_for_text("#status", "Authenticated").await;
    lap(5, &mut at);
    times
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    assert!(runs > 0, "BENCH_RUNS must be at least 1");
    let (mut stack_start, mut browser_start, mut flow, mut close, mut whole) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut steps: Vec<Vec<Duration>> = vec![Vec::new(); STEPS.len()];
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
        // Signed out in Logto too, then the same sign-in, step by step.
        journey.browser.click("#sign-out").await;
        journey.browser.confirm_sign_out(&journey.stack.idp).await;
        journey
            .browser
            .wait_for_text("#status", "Not authenticated")
            .await;
        for (samples, time) in steps.iter_mut().zip(walk(&journey).await) {
            samples.push(time);
        }
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
    let row = |name: &str, samples: &mut Vec<Duration>| {
        samples.sort();
        let at = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
        println!(
            "| {name} | {} | {} | {} | {} |",
            at(0.0),
            at(0.5),
            at(0.9),
            at(1.0)
        );
    };
    row(
        "stack start (mock Logto + Postmark + app)",
        &mut stack_start,
    );
    row(
        "browser start (chromedriver + Chromium session)",
        &mut browser_start,
    );
    row("sign-in flow (home → Logto → code → home)", &mut flow);
    row("close (Chromium quits, driver group ended)", &mut close);
    row("whole run", &mut whole);
    println!();
    println!("where a sign-in's time goes (the second sign-in of each run, step by step)");
    println!("| step | min | p50 | p90 | max |");
    println!("|---|---|---|---|---|");
    for (name, samples) in STEPS.iter().zip(&mut steps) {
        row(name, samples);
    }
    let mut sorted = flow.clone();
    sorted.sort();
    println!(
        "result: browser.sign_in_p50 {}",
        sorted[(sorted.len() - 1) / 2].as_secs_f64()
    );
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

//! The numbers: start-up, and full email-code flows over loopback, measured the same way in
//! `cargo bench -p mock-idp --bench flows` (release) and in `bench/dependent` (the debug
//! profile of a crate that depends on mock-idp with no profile settings of its own).
//!
//! A flow is what a test does: `/oidc/auth` → the sign-in page → post the email → wait for the
//! code in the inbox → post the code → resume → back at the app with a code → token exchange
//! → userinfo, with a fresh [`Agent`] (its own cookies and connections) per flow. Time is wall-clock; CPU time and peak RSS come from `/proc/self` (Linux).
//! A bench that cannot set itself up has nothing to report: it panics with the reason.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use mock_idp::{Agent, MockIdp, User};
use serde_json::Value;

/// One row of the printed table.
#[derive(Debug)]
pub struct Row {
    pub what: String,
    pub value: String,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// User + system CPU time of this process so far (`/proc/self/stat`, clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After the name: state is field 0, utime field 11, stime field 12.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Peak resident set size (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One full sign-in of `email` with the emailed code, as a test does it: an [`Agent`] of its
/// own (a browser's cookies), Logto's pages with the code from the inbox
/// ([`Agent::sign_in_with_email_code`], which panics with the reason when a step fails), then
/// the app's part: the token exchange and userinfo. Returns its duration.
async fn flow(idp: &MockIdp, http: &reqwest::Client, email: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_in_url()).await;
    let back = agent.sign_in_with_email_code(idp, &to_logto, email).await;
    let auth_code = back.location_param("code").ok_or("no code for the app")?;
    let client = idp.client();
    let err = |e: reqwest::Error| e.to_string();
    let tokens: Value = http
        .post(idp.token_endpoint())
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", auth_code.as_str()),
            ("redirect_uri", client.redirect_uris[0].as_str()),
        ])
        .send()
        .await
        .map_err(err)?
        .json()
        .await
        .map_err(err)?;
    let access = tokens["access_token"].as_str().ok_or("no access token")?;
    let me = http
        .get(idp.userinfo_endpoint())
        .bearer_auth(access)
        .send()
        .await
        .map_err(err)?;
    if !me.status().is_success() {
        return Err(format!("userinfo: {}", me.status()));
    }
    Ok(started.elapsed())
}

/// Runs `count` flows with `concurrency` at a time; returns (sorted latencies, wall time).
async fn flows(
    idp: &Arc<MockIdp>,
    http: &reqwest::Client,
    first_user: usize,
    count: usize,
    concurrency: usize,
) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(count);
    let mut next = 0;
    while next < count {
        let batch = concurrency.min(count - next);
        let mut running = tokio::task::JoinSet::new();
        for i in 0..batch {
            let (idp, http) = (idp.clone(), http.clone());
            let email = format!("bench{}@example.com", first_user + next + i);
            running.spawn(async move { flow(&idp, &http, &email).await });
        }
        while let Some(joined) = running.join_next().await {
            match joined {
                Ok(Ok(latency)) => latencies.push(latency),
                Ok(Err(error)) => panic!("a flow failed: {error}"),
                Err(error) => panic!("a flow panicked: {error}"),
            }
        }
        next += batch;
    }
    latencies.sort();
    (latencies, started.elapsed())
}

/// Measures everything and returns the table's rows.
pub async fn measure(flow_count: usize) -> Vec<Row> {
    assert!(
        flow_count > 0,
        "at least one flow to measure (FLOWS=0 measures nothing)"
    );
    let mut rows = Vec::new();

    // Start-up: MockIdp::start() (IdP + fake Postmark) until the discovery document answers.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let mut starts = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let idp = MockIdp::start().await.expect("the IdP starts");
        let ok = http
            .get(idp.discovery_url())
            .send()
            .await
            .map(|r| r.status().is_success());
        assert!(matches!(ok, Ok(true)), "discovery answers");
        starts.push(started.elapsed());
    }
    starts.sort();
    rows.push(Row {
        what: "MockIdp::start() to ready (p50 / p95)".into(),
        value: format!(
            "{} / {}",
            ms(percentile(&starts, 0.5)),
            ms(percentile(&starts, 0.95))
        ),
    });

    let users = (0..flow_count * 2 + 64).map(|i| User::email(format!("bench{i}@example.com")));
    let mut builder = MockIdp::builder();
    for user in users {
        builder = builder.user(user);
    }
    let idp = Arc::new(builder.start().await.expect("the IdP starts"));
    // Warm up connections and lazily built state.
    flows(&idp, &http, flow_count * 2, 4, 1).await;

    let cpu_before = cpu_time();
    let (serial, wall) = flows(&idp, &http, 0, flow_count, 1).await;
    let cpu_serial = cpu_time() - cpu_before;
    rows.push(Row {
        what: "one email-code flow, 1 at a time (p50 / p95)".into(),
        value: format!(
            "{} / {}",
            ms(percentile(&serial, 0.5)),
            ms(percentile(&serial, 0.95))
        ),
    });
    rows.push(Row {
        what: "flows per second, 1 at a time".into(),
        value: format!("{:.0}", flow_count as f64 / wall.as_secs_f64()),
    });

    let (parallel, wall) = flows(&idp, &http, flow_count, flow_count, 32).await;
    rows.push(Row {
        what: "one email-code flow, 32 at a time (p50 / p95)".into(),
        value: format!(
            "{} / {}",
            ms(percentile(&parallel, 0.5)),
            ms(percentile(&parallel, 0.95))
        ),
    });
    rows.push(Row {
        what: "flows per second, 32 at a time".into(),
        value: format!("{:.0}", flow_count as f64 / wall.as_secs_f64()),
    });
    rows.push(Row {
        what: "CPU time per flow (client and servers, 1 at a time)".into(),
        value: ms(cpu_serial / flow_count as u32),
    });
    rows.push(Row {
        what: "peak RSS of the process".into(),
        value: format!("{:.1} MiB", peak_rss_mib()),
    });
    rows
}

/// Prints the table (Markdown, ready for the README).
pub fn print(profile: &str, rows: &[Row]) {
    println!("| {profile} | |");
    println!("|---|---|");
    for row in rows {
        println!("| {} | {} |", row.what, row.value);
    }
}

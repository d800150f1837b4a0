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

/// User and system CPU time of this process so far (`/proc/self/stat`, clock ticks of 10 ms).
fn cpu_time() -> (Duration, Duration) {
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
    (
        Duration::from_millis(ticks(11) * 10),
        Duration::from_millis(ticks(12) * 10),
    )
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

/// The steps of a flow, named as the table shows them.
const STEPS: [&str; 7] = [
    "GET /oidc/auth, then Logto's sign-in page",
    "POST /sign-in (Logto mails the code through Postmark)",
    "the code arrives in the inbox",
    "POST /sign-in/verification-code",
    "GET /oidc/auth/{uid} (back to the app with a code)",
    "POST /oidc/token (code for tokens, ID token signed)",
    "GET /oidc/me",
];

/// The same flow with Logto's part walked hop by hop, timing each step (for the table of where
/// the time goes; [`flow`] is what tests do).
async fn steps(idp: &MockIdp, http: &reqwest::Client, email: &str) -> [Duration; 7] {
    let mut times = [Duration::ZERO; 7];
    let base = idp.base_url().to_owned();
    let agent = Agent::new();
    let mut at = Instant::now();
    let mut lap = |i: usize, at: &mut Instant| {
        times[i] = at.elapsed();
        *at = Instant::now();
    };
    let first = agent.get(&idp.sign_in_url()).await;
    let page = agent.follow(&first).await;
    assert_eq!(page.status, 200, "{page:?}");
    lap(0, &mut at);
    let cursor = idp.inbox().cursor();
    let sent = agent
        .post_form(&format!("{base}/sign-in"), &[("identifier", email)])
        .await;
    assert_eq!(sent.status, 303, "{sent:?}");
    lap(1, &mut at);
    let code = idp.code_for(email).after(cursor).await.expect("the code");
    lap(2, &mut at);
    let verified = agent
        .post_form(
            &format!("{base}/sign-in/verification-code"),
            &[("code", &code)],
        )
        .await;
    assert_eq!(verified.status, 303, "{verified:?}");
    lap(3, &mut at);
    let back = agent.follow(&verified).await;
    let auth_code = back.location_param("code").expect("a code for the app");
    lap(4, &mut at);
    let client = idp.client();
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
        .expect("the token endpoint")
        .json()
        .await
        .expect("tokens");
    lap(5, &mut at);
    let access = tokens["access_token"].as_str().expect("an access token");
    let me = http
        .get(idp.userinfo_endpoint())
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo");
    assert!(me.status().is_success());
    lap(6, &mut at);
    times
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

    // What one test does: a fresh MockIdp (its own threads), then one sign-in on it.
    let mut tests = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let idp = MockIdp::start().await.expect("the IdP starts");
        flow(&idp, &http, "alice@example.com")
            .await
            .unwrap_or_else(|e| panic!("a flow failed: {e}"));
        tests.push(started.elapsed());
    }
    tests.sort();
    rows.push(Row {
        what: "a test: MockIdp::start() + one flow on it (p50 / p95)".into(),
        value: format!(
            "{} / {}",
            ms(percentile(&tests, 0.5)),
            ms(percentile(&tests, 0.95))
        ),
    });

    let users = (0..flow_count * 3 + 64).map(|i| User::email(format!("bench{i}@example.com")));
    let mut builder = MockIdp::builder();
    for user in users {
        builder = builder.user(user);
    }
    let idp = Arc::new(builder.start().await.expect("the IdP starts"));
    // Warm up connections and lazily built state.
    flows(&idp, &http, flow_count * 2, 4, 1).await;

    let (user_before, system_before) = cpu_time();
    let (serial, wall) = flows(&idp, &http, 0, flow_count, 1).await;
    let (user_after, system_after) = cpu_time();
    let (user, system) = (user_after - user_before, system_after - system_before);
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
    let per_flow = |d: Duration| d / flow_count as u32;
    rows.push(Row {
        what: "CPU time per flow (client and servers, 1 at a time: user + system)".into(),
        value: format!(
            "{} ({} + {})",
            ms(per_flow(user + system)),
            ms(per_flow(user)),
            ms(per_flow(system))
        ),
    });
    // Where one flow's time goes, step by step (p50 of `flow_count` walks, one at a time).
    let mut by_step: Vec<Vec<Duration>> = vec![Vec::new(); STEPS.len()];
    for i in 0..flow_count {
        let email = format!("bench{}@example.com", flow_count * 2 + 64 + i);
        let times = steps(&idp, &http, &email).await;
        for (samples, time) in by_step.iter_mut().zip(times) {
            samples.push(time);
        }
    }
    for (name, samples) in STEPS.iter().zip(&mut by_step) {
        samples.sort();
        rows.push(Row {
            what: format!("step: {name} (p50)"),
            value: ms(percentile(samples, 0.5)),
        });
    }
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

/// Resident set size now (`VmRSS`), in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The fake Postmark's memory: RSS growth after `count` Logto sign-in mails (sent as Logto's
/// connector sends them, 32 at a time), then after a timed-out `/_inbox/wait` from the start.
pub async fn inbox_memory(count: usize) -> Vec<Row> {
    let postmark = mock_idp::FakePostmark::start()
        .await
        .expect("a fake Postmark");
    let http = reqwest::Client::new();
    let before = rss_mib();
    let url = format!("{}/email/withTemplate", postmark.base_url());
    let mut next = 0;
    while next < count {
        let mut batch = tokio::task::JoinSet::new();
        for i in next..(next + 32).min(count) {
            let request = http
                .post(&url)
                .header("X-Postmark-Server-Token", postmark.server_token())
                .header("Accept", "application/json")
                .json(&serde_json::json!({
                    "From": "noreply@example.com",
                    "To": format!("user{i}@example.com"),
                    "TemplateAlias": "logto-sign-in",
                    "TemplateModel": {"code": format!("{:06}", i % 1_000_000), "locale": "en",
                                      "application": {"id": "us25ikei6qmfy8yppnndv", "name": "Sample app"}},
                }));
            batch.spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
        }
        while let Some(sent) = batch.join_next().await {
            assert_eq!(sent.ok().and_then(Result::ok), Some(200), "a send failed");
        }
        next += 32;
    }
    let after_sends = rss_mib();
    let timed_out = http
        .get(format!(
            "{}/_inbox/wait?to=nobody@example.com&after=0&timeout_ms=1",
            postmark.base_url()
        ))
        .send()
        .await
        .expect("the wait answers");
    let status = timed_out.status().as_u16();
    let body = timed_out.bytes().await.expect("its body").len();
    let after_wait = rss_mib();
    vec![
        Row {
            what: format!("RSS of a process holding {count} captured mails (growth)"),
            value: format!("{after_sends:.1} MiB ({:.1} MiB)", after_sends - before),
        },
        Row {
            what: "a timed-out wait over them: status, body, RSS growth".into(),
            value: format!(
                "{status}, {:.1} KiB, {:.1} MiB",
                body as f64 / 1024.0,
                after_wait - after_sends
            ),
        },
    ]
}

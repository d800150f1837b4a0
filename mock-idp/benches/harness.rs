//! The numbers: start-up, full sign-in flows over loopback, CPU, throughput and memory,
//! measured the same way for every [`Target`]: mock-idp's email-code flow
//! (`cargo bench -p mock-idp --bench flows`, release) and, side by side with a peer, in
//! `bench/dependent` (a crate that depends on mock-idp with no profile settings of its own, in
//! the profile it is run in). `scripts/bench` runs them all and prints the table of the docs.
//!
//! A flow is what a test does. For mock-idp: `/oidc/auth` → the sign-in page → post the email
//! (Logto mails the code through its fake Postmark) → wait for the code in the inbox → post the
//! code → resume → back at the app with a code → token exchange → userinfo, with a fresh
//! [`Agent`] (its own cookies and connections) per flow. Time is wall-clock; CPU time and RSS
//! come from `/proc/self` (Linux). A bench that cannot set itself up has nothing to report: it
//! panics with the reason.
#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

use std::future::Future;
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

/// Milliseconds, as the tables show them.
pub fn ms(d: Duration) -> String {
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

/// What the harness measures: a server a test starts, and the sign-in flow a test runs on it.
pub trait Target: Send + Sync + Sized + 'static {
    /// Its name in the tables.
    const NAME: &'static str;
    /// The HTTP requests of one flow (the client's and those the servers make to each other).
    const REQUESTS: u32;
    /// Starts one, ready for `users` distinct users.
    fn start(users: usize) -> impl Future<Output = Self> + Send;
    /// A URL that answers once it is ready (its discovery document).
    fn ready_url(&self) -> String;
    /// One whole sign-in of user number `user`, then the token exchange and userinfo.
    fn flow(
        &self,
        http: &reqwest::Client,
        user: usize,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// mock-idp: Logto's sign-in with the emailed code, for `.1` bench users.
#[derive(Debug)]
pub struct Logto(pub MockIdp, usize);

impl Target for Logto {
    const NAME: &'static str = "mock-idp";
    // /oidc/auth, the sign-in page, the email (and Logto's request to Postmark), the code,
    // the resume, the token exchange, userinfo.
    const REQUESTS: u32 = 8;

    async fn start(users: usize) -> Self {
        // Logto mails a recipient at most 10 codes per 600 s: each user signs in at most 9
        // times, and 32 flows at a time need 32 distinct users (a wait takes the first mail).
        let pool = users.div_ceil(9).max(64);
        let mut builder = MockIdp::builder();
        for i in 0..pool {
            builder = builder.user(User::email(format!("bench{i}@example.com")));
        }
        Self(builder.start().await.expect("the IdP starts"), pool)
    }

    fn ready_url(&self) -> String {
        self.0.discovery_url()
    }

    async fn flow(&self, http: &reqwest::Client, user: usize) -> Result<(), String> {
        let email = format!("bench{}@example.com", user % self.1);
        flow(&self.0, http, &email).await
    }
}

/// What [`measure`] found for one target.
#[derive(Debug, Default, Clone)]
pub struct Numbers {
    /// `start()` until its discovery document answers (p50, p95).
    pub start: (Duration, Duration),
    /// What one test does: start, then one flow (p50, p95).
    pub test: (Duration, Duration),
    /// One flow at a time (p50, p95), and flows per second.
    pub serial: (Duration, Duration),
    pub serial_per_second: f64,
    /// 32 flows at a time (p50, p95), and flows per second.
    pub parallel: (Duration, Duration),
    pub parallel_per_second: f64,
    /// CPU time per flow, one at a time: user, system.
    pub cpu: (Duration, Duration),
    /// CPU time per flow, 32 at a time (user + system).
    pub cpu_parallel: Duration,
    /// HTTP requests per flow.
    pub requests: u32,
}

impl Numbers {
    /// The rows of one target's table.
    pub fn rows(&self) -> Vec<Row> {
        let pair = |(p50, p95): (Duration, Duration)| format!("{} / {}", ms(p50), ms(p95));
        let cpu = self.cpu.0 + self.cpu.1;
        vec![
            Row {
                what: "start() to ready (p50 / p95)".into(),
                value: pair(self.start),
            },
            Row {
                what: "a test: start() + one flow on it (p50 / p95)".into(),
                value: pair(self.test),
            },
            Row {
                what: "one flow, 1 at a time (p50 / p95)".into(),
                value: pair(self.serial),
            },
            Row {
                what: "flows per second, 1 at a time".into(),
                value: format!("{:.0}", self.serial_per_second),
            },
            Row {
                what: "one flow, 32 at a time (p50 / p95)".into(),
                value: pair(self.parallel),
            },
            Row {
                what: "flows per second, 32 at a time".into(),
                value: format!("{:.0}", self.parallel_per_second),
            },
            Row {
                what: "CPU per flow, 1 at a time (user + system)".into(),
                value: format!("{} ({} + {})", ms(cpu), ms(self.cpu.0), ms(self.cpu.1)),
            },
            Row {
                what: "CPU per flow, 32 at a time".into(),
                value: ms(self.cpu_parallel),
            },
            Row {
                what: "HTTP requests per flow".into(),
                value: self.requests.to_string(),
            },
            Row {
                what: "CPU per request, 1 at a time".into(),
                value: ms(cpu / self.requests.max(1)),
            },
        ]
    }
}

/// Runs `count` flows of `target` with `concurrency` at a time, users from `first`; returns
/// the sorted latencies and the wall time.
async fn flows<T: Target>(
    target: &Arc<T>,
    http: &reqwest::Client,
    first: usize,
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
            let (target, http) = (target.clone(), http.clone());
            let user = first + next + i;
            running.spawn(async move {
                let at = Instant::now();
                target.flow(&http, user).await.map(|()| at.elapsed())
            });
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

fn spread(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.95))
}

/// Measures `T`: `starts` start-ups and as many start-and-sign-in tests, then `flow_count`
/// flows one at a time and `flow_count` 32 at a time on one instance.
pub async fn measure<T: Target>(flow_count: usize, starts: usize) -> Numbers {
    assert!(
        flow_count > 0,
        "at least one flow to measure (FLOWS=0 measures nothing)"
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let mut numbers = Numbers {
        requests: T::REQUESTS,
        ..Numbers::default()
    };

    let mut samples = Vec::new();
    for _ in 0..starts {
        let at = Instant::now();
        let target = T::start(1).await;
        let ok = http.get(target.ready_url()).send().await;
        assert!(ok.is_ok_and(|r| r.status().is_success()), "it answers");
        samples.push(at.elapsed());
    }
    numbers.start = spread(samples);
    let mut samples = Vec::new();
    for _ in 0..starts {
        let at = Instant::now();
        let target = T::start(1).await;
        target
            .flow(&http, 0)
            .await
            .unwrap_or_else(|e| panic!("a flow failed: {e}"));
        samples.push(at.elapsed());
    }
    numbers.test = spread(samples);

    let target = Arc::new(T::start(flow_count * 2 + 4).await);
    // Warm up connections and lazily built state.
    flows(&target, &http, flow_count * 2, 4, 1).await;

    let (user, system) = cpu_time();
    let (serial, wall) = flows(&target, &http, 0, flow_count, 1).await;
    let (user_after, system_after) = cpu_time();
    let per_flow = |d: Duration| d / flow_count as u32;
    numbers.cpu = (per_flow(user_after - user), per_flow(system_after - system));
    numbers.serial = (percentile(&serial, 0.5), percentile(&serial, 0.95));
    numbers.serial_per_second = flow_count as f64 / wall.as_secs_f64();

    let (user, system) = cpu_time();
    let (parallel, wall) = flows(&target, &http, flow_count, flow_count, 32).await;
    let (user_after, system_after) = cpu_time();
    numbers.cpu_parallel = per_flow(user_after - user + system_after - system);
    numbers.parallel = (percentile(&parallel, 0.5), percentile(&parallel, 0.95));
    numbers.parallel_per_second = flow_count as f64 / wall.as_secs_f64();
    numbers
}

/// One full sign-in of `email` with the emailed code, as a test does it: an [`Agent`] of its
/// own (a browser's cookies), Logto's pages with the code from the inbox
/// ([`Agent::sign_in_with_email_code`], which panics with the reason when a step fails), then
/// the app's part: the token exchange and userinfo.
async fn flow(idp: &MockIdp, http: &reqwest::Client, email: &str) -> Result<(), String> {
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_in_url()).await;
    let back = agent.sign_in_with_email_code(idp, &to_logto, email).await;
    let auth_code = back.location_param("code").ok_or("no code for the app")?;
    let access = exchange(idp, http, &auth_code).await?;
    userinfo(idp, http, &access).await
}

/// The app's token request for `code`; returns the access token.
async fn exchange(idp: &MockIdp, http: &reqwest::Client, code: &str) -> Result<String, String> {
    let client = idp.client();
    let err = |e: reqwest::Error| e.to_string();
    let tokens: Value = http
        .post(idp.token_endpoint())
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", client.redirect_uris[0].as_str()),
        ])
        .send()
        .await
        .map_err(err)?
        .json()
        .await
        .map_err(err)?;
    let access = tokens["access_token"].as_str().ok_or("no access token")?;
    Ok(access.to_owned())
}

/// The app's userinfo request with `access`.
async fn userinfo(idp: &MockIdp, http: &reqwest::Client, access: &str) -> Result<(), String> {
    let me = http
        .get(idp.userinfo_endpoint())
        .bearer_auth(access)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !me.status().is_success() {
        return Err(format!("userinfo: {}", me.status()));
    }
    Ok(())
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
    let access = exchange(idp, http, &auth_code)
        .await
        .expect("the token endpoint");
    lap(5, &mut at);
    userinfo(idp, http, &access).await.expect("userinfo");
    lap(6, &mut at);
    times
}

/// Where one mock-idp flow's time goes, step by step (p50 of `count` walks, one at a time).
pub async fn logto_steps(count: usize) -> Vec<Row> {
    let http = reqwest::Client::new();
    let Logto(idp, pool) = Logto::start(count).await;
    let mut by_step: Vec<Vec<Duration>> = vec![Vec::new(); STEPS.len()];
    for i in 0..count {
        let times = steps(&idp, &http, &format!("bench{}@example.com", i % pool)).await;
        for (samples, time) in by_step.iter_mut().zip(times) {
            samples.push(time);
        }
    }
    STEPS
        .iter()
        .zip(&mut by_step)
        .map(|(name, samples)| {
            samples.sort();
            Row {
                what: format!("step: {name} (p50)"),
                value: ms(percentile(samples, 0.5)),
            }
        })
        .collect()
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

/// The fake Postmark's memory: the RSS of this process after `count` Logto sign-in mails
/// (sent as Logto's connector sends them, 32 at a time), and how much they added.
pub async fn inbox_rss(count: usize) -> (f64, f64) {
    let (total, growth, _) = inbox(count).await;
    (total, growth)
}

/// [`inbox_rss`], then a timed-out `/_inbox/wait` from the start, as table rows.
pub async fn inbox_memory(count: usize) -> Vec<Row> {
    let (after_sends, growth, (status, body, wait_growth)) = inbox(count).await;
    vec![
        Row {
            what: format!("RSS of a process holding {count} captured mails (growth)"),
            value: format!("{after_sends:.1} MiB ({growth:.1} MiB)"),
        },
        Row {
            what: "a timed-out wait over them: status, body, RSS growth".into(),
            value: format!(
                "{status}, {:.1} KiB, {wait_growth:.1} MiB",
                body as f64 / 1024.0
            ),
        },
    ]
}

/// Sends `count` mails to a fresh fake Postmark; returns the RSS after them, their growth, and
/// a timed-out wait's status, body size and RSS growth.
async fn inbox(count: usize) -> (f64, f64, (u16, usize, f64)) {
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
    (
        after_sends,
        after_sends - before,
        (status, body, after_wait - after_sends),
    )
}

//! This repository's flow tests: the sample app signing users in against the mock Logto, whose
//! verification codes go through the fake Postmark; over HTTP ([`mock_idp::Agent`]), and in a
//! headless Chromium ([`journey`], on [`mock_idp::browser`]).
//!
//! Everything a user of mock-idp needs is in mock-idp itself; this crate only adds what is
//! particular to the sample app: [`spawn_stack`] starts the mock Logto, its fake Postmark and
//! the sample app for one test on free ports, with the app's `{app_url}/callback` registered
//! in the mock and the mock's clock as the app's time source.
//!
//! ```no_run
//! # async fn demo() {
//! let stack = e2e::spawn_stack().await;
//! let agent = stack.agent();
//! let home = agent.get(&stack.app_url("/")).await;
//! assert_eq!(home.text_of("status").as_deref(), Some("Not authenticated"));
//! let to_logto = agent.get(&stack.app_url("/sign-in")).await;
//! let back = agent
//!     .sign_in_with_email_code(&stack.idp, &to_logto, "alice@example.com")
//!     .await;
//! let home = agent.follow(&agent.follow(&back).await).await;
//! assert_eq!(home.text_of("status").as_deref(), Some("Authenticated"));
//! # }
//! ```

// A test harness: a broken expectation is a failed test, so it panics with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod journey;

use std::sync::Arc;
use std::time::SystemTime;

use mock_idp::{Agent, Clock, Inbox, MockIdp, MockIdpBuilder};
use sample_app::logto::LogtoConfig;
use sample_app::{AppState, Config};

/// The API resource of the fixture tenant (`read:messages` is granted to alice's role).
pub const API_RESOURCE: &str = "https://api.example.com";

/// The mock Logto with its fake Postmark, and the sample app signed in against it.
pub struct Stack {
    /// The mock Logto (its inbox, clock, users, events).
    pub idp: MockIdp,
    app_url: String,
    server: tokio::task::JoinHandle<()>,
}

/// Starts the mock Logto, the fake Postmark and the sample app (scopes `email`,
/// `read:messages` of the fixture's API resource, `roles` and the organization scopes) on free
/// ports.
pub async fn spawn_stack() -> Stack {
    spawn_stack_with(MockIdp::builder()).await
}

/// [`spawn_stack`] with a customised mock (seed, clock, users…).
pub async fn spawn_stack_with(builder: MockIdpBuilder) -> Stack {
    spawn_stack_configured(builder, |_| {}).await
}

/// [`spawn_stack_with`], with the app's Logto config changed by `configure` (a timeout…).
pub async fn spawn_stack_configured(
    builder: MockIdpBuilder,
    configure: impl FnOnce(&mut LogtoConfig),
) -> Stack {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a free port for the sample app");
    let port = listener.local_addr().expect("a bound address").port();
    // Browsers and Logto see the app as `localhost`, as in the guide.
    let app_url = format!("http://localhost:{port}");
    let idp = builder
        .redirect_uri(format!("{app_url}/callback"))
        .post_logout_redirect_uri(format!("{app_url}/"))
        .start()
        .await
        .expect("the mock Logto starts");
    let client = idp.client();
    let mut logto = LogtoConfig::new(
        idp.base_url(),
        client.id.clone(),
        Some(client.secret.clone()),
    );
    logto.scopes = [
        "email",
        "read:messages",
        "roles",
        "urn:logto:scope:organizations",
        "urn:logto:scope:organization_roles",
    ]
    .map(String::from)
    .to_vec();
    logto.resources = vec![API_RESOURCE.into()];
    configure(&mut logto);
    let clock = idp.clock().clone();
    let config = Config {
        base_url: app_url.clone(),
        logto,
    };
    let state = AppState::with_time_source(config, Arc::new(move || SystemTime::from(clock.now())))
        .expect("a valid sample app config");
    let server = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, sample_app::app(state)).await {
            eprintln!("the sample app stopped: {error}");
        }
    });
    Stack {
        idp,
        app_url,
        server,
    }
}

impl Stack {
    /// The app's URL for `path` (which starts with `/`).
    pub fn app_url(&self, path: &str) -> String {
        format!("{}{path}", self.app_url)
    }

    /// The fake Postmark's inbox.
    pub fn inbox(&self) -> Inbox {
        self.idp.inbox()
    }

    /// The code in the first email to `email` after inbox position `cursor` (the inbox's
    /// waiter: no sleep).
    pub async fn code_after(&self, email: &str, cursor: u64) -> String {
        self.idp
            .code_for(email)
            .after(cursor)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The mock's clock, which the app uses too.
    pub fn clock(&self) -> &Clock {
        self.idp.clock()
    }

    /// A fresh user agent (its own cookies).
    pub fn agent(&self) -> Agent {
        Agent::new()
    }
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("issuer", &self.idp.issuer())
            .field("app_url", &self.app_url)
            .finish_non_exhaustive()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A six-digit code that is not `code`.
pub fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

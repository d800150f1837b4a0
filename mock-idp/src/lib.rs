//! An offline Logto and Postmark for Rust tests: a mock Logto (its OIDC provider at Logto's
//! paths, its sign-in experience with email verification codes, its Postmark connector) and a
//! fake Postmark that keeps every message it is sent. One instance per test, started in
//! milliseconds, reproducible byte for byte.
//!
//! # A sign-in in a test
//!
//! [`MockIdp`] is the front door: start it, point your app at [`MockIdp::issuer`] with the
//! credentials of [`MockIdp::client`], and read the codes it mails from [`MockIdp::code_for`]
//! or [`MockIdp::inbox`]. [`Agent`] walks Logto's pages over HTTP (a browser without
//! JavaScript); with the `browser` feature, `browser::Browser` does the same in a headless
//! Chromium.
//!
//! ```no_run
//! use mock_idp::{Agent, MockIdp};
//!
//! # async fn demo() {
//! // Arrange: Logto at Logto's paths, with its own fake Postmark, on free ports.
//! let idp = MockIdp::start().await.unwrap();
//! let agent = Agent::new();
//!
//! // Act: where your app's sign-in link leads, then Logto's pages with the emailed code.
//! let to_logto = agent.get(&idp.sign_in_url()).await;
//! let back = agent
//!     .sign_in_with_email_code(&idp, &to_logto, "alice@example.com")
//!     .await;
//!
//! // Assert: Logto sends the browser back to the app with a code, and mailed Alice hers.
//! assert!(back.location().starts_with(&idp.client().redirect_uris[0]));
//! assert_eq!(idp.latest_code("alice@example.com").map(|c| c.len()), Some(6));
//! # }
//! ```
//!
//! # Your own app
//!
//! Bind your app first, register its callback, and give it the mock's issuer and client:
//!
//! ```no_run
//! # async fn demo() {
//! # let my_app = |_issuer: String, _id: &str, _secret: &str| axum::Router::new();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let app_url = format!("http://localhost:{}", listener.local_addr().unwrap().port());
//! let idp = mock_idp::MockIdp::builder()
//!     .redirect_uri(format!("{app_url}/callback"))
//!     .start()
//!     .await
//!     .unwrap();
//! let client = idp.client();
//! let app = my_app(idp.issuer(), &client.id, &client.secret);
//! tokio::spawn(async move { axum::serve(listener, app).await });
//! // ... then an Agent, or a browser::Browser, from `{app_url}/`.
//! # }
//! ```
//!
//! When a test panics, the `MockIdp` it held prints its event log and the mail it sent,
//! writes both to `target/mock-idp-artifacts/{binary}/{test}/`, and prints the command that
//! replays the test. Auth bugs become data: [`Fault`]s ([`faults`]), [`Scenario`] files
//! ([`scenario`]) and the control plane under `/_mock/` ([`control`]).
//!
//! # The fake Postmark
//!
//! [`FakePostmark`] answers Postmark's Email, Templates and Messages APIs exactly (paths, key
//! order, status codes, ErrorCodes), renders Postmark templates, and keeps every message. Tests
//! read the mail through [`Inbox`] and never sleep: [`Inbox::wait_for`] resolves as soon as the
//! message is there. Tests in other languages use the `/_inbox/` HTTP API (with a long-poll
//! wait), people the inbox page at [`FakePostmark::inbox_url`], and failure-path tests
//! [`FakePostmark::fail_next`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mock_idp::FakePostmark;
//!
//! // Arrange: a fake Postmark on a free port, with Logto's default templates.
//! let postmark = FakePostmark::start().await?;
//! let inbox = postmark.inbox();
//!
//! // Act: your code sends through Postmark's API, pointed at `postmark.base_url()`.
//! reqwest::Client::new()
//!     .post(format!("{}/email/withTemplate", postmark.base_url()))
//!     .header("X-Postmark-Server-Token", postmark.server_token())
//!     .json(&serde_json::json!({
//!         "From": "noreply@example.com",
//!         "To": "alice@example.com",
//!         "TemplateAlias": "logto-sign-in",
//!         "TemplateModel": {"code": "123456"},
//!     }))
//!     .send()
//!     .await?
//!     .error_for_status()?;
//!
//! // Assert: the mail is there, rendered, with its code.
//! let mail = inbox.wait_for("alice@example.com").await?;
//! assert_eq!(mail.code(), Some("123456"));
//! assert!(mail.html_body().unwrap_or_default().contains("123456"));
//! # Ok(()) }
//! ```
//!
//! # Determinism
//!
//! Time comes from one [`Clock`] (system time or a fixed instant, plus an offset that
//! [`Clock::advance`] moves) and randomness from one [`SeededRng`]: the same seed, clock and
//! requests give the same bytes (ids, codes, tokens, signatures, `MessageID`s, `SubmittedAt`s).
//!
//! # Features
//!
//! - `browser`: `browser::Browser`, headless Chromium through chromedriver, with helpers
//!   for Logto's flows and failure artifacts (screenshot, page, URL).

mod agent;
mod artifacts;
#[cfg(feature = "browser")]
pub mod browser;
mod clock;
mod connector;
pub mod control;
mod events;
mod experience;
pub mod faults;
mod fixtures;
mod guard;
mod hooks;
mod http;
mod idp;
mod interaction;
mod keys;
mod management;
mod oidc;
pub mod postmark;
mod request_error;
mod rng;
pub mod scenario;
mod server;
mod state;
pub mod tenant;

pub use agent::{Agent, Page};
pub use clock::Clock;
pub use control::ControlError;
pub use events::Event;
pub use faults::{Fault, OAuthError, ScheduledFault};
pub use idp::{Client, MockIdp, MockIdpBuilder, TestLoginError};
pub use keys::SigningAlg;
pub use postmark::{Email, FakePostmark, Inbox};
pub use rng::{DEFAULT_SEED, SeededRng};
pub use scenario::Scenario;
pub use tenant::{Application, Hook, Organization, OrganizationRole, Resource, Role, Tenant, User};
/// The `time` crate, for the instants of [`Clock::fixed`], [`Fault::at`] and
/// [`MockIdp::set_clock`] (`mock_idp::time::macros::datetime!(2026-01-01 09:00 UTC)`).
pub use time;

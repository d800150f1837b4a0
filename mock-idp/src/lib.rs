//! An offline Logto and Postmark for tests: a mock Logto (OIDC provider, sign-in experience
//! with email verification codes, Logto's Postmark connector) and a fake Postmark API that keeps
//! every message it is sent.
//!
//! What exists today: the fake Postmark, and the mock Logto: its OIDC provider (discovery,
//! JWKS, the authorization endpoint with Logto's checks, the authorization-code grant,
//! userinfo) and its sign-in experience with email codes (HTML pages and the Experience API),
//! which mails codes through Logto's Postmark connector to the fake Postmark.
//!
//! # The mock Logto
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mock_idp::{MockIdp, User};
//!
//! // Arrange: Logto at Logto's paths, on a free port, with its own fake Postmark.
//! let idp = MockIdp::builder()
//!     .user(User::email("carol@example.com").name("Carol"))
//!     .start()
//!     .await?;
//!
//! // Act: point your app (or any OIDC client) at it.
//! let issuer = idp.issuer();          // http://127.0.0.1:PORT/oidc, as Logto's issuer
//! let app = idp.app();                // the registered sample app: id, secret, redirect URIs
//! # let _ = (issuer, app);
//! // ... the app redirects to idp.authorization_endpoint(); the user types their email at
//! // /sign-in, reads the code Logto mailed ...
//! let code = idp.inbox().expect("its own fake Postmark").wait_for("carol@example.com").await?;
//! # let _ = code;
//! // ... and types it at /sign-in/verification-code; the browser goes back to the app.
//!
//! // Assert: what happened, in order, secrets left out.
//! for event in idp.events() {
//!     println!("{event}");
//! }
//! # Ok(()) }
//! ```
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
//! requests give the same bytes (`MessageID`s, `SubmittedAt`s).

mod clock;
mod connector;
mod events;
mod experience;
mod fixtures;
mod http;
mod idp;
mod interaction;
mod keys;
mod oidc;
pub mod postmark;
mod request_error;
mod rng;
mod server;
mod state;
pub mod tenant;

pub use clock::Clock;
pub use events::Event;
pub use idp::{DEFAULT_IDP_PORT, MockIdp, MockIdpBuilder, TestLoginError};
pub use keys::SigningAlg;
pub use oidc::error::OidcError;
pub use postmark::{Email, FakePostmark, FakePostmarkBuilder, Inbox, WaitError, WaitFor};
pub use request_error::RequestError;
pub use rng::{DEFAULT_SEED, SeededRng};
pub use tenant::{Tenant, User};

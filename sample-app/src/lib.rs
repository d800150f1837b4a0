//! The Rust twin of Logto's Flask sample: an axum app that signs users in with Logto (email
//! verification codes sent through Postmark), handles the callback, shows who is signed in and
//! signs out.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /` | `#status` "Authenticated" (with the user's name / email and `#sign-out`) or "Not authenticated" (with `#sign-in` and `#sign-up`) |
//! | `GET /sign-in` | redirects to Logto's sign-in page (redirect URI `{base_url}/callback`) |
//! | `GET /sign-up` | the same, with `interaction_mode=signUp`: Logto opens on its registration page |
//! | `GET /callback` | checks the state, exchanges the code, verifies the ID token, then back to `/`; a readable page when Logto sent an error |
//! | `GET /sign-out` | forgets the tokens, revokes the refresh token, redirects to Logto's end-session URL (back to `{base_url}/`) |
//! | `GET /profile`, `/profile.json` | the ID token's claims and the userinfo endpoint's answer |
//! | `GET /api-token`, `/api-token.json` | an access token for the first configured API resource (refreshed when it expired) |
//!
//! The app is a library so tests can build it in-process, on any port, without environment
//! variables:
//!
//! ```no_run
//! use sample_app::{AppState, Config, logto::LogtoConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let base_url = format!("http://localhost:{}", listener.local_addr()?.port());
//! let state = AppState::new(Config {
//!     base_url,
//!     logto: LogtoConfig::new("https://your-tenant.logto.app", "your-app-id", Some("your-secret".into())),
//! })?;
//! axum::serve(listener, sample_app::app(state)).await?;
//! # Ok(()) }
//! ```
//!
//! The Logto client it uses is [`logto`]: the SDKs' `LogtoClient` over the `openidconnect`
//! crate, with a [`logto::SessionStorage`] over tower-sessions.

pub mod logto;
mod pages;
mod routes;

use std::sync::Arc;

use axum::Router;
use tower_sessions::cookie::SameSite;
use tower_sessions::{MemoryStore, SessionManagerLayer};

use logto::{LogtoConfig, LogtoCore, LogtoError, TimeSource};

/// The session cookie's name (its own, so it never collides with another app on `localhost`).
pub const SESSION_COOKIE: &str = "sample_app_session";

/// What the app needs to know.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where browsers reach the app, without a trailing slash (e.g. `http://localhost:3000`).
    /// The redirect URI is `{base_url}/callback`, the post sign-out URI `{base_url}/`.
    pub base_url: String,
    /// The Logto tenant and application.
    pub logto: LogtoConfig,
}

/// The app's shared state: the Logto client core (configuration, HTTP client, discovered
/// metadata) and the app's URLs.
#[derive(Clone, Debug)]
pub struct AppState {
    core: Arc<LogtoCore>,
    base_url: String,
}

impl AppState {
    /// State for `config`; nothing is fetched until the first request needs Logto.
    pub fn new(config: Config) -> Result<Self, LogtoError> {
        Self::with_time_source(config, Arc::new(std::time::SystemTime::now))
    }

    /// [`new`](Self::new), with `now` for token expiry and ID-token checks instead of the
    /// system time (a test hands in the mock's clock).
    pub fn with_time_source(config: Config, now: TimeSource) -> Result<Self, LogtoError> {
        Ok(Self {
            core: Arc::new(LogtoCore::new(config.logto)?.with_time_source(now)),
            base_url: config.base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Where browsers reach the app.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `{base_url}/callback`, the redirect URI to register in Logto.
    pub fn redirect_uri(&self) -> String {
        format!("{}/callback", self.base_url)
    }

    /// `{base_url}/`, the post sign-out redirect URI to register in Logto.
    pub fn post_logout_redirect_uri(&self) -> String {
        format!("{}/", self.base_url)
    }
}

/// The app's router, with its session layer.
///
/// The session cookie is SameSite=Lax (tower-sessions defaults to Strict, and a Strict cookie
/// is not sent on the redirect back from Logto, which would lose the sign-in), HttpOnly, Secure
/// only when `base_url` is https, and named [`SESSION_COOKIE`]. Sessions live in memory: a
/// restart signs everyone out, which is what a sample wants.
pub fn app(state: AppState) -> Router {
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        .with_name(SESSION_COOKIE)
        .with_same_site(SameSite::Lax)
        .with_http_only(true)
        .with_secure(state.base_url.starts_with("https://"));
    routes::router().with_state(state).layer(sessions)
}

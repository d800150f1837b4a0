//! The fake Postmark: Postmark's Email API on a local port, keeping every message.
//!
//! It answers like `api.postmarkapp.com` (same paths, bodies, key order, status codes and
//! ErrorCodes; the README lists the checks and their order), so Logto's Postmark
//! connector, the official clients and your own code work against it unmodified. Every accepted
//! message is kept with what was sent and what was rendered, readable through [`Inbox`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mock_idp::FakePostmark;
//!
//! let postmark = FakePostmark::start().await?;          // port 0, own thread
//! let response = reqwest::Client::new()
//!     .post(format!("{}/email/withTemplate", postmark.base_url()))
//!     .header("X-Postmark-Server-Token", postmark.server_token())
//!     .json(&serde_json::json!({
//!         "From": "noreply@example.com", "To": "alice@example.com",
//!         "TemplateAlias": "logto-sign-in", "TemplateModel": {"code": "123456"},
//!     }))
//!     .send()
//!     .await?;
//! assert_eq!(response.status(), 200);
//! let mail = postmark.inbox().wait_for("alice@example.com").await?;
//! assert_eq!(mail.code(), Some("123456"));
//! assert_eq!(mail.subject(), Some("123456 is your sign-in code"));
//! # Ok(()) }
//! ```

mod address;
mod auth;
mod email;
mod error;
mod faults;
mod inbox;
mod message;
mod messages_api;
pub(crate) mod mustachio;
mod page;
mod query;
mod send;
mod store;
mod templates;
mod templates_api;
mod test_api;
mod wire;

use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::http::{Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub use address::Mailbox;
pub use auth::TEST_TOKEN;
pub use email::{Email, Header};
pub use error::{ApiError, codes};
pub use faults::{Fault, InvalidFault};
pub use inbox::{DEFAULT_WAIT_TIMEOUT, Inbox, WaitEnd, WaitError, WaitFor, WaitForCode};
pub use message::Attachment;
pub use templates::{MAX_TEMPLATES, TemplateSource, TemplateType};

use crate::clock::Clock;
use crate::fixtures;
use crate::rng::{DEFAULT_SEED, SeededRng};
use crate::server::{Runtime, ServerHandle, Shutdown};
use faults::Faults;
use mustachio::Limits;
use store::Store;
use templates::Templates;

/// Default port of the standalone fake (`mock-idp postmark`).
pub const DEFAULT_PORT: u16 = 3002;

/// What handlers share: the server's configuration, its templates, the messages, time and
/// randomness.
#[derive(Clone)]
pub(crate) struct PostmarkState {
    server: Arc<Server>,
    templates: Arc<RwLock<Templates>>,
    store: Arc<Store>,
    faults: Arc<Faults>,
    clock: Clock,
    rng: SeededRng,
    /// Ends long-polls and live-update streams when the server stops.
    shutdown: Shutdown,
}

/// One Postmark server: its tokens, streams, sender signatures and suppressions.
#[derive(Debug)]
pub(crate) struct Server {
    id: u64,
    name: String,
    tokens: Vec<String>,
    streams: Vec<Stream>,
    /// Lower-cased addresses, or `@domain` for a whole domain.
    sender_signatures: Vec<String>,
    /// Lower-cased inactive addresses.
    suppressed: HashSet<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Stream {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "MessageStreamType")]
    kind: StreamKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
enum StreamKind {
    Transactional,
    Broadcasts,
    Inbound,
}

/// `fixtures/postmark/server.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ServerFixture {
    #[serde(rename = "ID")]
    id: u64,
    name: String,
    api_tokens: Vec<String>,
    message_streams: Vec<Stream>,
}

fn fixture_server() -> io::Result<ServerFixture> {
    serde_json::from_str(fixtures::POSTMARK_SERVER)
        .map_err(|e| io::Error::other(format!("fixtures/postmark/server.json: {e}")))
}

fn fixture_templates() -> io::Result<Vec<TemplateSource>> {
    fixtures::POSTMARK_TEMPLATES
        .iter()
        .map(|(file, json)| {
            serde_json::from_str(json)
                .map_err(|e| io::Error::other(format!("fixtures/postmark/templates/{file}: {e}")))
        })
        .collect()
}

/// The default server token (from `fixtures/postmark/server.json`): what Logto's connector
/// in the mock uses, and what `FakePostmark::start()` accepts.
pub fn default_server_token() -> String {
    fixture_server()
        .ok()
        .and_then(|server| server.api_tokens.into_iter().next())
        .unwrap_or_default()
}

/// A running fake Postmark. Dropping it stops the server, ends pending waits and frees the port.
pub struct FakePostmark {
    state: PostmarkState,
    inbox: Inbox,
    base_url: String,
    // Declared last: dropped after `Drop::drop` closed the store.
    handle: ServerHandle,
}

impl FakePostmark {
    /// Starts a fake with the fixture server and templates on `127.0.0.1`, port 0.
    pub async fn start() -> io::Result<Self> {
        Self::builder().start().await
    }

    /// A builder to choose the port, tokens, seed, clock, senders, suppressions and templates.
    pub fn builder() -> FakePostmarkBuilder {
        FakePostmarkBuilder::default()
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.handle.addr()
    }

    /// The first server token this fake accepts.
    pub fn server_token(&self) -> &str {
        self.state.server.tokens.first().map_or("", String::as_str)
    }

    /// Every server token this fake accepts.
    pub fn server_tokens(&self) -> &[String] {
        &self.state.server.tokens
    }

    /// The server's name (as Postmark's Servers API would show it).
    pub fn server_name(&self) -> &str {
        &self.state.server.name
    }

    /// The captured mail. Every call returns a handle to the same inbox.
    pub fn inbox(&self) -> Inbox {
        self.inbox.clone()
    }

    /// The clock behind `SubmittedAt` (shared with whoever passed it in).
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// The seed of the generator behind `MessageID`s: print it to replay a run.
    pub fn seed(&self) -> u64 {
        self.state.rng.seed()
    }

    /// The inbox web page (`{base_url}/`).
    pub fn inbox_url(&self) -> String {
        format!("{}/", self.base_url)
    }

    /// Makes the next `n` sends fail as Postmark answers with `http_status` and `error_code`
    /// (e.g. `503, 100` for maintenance, `422, 406` for an inactive recipient, `429, 429`,
    /// `401, 10`), in Postmark's wording; then sends succeed again. Queues after any failures
    /// already pending. A batch request counts as one send.
    ///
    /// # Panics
    ///
    /// If `http_status` is not an error status (400–599): a test that asks for that is wrong.
    pub fn fail_next(&self, n: usize, http_status: u16, error_code: u32) {
        self.fail_next_with(Fault {
            count: n,
            status: http_status,
            error_code,
            message: None,
        });
    }

    /// Like [`fail_next`](Self::fail_next), with every detail of the failure given, including
    /// a `Message` of your own.
    ///
    /// # Panics
    ///
    /// If the fault's status is not an error status (400–599).
    pub fn fail_next_with(&self, fault: Fault) {
        if let Err(invalid) = fault.validate() {
            panic!("fail_next: {invalid}");
        }
        self.state.faults.push(fault);
    }

    /// The injected failures still pending.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.state.faults.pending()
    }

    /// Drops every pending injected failure.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }
}

impl FakePostmark {
    /// What a whole-instance reset of the `MockIdp` that started this fake does to it.
    pub(crate) fn resetter(&self) -> PostmarkReset {
        PostmarkReset(self.state.clone())
    }
}

/// Empties a fake's inbox, drops its faults and restarts its generator: the fake as it started
/// (its templates stay as they are).
#[derive(Clone)]
pub(crate) struct PostmarkReset(PostmarkState);

impl PostmarkReset {
    /// The reset; `faults` are queued again (a scenario's).
    pub(crate) fn run(&self, faults: &[Fault]) {
        self.0.store.clear();
        self.0.faults.clear();
        for fault in faults {
            self.0.faults.push(fault.clone());
        }
        self.0.rng.restart();
    }
}

impl Drop for FakePostmark {
    fn drop(&mut self) {
        // Wake every waiter before the server thread is joined (when `handle` drops).
        self.state.store.close();
    }
}

impl std::fmt::Debug for FakePostmark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakePostmark")
            .field("base_url", &self.base_url)
            .field("server", &self.state.server.name)
            .field("seed", &self.state.rng.seed())
            .finish_non_exhaustive()
    }
}

/// Configures a [`FakePostmark`]; finish with [`start`](Self::start).
#[must_use = "a builder does nothing until .start().await"]
#[derive(Debug)]
pub struct FakePostmarkBuilder {
    addr: SocketAddr,
    workers: usize,
    /// A runtime to share (a `MockIdp`'s), instead of one of its own.
    runtime: Option<Arc<Runtime>>,
    tokens: Vec<String>,
    seed: u64,
    clock: Option<Clock>,
    sender_signatures: Vec<String>,
    suppressed: Vec<String>,
    templates: Vec<TemplateSource>,
}

impl Default for FakePostmarkBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            workers: 1,
            runtime: None,
            tokens: Vec::new(),
            seed: DEFAULT_SEED,
            clock: None,
            sender_signatures: Vec::new(),
            suppressed: Vec::new(),
            templates: Vec::new(),
        }
    }
}

impl FakePostmarkBuilder {
    /// Address to bind (default `127.0.0.1:0`).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Port to bind on the current address (0 picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }

    /// Serves on `n` threads (default 1; 0 is one per core). One thread answers a test's
    /// requests fastest; more serve many concurrent clients (a shared standalone fake).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Serves on `runtime` (a `MockIdp`'s) instead of a runtime of its own.
    pub(crate) fn runtime(mut self, runtime: Arc<Runtime>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Accepts this server token. The first call replaces the fixture's token; later calls add.
    pub fn server_token(mut self, token: impl Into<String>) -> Self {
        self.tokens.push(token.into());
        self
    }

    /// Seeds the generator behind `MessageID`s (default [`DEFAULT_SEED`]).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Uses this clock for `SubmittedAt` (default: the system clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Requires `From` to be a sender signature: an address (`noreply@example.com`) or a whole
    /// domain (`@example.com`). With none configured (the default) any `From` is accepted.
    pub fn sender_signature(mut self, address_or_domain: impl Into<String>) -> Self {
        self.sender_signatures.push(address_or_domain.into());
        self
    }

    /// Marks `address` inactive: sends to it fail with ErrorCode 406.
    pub fn suppress(mut self, address: impl Into<String>) -> Self {
        self.suppressed.push(address.into());
        self
    }

    /// Adds a template next to the fixture ones.
    pub fn template(mut self, template: TemplateSource) -> Self {
        self.templates.push(template);
        self
    }

    /// Binds, then serves on a runtime (and thread) of its own. Ready when this returns.
    pub async fn start(self) -> io::Result<FakePostmark> {
        let fixture = fixture_server()?;
        let tokens = if self.tokens.is_empty() {
            fixture.api_tokens
        } else {
            self.tokens
        };
        let server = Arc::new(Server {
            id: fixture.id,
            name: fixture.name,
            tokens,
            streams: fixture.message_streams,
            sender_signatures: self
                .sender_signatures
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .map(|s| if s.contains('@') { s } else { format!("@{s}") })
                .collect(),
            suppressed: self
                .suppressed
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .collect(),
        });
        let mut templates = Templates::new(Limits::default());
        for source in fixture_templates()?.into_iter().chain(self.templates) {
            let name = source.name.clone();
            templates
                .create(source)
                .map_err(|e| io::Error::other(format!("template {name:?}: {e}")))?;
        }
        let store = Arc::new(Store::new());
        let clock = self.clock.unwrap_or_default();
        let rng = SeededRng::new(self.seed);
        let templates = Arc::new(RwLock::new(templates));

        let runtime = match self.runtime {
            Some(runtime) => runtime,
            None => Runtime::start("fake-postmark", self.workers)?,
        };
        let (handle, state) = ServerHandle::start(&runtime, self.addr, |_, shutdown| {
            let state = PostmarkState {
                server,
                templates,
                store: store.clone(),
                faults: Arc::default(),
                clock,
                rng,
                shutdown,
            };
            (router(state.clone()), state)
        })?;
        let base_url = format!("http://{}", handle.addr());
        tracing::info!(%base_url, "fake Postmark listening");
        Ok(FakePostmark {
            inbox: Inbox::new(store),
            state,
            base_url,
            handle,
        })
    }
}

/// Postmark's routes, the test API and the inbox page. Paths match without trailing slashes
/// (postmarker and postmark.js add them).
fn router(state: PostmarkState) -> Router {
    Router::new()
        .route("/email", post(send::email))
        .route("/email/batch", post(send::batch))
        .route("/email/withTemplate", post(send::with_template))
        .route(
            "/email/batchWithTemplates",
            post(send::batch_with_templates),
        )
        .route(
            "/templates",
            get(templates_api::list).post(templates_api::create),
        )
        .route("/templates/validate", post(templates_api::validate))
        .route(
            "/templates/{id_or_alias}",
            get(templates_api::get)
                .put(templates_api::edit)
                .delete(templates_api::delete),
        )
        .route("/messages/outbound", get(messages_api::search))
        .route("/messages/outbound/{id}", get(messages_api::details))
        .route(
            "/messages/outbound/{id}/details",
            get(messages_api::details),
        )
        .route("/messages/outbound/{id}/dump", get(messages_api::dump))
        .route(
            "/_inbox/messages",
            get(test_api::messages).delete(test_api::clear),
        )
        .route("/_inbox/latest", get(test_api::latest))
        .route("/_inbox/cursor", get(test_api::cursor))
        .route("/_inbox/wait", get(test_api::wait))
        .route(
            "/_inbox/faults",
            get(test_api::faults)
                .post(test_api::add_fault)
                .delete(test_api::clear_faults),
        )
        .route("/_inbox/events", get(test_api::events))
        .route("/", get(page::inbox))
        .route("/rows", get(page::rows_fragment))
        .route("/view/{seq}", get(page::message))
        .route("/inbox.js", get(page::script))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(json_errors))
        .with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> Response {
    ApiError::not_found(method.as_str(), uri.path()).into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    ApiError::method_not_allowed(method.as_str(), uri.path()).into_response()
}

/// Turns any error that is neither JSON nor a page (axum's own extractor rejections are plain
/// text) into Postmark's `{ErrorCode, Message}`: clients read `ErrorCode` from every error.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("Error").to_owned()
    } else {
        text.trim().to_owned()
    };
    let mut json = ApiError::new(status, u32::from(status.as_u16()), message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_load_and_parse() {
        let server = fixture_server().unwrap();
        assert!(!server.api_tokens.is_empty());
        assert!(server.message_streams.iter().any(|s| s.id == "outbound"));
        let sources = fixture_templates().unwrap();
        let mut templates = Templates::new(Limits::default());
        for source in sources {
            templates.create(source).unwrap();
        }
        for alias in [
            "logto-sign-in",
            "logto-register",
            "logto-forgot-password",
            "logto-generic",
        ] {
            assert!(templates.by_alias(alias).is_some(), "{alias} is a fixture");
        }
    }
}

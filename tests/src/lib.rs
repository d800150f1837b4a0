//! End-to-end flows: the sample app signing users in against the mock Logto, whose
//! verification codes go through the fake Postmark; over HTTP, and in a headless Chromium
//! ([`browser`], [`journey`]).
//!
//! [`spawn_stack`] starts all three for one test on free ports: the mock Logto and fake
//! Postmark on their own thread, the sample app on the test's runtime, with the app's
//! `{app_url}/callback` registered in the mock and the mock's clock as the app's time source.
//! [`Agent`] is a browser without JavaScript: a cookie jar and no automatic redirects, so a
//! test asserts every hop.
//!
//! ```no_run
//! # async fn demo() {
//! let stack = e2e::spawn_stack().await;
//! let agent = stack.agent();
//! let home = agent.get(&stack.app_url("/")).await;
//! assert_eq!(home.status_text().as_deref(), Some("Not authenticated"));
//! let to_logto = agent.get(&stack.app_url("/sign-in")).await;
//! assert!(to_logto.location().starts_with(&stack.idp.authorization_endpoint()));
//! # }
//! ```

// A test harness: a broken expectation is a failed test, so it panics with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod journey;

use std::sync::Arc;
use std::time::SystemTime;

use mock_idp::{Clock, Inbox, MockIdp, MockIdpBuilder};
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

/// Starts the mock Logto, the fake Postmark and the sample app (scopes `email` and
/// `read:messages`, the fixture's API resource) on free ports.
pub async fn spawn_stack() -> Stack {
    spawn_stack_with(MockIdp::builder()).await
}

/// [`spawn_stack`] with a customised mock (seed, clock, users…).
pub async fn spawn_stack_with(builder: MockIdpBuilder) -> Stack {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a free port for the sample app");
    let port = listener.local_addr().expect("a bound address").port();
    // Browsers and Logto see the app as `localhost`, as in the guide.
    let app_url = format!("http://localhost:{port}");
    let idp = builder
        .app_redirect_uri(format!("{app_url}/callback"))
        .app_post_logout_redirect_uri(format!("{app_url}/"))
        .start()
        .await
        .expect("the mock Logto starts");
    let app = idp.app();
    let mut logto = LogtoConfig::new(idp.base_url(), app.id, app.secret);
    logto.scopes = vec!["email".into(), "read:messages".into()];
    logto.resources = vec![API_RESOURCE.into()];
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
        self.idp
            .inbox()
            .expect("the stack runs its own fake Postmark")
    }

    /// The code in the first email to `email` after inbox position `cursor` (the inbox's
    /// waiter: no sleep).
    pub async fn code_after(&self, email: &str, cursor: u64) -> String {
        let mail = self
            .inbox()
            .wait_for(email)
            .after(cursor)
            .await
            .unwrap_or_else(|e| panic!("no email to {email}: {e}"));
        mail.code()
            .unwrap_or_else(|| panic!("no code in the email to {email}"))
            .to_owned()
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

/// A browser without JavaScript: cookies kept per host, redirects never followed.
#[derive(Debug)]
pub struct Agent {
    http: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
}

impl Default for Agent {
    fn default() -> Self {
        Self::new()
    }
}

impl Agent {
    /// An agent with an empty cookie jar.
    pub fn new() -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Self { http, jar }
    }

    /// The value of cookie `name` that this agent would send to `url`.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore as _;
        let url = reqwest::Url::parse(url).ok()?;
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split("; ").find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }

    /// `GET url`.
    pub async fn get(&self, url: &str) -> Page {
        Page::read(url, self.http.get(url).send().await).await
    }

    /// `POST url` with a form.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Page {
        Page::read(url, self.http.post(url).form(form).send().await).await
    }

    /// `GET` the `Location` of a redirect (one hop).
    pub async fn follow(&self, redirect: &Page) -> Page {
        assert!(
            (300..400).contains(&redirect.status),
            "expected a redirect from {}, got {redirect:?}",
            redirect.url
        );
        self.get(&redirect.location()).await
    }
}

/// One answer: where it came from, its status, `Location` (made absolute), cookies and body.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL asked for.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The `Location`, resolved against `url`.
    pub location: Option<String>,
    /// The `Set-Cookie` headers.
    pub set_cookies: Vec<String>,
    /// The `Content-Type`.
    pub content_type: Option<String>,
    /// The body.
    pub body: String,
}

impl Page {
    async fn read(url: &str, response: reqwest::Result<reqwest::Response>) -> Self {
        let response = response.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = |value: &reqwest::header::HeaderValue| {
            value.to_str().expect("an ASCII header").to_owned()
        };
        let location = headers.get("location").map(|v| {
            let base = reqwest::Url::parse(url).expect("an absolute URL");
            base.join(&text(v)).expect("a valid Location").to_string()
        });
        Self {
            url: url.to_owned(),
            status,
            location,
            set_cookies: headers.get_all("set-cookie").iter().map(text).collect(),
            content_type: headers.get("content-type").map(text),
            body: response
                .text()
                .await
                .unwrap_or_else(|e| panic!("{url}: {e}")),
        }
    }

    /// The `Location` (panics when there is none).
    pub fn location(&self) -> String {
        self.location
            .clone()
            .unwrap_or_else(|| panic!("no Location in {self:?}"))
    }

    /// A query parameter of the `Location`.
    pub fn location_param(&self, name: &str) -> Option<String> {
        let location = reqwest::Url::parse(self.location.as_deref()?).ok()?;
        location
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// The text of the element with `id` (up to its first child tag), if the page has one.
    pub fn text_of(&self, id: &str) -> Option<String> {
        text_after(&self.body, &format!(r#"id="{id}""#))
    }

    /// The sample app's `#status`.
    pub fn status_text(&self) -> Option<String> {
        self.text_of("status")
    }

    /// The text of the first `[role=alert]` element.
    pub fn alert(&self) -> Option<String> {
        text_after(&self.body, r#"role="alert""#)
    }

    /// The value of the form field `name`.
    pub fn form_value(&self, name: &str) -> Option<String> {
        let at = self.body.find(&format!(r#"name="{name}""#))?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = at + self.body[at..].find('>')?;
        let tag = &self.body[tag_start..tag_end];
        let value = tag.split_once(r#"value=""#)?.1;
        Some(value[..value.find('"')?].to_owned())
    }

    /// The value `Set-Cookie` gives `name` (empty when it clears it).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies.iter().find_map(|cookie| {
            let pair = cookie.split(';').next()?;
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name).then(|| value.to_owned())
        })
    }

    /// Whether the body contains `needle`.
    pub fn has(&self, needle: &str) -> bool {
        self.body.contains(needle)
    }
}

/// The text after the tag that contains `marker`, up to the next tag.
fn text_after(body: &str, marker: &str) -> Option<String> {
    let at = body.find(marker)?;
    let start = at + body[at..].find('>')? + 1;
    let end = start + body[start..].find('<')?;
    Some(unescape(body[start..end].trim()))
}

/// Undoes the HTML escaping pages apply to text (askama's numeric entities and the named ones).
fn unescape(text: &str) -> String {
    [
        ("&#60;", "<"),
        ("&lt;", "<"),
        ("&#62;", ">"),
        ("&gt;", ">"),
        ("&#34;", "\""),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&#x27;", "'"),
    ]
    .iter()
    .fold(text.to_owned(), |text, (entity, plain)| {
        text.replace(entity, plain)
    })
    .replace("&#38;", "&")
    .replace("&amp;", "&")
}

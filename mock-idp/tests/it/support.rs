//! Helpers shared by the tests: a fake per test and a client that shows raw answers (the
//! library's [`Page`]).

use mock_idp::postmark::FakePostmarkBuilder;
use mock_idp::{FakePostmark, Page};
use serde_json::Value;

/// A fake Postmark plus an HTTP client aimed at it.
pub struct Api {
    pub postmark: FakePostmark,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn start() -> Self {
        Self::start_with(FakePostmark::builder()).await
    }

    pub async fn start_with(builder: FakePostmarkBuilder) -> Self {
        Self {
            postmark: builder.start().await.expect("fake Postmark starts"),
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.postmark.base_url())
    }

    /// POSTs `body` as JSON with the server token, as every official client does.
    pub async fn post(&self, path: &str, body: &Value) -> Page {
        self.post_raw(
            path,
            &[
                ("X-Postmark-Server-Token", self.postmark.server_token()),
                ("Accept", "application/json"),
                ("Content-Type", "application/json"),
            ],
            serde_json::to_vec(body).unwrap(),
        )
        .await
    }

    /// POSTs `body` with exactly these headers.
    pub async fn post_raw(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> Page {
        let mut request = self.http.post(self.url(path)).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.send().await.expect("request reaches the fake")).await
    }

    pub async fn get(&self, path: &str) -> Page {
        reply(self.http.get(self.url(path)).send().await.unwrap()).await
    }
}

/// Reads an answer whole.
pub async fn reply(response: reqwest::Response) -> Page {
    let url = response.url().to_string();
    Page::read(&url, response).await
}

/// Assertions on the fake Postmark's answers.
pub trait PostmarkAssert {
    /// Asserts a Postmark error: this status, JSON `{ErrorCode, Message}` with this code.
    fn assert_error(&self, status: u16, code: u32) -> String;
    /// Asserts an accepted send and returns its JSON.
    fn assert_sent(&self) -> Value;
}

impl PostmarkAssert for Page {
    fn assert_error(&self, status: u16, code: u32) -> String {
        assert_eq!(self.status, status, "status of {self:?}");
        assert!(
            self.content_type().starts_with("application/json"),
            "{self:?}"
        );
        let body = self.json();
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["ErrorCode", "Message"], "{self:?}");
        assert_eq!(body["ErrorCode"], code, "{self:?}");
        body["Message"].as_str().unwrap().to_owned()
    }

    fn assert_sent(&self) -> Value {
        assert_eq!(self.status, 200, "{self:?}");
        let body = self.json();
        assert_eq!(body["ErrorCode"], 0, "{self:?}");
        body
    }
}

/// A valid plain message to `to`.
pub fn plain(to: &str) -> Value {
    serde_json::json!({
        "From": "App <noreply@example.com>",
        "To": to,
        "Subject": "Your code",
        "TextBody": "Your code is 482913.",
        "HtmlBody": "<p>Your code is <b>482913</b>.</p>",
    })
}

/// A valid Logto-style template send to `to` with `code`.
pub fn templated(to: &str, code: &str) -> Value {
    serde_json::json!({
        "From": "noreply@example.com",
        "To": to,
        "TemplateAlias": "logto-sign-in",
        "TemplateModel": {"code": code, "locale": "en", "application": {"name": "Sample <App>"}},
    })
}

impl Api {
    /// GETs with the server token, as Postmark's read APIs need it.
    pub async fn get_authed(&self, path: &str) -> Page {
        let response = self
            .http
            .get(self.url(path))
            .header("X-Postmark-Server-Token", self.postmark.server_token())
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        reply(response).await
    }

    /// Sends `method` with a JSON body and the server token.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Page {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("X-Postmark-Server-Token", self.postmark.server_token())
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        reply(request.send().await.unwrap()).await
    }

    /// Sends a plain message and returns its answer.
    pub async fn send(&self, message: &Value) -> Value {
        self.post("/email", message).await.assert_sent()
    }
}

/// The `postmark` crate's `Client` trait over our reqwest (not its reqwest feature).
pub struct CrateClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
}

impl CrateClient {
    pub fn new(api: &Api, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base_url: api.postmark.base_url().to_owned(),
            token: token.to_owned(),
        }
    }
}

#[async_trait::async_trait]
impl postmark::Client for CrateClient {
    type Error = reqwest::Error;

    async fn execute(
        &self,
        req: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, Self::Error> {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let response = self
            .http
            .request(parts.method, format!("{}{path}", self.base_url))
            .headers(parts.headers)
            .header("X-Postmark-Server-Token", &self.token)
            .body(body)
            .send()
            .await?;
        let mut builder = http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        Ok(builder
            .body(response.bytes().await?)
            .expect("a valid response"))
    }
}

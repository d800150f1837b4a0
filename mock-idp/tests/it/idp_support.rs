//! Helpers for the mock Logto's tests: a client that never follows redirects, and a sign-in
//! flow through the test-only login.

use mock_idp::tenant::{Application, ApplicationType};
use mock_idp::{MockIdp, MockIdpBuilder, Tenant};
use serde_json::Value;

/// The sample app's registered redirect URI (fixture).
pub const REDIRECT: &str = "http://localhost:3000/callback";
/// A valid PKCE pair (RFC 7636 appendix B).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub struct Idp {
    pub idp: MockIdp,
    pub http: reqwest::Client,
    pub client_id: String,
    pub secret: String,
}

/// An answer: status, headers of interest and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// A query parameter of the `Location`.
    pub fn location_param(&self, name: &str) -> Option<String> {
        let location = self.location.as_deref()?;
        let query = location.split_once('?')?.1;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The value a `Set-Cookie` gives `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.iter().find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }

    /// Asserts an error in Logto's OIDC shape and returns its `error_description`.
    pub fn assert_oidc_error(&self, status: u16, error: &str) -> String {
        assert_eq!(self.status, status, "{self:?}");
        let body = self.json();
        assert_eq!(body["code"], format!("oidc.{error}"), "{self:?}");
        assert_eq!(body["error"], error, "{self:?}");
        assert!(body["message"].is_string(), "{self:?}");
        body["error_description"].as_str().unwrap().to_owned()
    }

    /// Asserts an error redirected to the client: `error`, `state` and `iss` in the Location.
    pub fn assert_redirected_error(
        &self,
        error: &str,
        state: Option<&str>,
        issuer: &str,
    ) -> String {
        assert_eq!(self.status, 303, "{self:?}");
        assert!(
            self.location.as_deref().unwrap().starts_with(REDIRECT),
            "{self:?}"
        );
        assert_eq!(
            self.location_param("error").as_deref(),
            Some(error),
            "{self:?}"
        );
        assert_eq!(self.location_param("state").as_deref(), state, "{self:?}");
        assert_eq!(
            self.location_param("iss").as_deref(),
            Some(issuer),
            "{self:?}"
        );
        self.location_param("error_description").unwrap_or_default()
    }
}

impl Idp {
    pub async fn start() -> Self {
        Self::start_with(MockIdp::builder()).await
    }

    pub async fn start_with(builder: MockIdpBuilder) -> Self {
        let idp = builder.start().await.expect("the mock IdP starts");
        let app = idp.app();
        Self {
            client_id: app.id,
            secret: app.secret.unwrap_or_default(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            idp,
        }
    }

    /// `/oidc/auth` with the sample app's usual parameters, `overrides` replacing or adding
    /// (an empty value removes the parameter).
    pub fn auth_url(&self, overrides: &[(&str, &str)]) -> String {
        let mut params: Vec<(String, String)> = [
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid offline_access profile email"),
            ("prompt", "consent"),
            ("state", "state-123"),
            ("nonce", "nonce-456"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (key, value) in overrides {
            params.retain(|(k, _)| k != key);
            if !value.is_empty() {
                params.push(((*key).to_owned(), (*value).to_owned()));
            }
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            query.append_pair(k, v);
        }
        format!("{}?{}", self.idp.authorization_endpoint(), query.finish())
    }

    pub async fn get(&self, url: &str, cookies: &[(&str, &str)]) -> Answer {
        let mut request = self.http.get(url);
        if !cookies.is_empty() {
            let header: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header("Cookie", header.join("; "));
        }
        answer(request.send().await.unwrap()).await
    }

    /// The newest event of `kind` (panics when there is none).
    pub fn last_event(&self, kind: &str) -> mock_idp::Event {
        self.idp
            .events()
            .into_iter()
            .rev()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} event"))
    }

    /// Signs `email` in through the test-only login: `/oidc/auth`, login, resume. Returns the
    /// final redirect (with the code) and the session cookie.
    pub async fn sign_in(&self, email: &str, overrides: &[(&str, &str)]) -> (Answer, String) {
        let started = self.get(&self.auth_url(overrides), &[]).await;
        assert_eq!(started.status, 303, "{started:?}");
        let interaction = started
            .cookie("_interaction")
            .expect("an interaction cookie");
        let resume = self.idp.test_only_login(email).unwrap();
        let done = self.get(&resume, &[("_interaction", &interaction)]).await;
        assert_eq!(done.status, 303, "{done:?}");
        let session = done.cookie("_session").expect("a session cookie");
        (done, session)
    }

    /// Signs in and returns the authorization code.
    pub async fn code(&self, email: &str, overrides: &[(&str, &str)]) -> String {
        let (done, _) = self.sign_in(email, overrides).await;
        done.location_param("code").expect("a code")
    }

    /// POSTs a form to the token endpoint, authenticating with HTTP Basic.
    pub async fn token(&self, form: &[(&str, &str)]) -> Answer {
        let request = self
            .http
            .post(self.idp.token_endpoint())
            .basic_auth(&self.client_id, Some(&self.secret))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode(form));
        answer(request.send().await.unwrap()).await
    }

    /// The usual code exchange (Basic auth, redirect_uri, verifier).
    pub async fn exchange(&self, code: &str) -> Answer {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .await
    }

    pub async fn userinfo(&self, token: &str) -> Answer {
        answer(
            self.http
                .get(self.idp.userinfo_endpoint())
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// The fixture's sample app (a traditional web app), to register variants of it with
/// [`MockIdpBuilder::application`], without starting an IdP.
pub fn fixture_app() -> Application {
    Tenant::fixture()
        .unwrap()
        .applications
        .into_iter()
        .find(|a| a.app_type == ApplicationType::Traditional)
        .unwrap()
}

pub fn encode(form: &[(&str, &str)]) -> String {
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        body.append_pair(k, v);
    }
    body.finish()
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let location = headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let cookies = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = response.text().await.unwrap();
    Answer {
        status,
        location,
        cookies,
        headers,
        body,
    }
}

/// The payload of a JWT, decoded without verification (for asserting claims).
pub fn jwt_part(token: &str, index: usize) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(index).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// A browser-like client: a cookie jar for the IdP's host, no automatic redirects.
pub struct Browser<'a> {
    pub idp: &'a Idp,
    jar: std::cell::RefCell<Vec<(String, String)>>,
}

impl<'a> Browser<'a> {
    pub fn new(idp: &'a Idp) -> Self {
        Self {
            idp,
            jar: std::cell::RefCell::default(),
        }
    }

    /// An absolute URL for a `Location` (relative ones are on the IdP).
    pub fn absolute(&self, location: &str) -> String {
        if location.starts_with("http") {
            location.to_owned()
        } else {
            format!("{}{location}", self.idp.idp.base_url())
        }
    }

    fn remember(&self, answer: &Answer) {
        let mut jar = self.jar.borrow_mut();
        for cookie in &answer.cookies {
            let (pair, attributes) = cookie.split_once(';').unwrap_or((cookie, ""));
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            jar.retain(|(n, _)| n != name);
            if !value.is_empty() && !attributes.contains("Max-Age=0") {
                jar.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn cookie_header(&self) -> Option<String> {
        let jar = self.jar.borrow();
        (!jar.is_empty()).then(|| {
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    pub async fn get(&self, url: &str) -> Answer {
        let mut request = self.idp.http.get(self.absolute(url));
        if let Some(cookies) = self.cookie_header() {
            request = request.header("Cookie", cookies);
        }
        let answer = answer(request.send().await.unwrap()).await;
        self.remember(&answer);
        answer
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Answer {
        let mut request = self
            .idp
            .http
            .post(self.absolute(url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode(form));
        if let Some(cookies) = self.cookie_header() {
            request = request.header("Cookie", cookies);
        }
        let answer = answer(request.send().await.unwrap()).await;
        self.remember(&answer);
        answer
    }

    /// JSON to the Experience API (with the cookies).
    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self.idp.http.request(method, self.absolute(path));
        if let Some(cookies) = self.cookie_header() {
            request = request.header("Cookie", cookies);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = answer(request.send().await.unwrap()).await;
        self.remember(&answer);
        answer
    }

    /// Follows 303s (on the IdP) until an answer that is not a redirect to the IdP; returns
    /// the last answer (a page, or the redirect to the app).
    pub async fn follow(&self, mut answer: Answer) -> Answer {
        while answer.status == 303 {
            let location = answer.location.clone().unwrap();
            if location.starts_with("http") && !location.starts_with(self.idp.idp.base_url()) {
                break;
            }
            answer = self.get(&location).await;
        }
        answer
    }

    /// Starts a sign-in at `/oidc/auth` with the sample app's parameters and lands on the first
    /// screen.
    pub async fn start(&self, overrides: &[(&str, &str)]) -> Answer {
        let started = self.get(&self.idp.auth_url(overrides)).await;
        assert_eq!(started.status, 303, "{started:?}");
        self.follow(started).await
    }
}

impl Answer {
    /// The text of the first `[role=alert]` element (an error), if any.
    pub fn alert(&self) -> Option<String> {
        self.text_after(r#"role="alert">"#)
    }

    /// The text of `#offer` ("No account found …", "An account with … already exists …").
    pub fn offer(&self) -> Option<String> {
        self.text_after(r#"id="offer" role="status">"#)
    }

    fn text_after(&self, marker: &str) -> Option<String> {
        let start = self.body.find(marker)? + marker.len();
        let end = self.body[start..].find('<')? + start;
        Some(self.body[start..end].to_owned())
    }
}

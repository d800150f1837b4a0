//! Helpers for the mock Logto's tests: a client that never follows redirects, and a sign-in
//! flow through the test-only login.

use mock_idp::tenant::Tenant;
use mock_idp::tenant::{Application, ApplicationType};
use mock_idp::{Agent, MockIdp, MockIdpBuilder, Page};
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

/// Assertions on Logto's OIDC errors.
pub trait OidcAssert {
    /// Asserts an error in Logto's OIDC shape and returns its `error_description`.
    fn assert_oidc_error(&self, status: u16, error: &str) -> String;
    /// Asserts an error redirected to the client: `error`, `state` and `iss` in the Location.
    fn assert_redirected_error(&self, error: &str, state: Option<&str>, issuer: &str) -> String;
    /// The `Location` exactly as sent (relative ones stay relative).
    fn raw_location(&self) -> Option<&str>;
}

impl OidcAssert for Page {
    fn assert_oidc_error(&self, status: u16, error: &str) -> String {
        assert_eq!(self.status, status, "{self:?}");
        let body = self.json();
        assert_eq!(body["code"], format!("oidc.{error}"), "{self:?}");
        assert_eq!(body["error"], error, "{self:?}");
        assert!(body["message"].is_string(), "{self:?}");
        body["error_description"].as_str().unwrap().to_owned()
    }

    fn assert_redirected_error(&self, error: &str, state: Option<&str>, issuer: &str) -> String {
        assert_eq!(self.status, 303, "{self:?}");
        assert!(self.location().starts_with(REDIRECT), "{self:?}");
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

    fn raw_location(&self) -> Option<&str> {
        self.header("location")
    }
}

impl Idp {
    pub async fn start() -> Self {
        Self::start_with(MockIdp::builder()).await
    }

    pub async fn start_with(builder: MockIdpBuilder) -> Self {
        let idp = builder.start().await.expect("the mock IdP starts");
        let client = idp.client().clone();
        Self {
            client_id: client.id,
            secret: client.secret,
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

    pub async fn get(&self, url: &str, cookies: &[(&str, &str)]) -> Page {
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
    pub async fn sign_in(&self, email: &str, overrides: &[(&str, &str)]) -> (Page, String) {
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
    pub async fn token(&self, form: &[(&str, &str)]) -> Page {
        let request = self
            .http
            .post(self.idp.token_endpoint())
            .basic_auth(&self.client_id, Some(&self.secret))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode(form));
        answer(request.send().await.unwrap()).await
    }

    /// The usual code exchange (Basic auth, redirect_uri, verifier).
    pub async fn exchange(&self, code: &str) -> Page {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .await
    }

    pub async fn userinfo(&self, token: &str) -> Page {
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

/// Reads an answer whole.
pub async fn answer(response: reqwest::Response) -> Page {
    let url = response.url().to_string();
    Page::read(&url, response).await
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

/// A visitor of the IdP: the library's [`Agent`], with paths relative to the IdP and the
/// sample app's authorization request at hand.
pub struct Browser<'a> {
    pub idp: &'a Idp,
    pub agent: Agent,
}

impl<'a> Browser<'a> {
    pub fn new(idp: &'a Idp) -> Self {
        Self {
            idp,
            agent: Agent::new(),
        }
    }

    /// An absolute URL for a path on the IdP (absolute URLs stay as they are).
    pub fn absolute(&self, location: &str) -> String {
        if location.starts_with("http") {
            location.to_owned()
        } else {
            format!("{}{location}", self.idp.idp.base_url())
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        self.agent.get(&self.absolute(url)).await
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Page {
        self.agent.post_form(&self.absolute(url), form).await
    }

    /// JSON to the Experience API (with the cookies).
    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Page {
        let mut request = self.agent.http().request(method, self.absolute(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.agent.send(request).await
    }

    /// Follows redirects on the IdP until an answer that is not one (a page, or the redirect
    /// to the app).
    pub async fn follow(&self, answer: Page) -> Page {
        self.agent
            .follow_within(self.idp.idp.base_url(), answer)
            .await
    }

    /// Starts a sign-in at `/oidc/auth` with the sample app's parameters and lands on the first
    /// screen.
    pub async fn start(&self, overrides: &[(&str, &str)]) -> Page {
        let started = self.get(&self.idp.auth_url(overrides)).await;
        assert_eq!(started.status, 303, "{started:?}");
        self.follow(started).await
    }
}

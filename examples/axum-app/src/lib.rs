//! A minimal axum app that signs its users in with Logto, as any OIDC client would: the
//! authorization-code flow with PKCE on the `openidconnect` crate, and the user's verified email
//! kept in a session. It knows nothing of mock-idp: its tests point it at a `MockIdp`, as yours
//! would.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /` | `#who`: "Signed in as {email}" and `#logout`, or "Not signed in" and `#login` |
//! | `GET /login` | 303 to Logto with PKCE, `state` and `nonce` kept in the session |
//! | `GET /callback` | checks `state`, exchanges the code, verifies the ID token, keeps the email |
//! | `GET /logout` | forgets the user, 303 to Logto's end-session endpoint, back to `/` |

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IssuerUrl, LogoutRequest, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, Scope,
};
use tower_sessions::cookie::SameSite;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

/// Where the app is and how it signs in.
#[derive(Clone, Debug)]
pub struct Config {
    /// The app's own origin, as browsers reach it (`http://localhost:8080`).
    pub base_url: String,
    /// Logto's issuer (`{endpoint}/oidc`).
    pub issuer: String,
    /// The application's id in Logto.
    pub client_id: String,
    /// The application's secret in Logto.
    pub client_secret: String,
}

impl Config {
    /// A configuration from its four values.
    pub fn new(base_url: &str, issuer: &str, client_id: &str, client_secret: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
        }
    }
}

/// Why the app could not be built (Logto unreachable, or a URL that is not one).
#[derive(Debug)]
pub struct StartError(String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Oidc {
    client: Client,
    end_session: Option<EndSessionUrl>,
    http: reqwest::Client,
    base_url: String,
}

type AppState = Arc<Oidc>;

/// The app: discovers Logto, then answers its four routes with a session of its own.
pub async fn app(config: Config) -> Result<Router, StartError> {
    let fail = |e: &dyn std::fmt::Display| StartError(e.to_string());
    // No redirects: openidconnect's advice for token and userinfo requests.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| fail(&e))?;
    let issuer = IssuerUrl::new(config.issuer).map_err(|e| fail(&e))?;
    let metadata = ProviderMetadataWithLogout::discover_async(issuer, &http_client(&http))
        .await
        .map_err(|e| fail(&format!("discovery failed: {e}")))?;
    let end_session = metadata.additional_metadata().end_session_endpoint.clone();
    let redirect =
        RedirectUrl::new(format!("{}/callback", config.base_url)).map_err(|e| fail(&e))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id),
        Some(ClientSecret::new(config.client_secret)),
    )
    .set_redirect_uri(redirect);
    let state = Arc::new(Oidc { client, end_session, http, base_url: config.base_url });
    // SameSite=Lax: a Strict cookie would not come back with Logto's redirect to /callback.
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        .with_name("axum_app_session")
        .with_same_site(SameSite::Lax)
        .with_secure(false);
    Ok(Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/logout", get(logout))
        .layer(sessions)
        .with_state(state))
}

type Pending = Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send>>;

/// openidconnect's HTTP client: a closure over our reqwest.
fn http_client(http: &reqwest::Client) -> impl Fn(HttpRequest) -> Pending + use<> {
    let http = http.clone();
    move |request| {
        let http = http.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = http
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let mut answer = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let body = response.bytes().await?.to_vec();
            Ok(answer.body(body).unwrap_or_default())
        })
    }
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html><html lang="en"><title>axum-app</title>
{% if let Some(email) = email %}<p id="who">Signed in as {{ email }}</p><a id="logout" href="/logout">Log out</a>
{% else %}<p id="who">Not signed in</p><a id="login" href="/login">Log in</a>{% endif %}"#
)]
struct Home {
    email: Option<String>,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html><html lang="en"><title>axum-app</title>
<p role="alert">{{ message }}</p><a href="/">Home</a>"#
)]
struct ErrorPage<'a> {
    message: &'a str,
}

/// A failure as a readable page (HTML-escaped) with its status.
struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let page = ErrorPage { message: &self.1 }
            .render()
            .unwrap_or_else(|_| "Something went wrong.".to_owned());
        (self.0, Html(page)).into_response()
    }
}

fn session_failure(error: tower_sessions::session::Error) -> Failure {
    Failure(StatusCode::INTERNAL_SERVER_ERROR, format!("session store: {error}"))
}

async fn home(session: Session) -> Result<Html<String>, Failure> {
    let email = session.get::<String>("email").await.map_err(session_failure)?;
    Home { email }
        .render()
        .map(Html)
        .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn login(State(oidc): State<AppState>, session: Session) -> Result<Redirect, Failure> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = oidc
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    for (key, value) in
        [("state", csrf.secret()), ("nonce", nonce.secret()), ("verifier", verifier.secret())]
    {
        session.insert(key, value).await.map_err(session_failure)?;
    }
    Ok(Redirect::to(url.as_str()))
}

#[derive(serde::Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(oidc): State<AppState>,
    session: Session,
    Query(query): Query<CallbackQuery>,
) -> Result<Redirect, Failure> {
    let bad = |message: String| Failure(StatusCode::BAD_REQUEST, message);
    if let Some(error) = query.error {
        let description = query.error_description.unwrap_or_default();
        return Err(bad(format!("Logto answered {error}: {description}")));
    }
    let expected = session.remove::<String>("state").await.map_err(session_failure)?;
    if expected.is_none() || expected != query.state {
        return Err(bad("No sign-in in progress, or a wrong state.".into()));
    }
    let (Some(code), Some(nonce), Some(verifier)) = (
        query.code,
        session.remove::<String>("nonce").await.map_err(session_failure)?,
        session.remove::<String>("verifier").await.map_err(session_failure)?,
    ) else {
        return Err(bad("The callback has no code.".into()));
    };
    let exchange = oidc
        .client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| bad(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier));
    let tokens = exchange
        .request_async(&http_client(&oidc.http))
        .await
        .map_err(|e| bad(format!("Logto refused the code: {e}")))?;
    let id_token = openidconnect::TokenResponse::id_token(&tokens)
        .ok_or_else(|| bad("Logto sent no ID token.".into()))?;
    let claims = id_token
        .claims(&oidc.client.id_token_verifier(), &Nonce::new(nonce))
        .map_err(|e| bad(format!("The ID token does not verify: {e}")))?;
    let email = claims
        .email()
        .map(|email| email.to_string())
        .ok_or_else(|| bad("The ID token has no email.".into()))?;
    // A new session id at sign-in, so one set before it cannot be ridden.
    session.cycle_id().await.map_err(session_failure)?;
    session.insert("email", email).await.map_err(session_failure)?;
    Ok(Redirect::to("/"))
}

async fn logout(State(oidc): State<AppState>, session: Session) -> Result<Redirect, Failure> {
    session.flush().await.map_err(session_failure)?;
    let Some(end_session) = oidc.end_session.clone() else {
        return Ok(Redirect::to("/"));
    };
    let back = PostLogoutRedirectUrl::new(format!("{}/", oidc.base_url))
        .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let url = LogoutRequest::from(end_session)
        .set_client_id(oidc.client.client_id().clone())
        .set_post_logout_redirect_uri(back)
        .http_get_url();
    Ok(Redirect::to(url.as_str()))
}

//! A Logto client in the shape of Logto's own SDKs (`LogtoConfig`, `LogtoClient`, a `Storage`
//! with get / set / delete), built on the `openidconnect` crate: discovery, PKCE, the code
//! exchange and ID-token verification (signature, issuer, audience, nonce, expiry) are the
//! crate's, not ours. Nothing here knows about the mock: point `endpoint` at any Logto.
//!
//! It sends what Logto's SDKs send: scopes `openid offline_access profile` plus the configured
//! ones, `prompt=consent` (so a refresh token is issued), PKCE S256, `resource` per configured
//! API resource, `interaction_mode` when asked, and authenticates with `client_secret_basic`
//! (as `@logto/node`). Tokens live in the `Storage` under the Python SDK's keys (`idToken`,
//! `refreshToken`, `accessTokenMap`, `signInSession`).
//!
//! One difference in shape: the SDKs' `LogtoClient(config, storage)` holds the config and
//! discovers the provider per instance; here the config goes into a [`LogtoCore`] built once
//! per app (HTTP client, discovery cache, time source), and `LogtoClient::new(core, storage)`
//! is cheap, because a web app makes one client per request over that request's session.
//!
//! ```no_run
//! use std::sync::Arc;
//! use sample_app::logto::{InteractionMode, LogtoClient, LogtoConfig, LogtoCore, MemoryStorage};
//!
//! # async fn run(callback_url: String) -> Result<(), sample_app::logto::LogtoError> {
//! let mut config = LogtoConfig::new("https://your-tenant.logto.app", "app-id", Some("app-secret".into()));
//! config.scopes = vec!["email".into()];
//! config.resources = vec!["https://api.example.com".into()];
//! let core = Arc::new(LogtoCore::new(config)?); // one per app: HTTP client, discovery cache
//! let client = LogtoClient::new(core, MemoryStorage::default()); // one per user session
//! let url = client.sign_in("http://localhost:3000/callback", Some(InteractionMode::SignUp)).await?;
//! // … the browser goes to `url`; Logto redirects it to `callback_url` …
//! client.handle_sign_in_callback(&callback_url).await?;
//! assert!(client.is_authenticated().await);
//! let claims = client.get_id_token_claims().await?;
//! let userinfo = client.fetch_user_info().await?;
//! let api_token = client.get_access_token(Some("https://api.example.com")).await?;
//! let end_session_url = client.sign_out(Some("http://localhost:3000/")).await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClient, CoreClientAuthMethod, CoreGrantType, CoreIdToken, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType, CoreTokenResponse,
};
use openidconnect::url::Url;
use openidconnect::{
    AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IssuerUrl,
    LogoutProviderMetadata, LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl, RefreshToken,
    RevocationUrl, Scope, SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod error;
pub use error::LogtoError;

/// Where the user lands first in Logto's sign-in experience.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InteractionMode {
    /// The sign-in page.
    SignIn,
    /// The registration page (`interaction_mode=signUp`).
    SignUp,
}

/// Logto's `prompt`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prompt {
    /// Ask for consent (the SDKs' default; needed for a refresh token).
    #[default]
    Consent,
    /// Always show the sign-in page, even with a Logto session.
    Login,
}

/// What the SDKs call `LogtoConfig`.
#[derive(Clone, Debug)]
pub struct LogtoConfig {
    /// The tenant's endpoint, e.g. `https://your-tenant.logto.app` (the issuer is `{endpoint}/oidc`).
    pub endpoint: String,
    /// The application's id.
    pub app_id: String,
    /// The application's secret (traditional web apps).
    pub app_secret: Option<String>,
    /// Scopes besides `openid offline_access profile` (e.g. `email`).
    pub scopes: Vec<String>,
    /// API resources to ask access tokens for.
    pub resources: Vec<String>,
    /// `consent` (default) or `login`.
    pub prompt: Prompt,
    /// How long to wait for each of Logto's answers before giving up (default 10 s): a Logto
    /// that hangs makes a page say so instead of hanging with it.
    pub timeout: Duration,
}

impl LogtoConfig {
    /// A config with the SDKs' defaults: no extra scopes, no API resources, `prompt=consent`.
    pub fn new(
        endpoint: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: Option<String>,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            app_id: app_id.into(),
            app_secret,
            scopes: Vec::new(),
            resources: Vec::new(),
            prompt: Prompt::Consent,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Where the client keeps its tokens, as the SDKs' `Storage` (get / set / delete).
pub trait Storage: Send + Sync {
    /// The value under `key`.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<String>, LogtoError>> + Send;
    /// Stores `value` under `key`.
    fn set(&self, key: &str, value: String) -> impl Future<Output = Result<(), LogtoError>> + Send;
    /// Forgets `key`.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), LogtoError>> + Send;
}

/// A storage in memory (one per client; fine for scripts and tests).
#[derive(Clone, Debug, Default)]
pub struct MemoryStorage(Arc<Mutex<HashMap<String, String>>>);

impl Storage for MemoryStorage {
    async fn get(&self, key: &str) -> Result<Option<String>, LogtoError> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned())
    }
    async fn set(&self, key: &str, value: String) -> Result<(), LogtoError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), value);
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), LogtoError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        Ok(())
    }
}

/// The web session as storage (the Flask guide's `SessionStorage`), over tower-sessions.
#[derive(Clone, Debug)]
pub struct SessionStorage(pub tower_sessions::Session);

impl Storage for SessionStorage {
    async fn get(&self, key: &str) -> Result<Option<String>, LogtoError> {
        self.0
            .get::<String>(key)
            .await
            .map_err(|e| LogtoError::Storage(e.to_string()))
    }
    async fn set(&self, key: &str, value: String) -> Result<(), LogtoError> {
        self.0
            .insert(key, value)
            .await
            .map_err(|e| LogtoError::Storage(e.to_string()))
    }
    async fn delete(&self, key: &str) -> Result<(), LogtoError> {
        self.0
            .remove::<String>(key)
            .await
            .map(|_| ())
            .map_err(|e| LogtoError::Storage(e.to_string()))
    }
}

/// Storage keys, as Logto's Python SDK names them.
mod keys {
    pub const ID_TOKEN: &str = "idToken";
    pub const REFRESH_TOKEN: &str = "refreshToken";
    pub const ACCESS_TOKEN_MAP: &str = "accessTokenMap";
    pub const SIGN_IN_SESSION: &str = "signInSession";
}

/// The sign-in in progress (`signInSession`).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignInSession {
    redirect_uri: String,
    code_verifier: String,
    state: String,
    nonce: String,
}

/// A cached access token (an entry of `accessTokenMap`; `""` is the userinfo token).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedAccessToken {
    token: String,
    expires_at: u64,
}

/// The source of "now" for token expiry and ID-token checks (system time by default; a test
/// can hand the client the mock's clock).
pub type TimeSource = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The discovery fields beyond OpenID Connect Discovery that the client uses: Logto's
/// `revocation_endpoint` (RFC 7009), next to the `end_session_endpoint` of RP-Initiated Logout.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct RevocationMetadata {
    revocation_endpoint: Option<RevocationUrl>,
}

impl AdditionalProviderMetadata for RevocationMetadata {}

type Metadata = ProviderMetadata<
    LogoutProviderMetadata<RevocationMetadata>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;
type Pending = Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send>>;

/// What every `LogtoClient` of an app shares: the config, the HTTP client, the provider's
/// metadata (discovered once), and the time source.
pub struct LogtoCore {
    config: LogtoConfig,
    http: reqwest::Client,
    metadata: tokio::sync::OnceCell<Metadata>,
    /// The JWKS fetched again after a key rotation, replacing the one discovery read.
    jwks: std::sync::RwLock<Option<CoreJsonWebKeySet>>,
    now: TimeSource,
}

impl std::fmt::Debug for LogtoCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogtoCore")
            .field("endpoint", &self.config.endpoint)
            .field("app_id", &self.config.app_id)
            .finish_non_exhaustive()
    }
}

impl LogtoCore {
    /// The shared part of the clients, with system time.
    pub fn new(config: LogtoConfig) -> Result<Self, LogtoError> {
        if config.endpoint.starts_with("https://") && !cfg!(feature = "tls") {
            return Err(LogtoError::Config(format!(
                "{} is https, and this build has no TLS: build with `--features tls`",
                config.endpoint
            )));
        }
        let http = reqwest::Client::builder()
            // No redirects: openidconnect's SSRF guidance for token and userinfo calls.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .build()
            .map_err(|e| LogtoError::Config(e.to_string()))?;
        Ok(Self {
            config,
            http,
            metadata: tokio::sync::OnceCell::new(),
            jwks: std::sync::RwLock::new(None),
            now: Arc::new(SystemTime::now),
        })
    }

    /// Uses `now` instead of the system time (a test hands in the mock's clock).
    #[must_use]
    pub fn with_time_source(mut self, now: TimeSource) -> Self {
        self.now = now;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &LogtoConfig {
        &self.config
    }

    fn seconds_now(&self) -> u64 {
        (self.now)()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs()
    }

    /// openidconnect's HTTP client: a closure over our reqwest.
    fn http_client(&self) -> impl Fn(HttpRequest) -> Pending + use<> {
        let client = self.http.clone();
        move |request: HttpRequest| {
            let client = client.clone();
            Box::pin(async move {
                let (parts, body) = request.into_parts();
                let response = client
                    .request(parts.method, parts.uri.to_string())
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await?;
                let mut builder =
                    openidconnect::http::Response::builder().status(response.status());
                for (name, value) in response.headers() {
                    builder = builder.header(name, value);
                }
                let body = response.bytes().await?.to_vec();
                let fallback = openidconnect::http::Response::new(Vec::new());
                Ok(builder.body(body).unwrap_or(fallback))
            }) as Pending
        }
    }

    async fn metadata(&self) -> Result<&Metadata, LogtoError> {
        self.metadata
            .get_or_try_init(|| async {
                let issuer = format!("{}/oidc", self.config.endpoint.trim_end_matches('/'));
                let issuer =
                    IssuerUrl::new(issuer).map_err(|e| LogtoError::Config(e.to_string()))?;
                Metadata::discover_async(issuer, &self.http_client())
                    .await
                    .map_err(|e| LogtoError::Discovery(describe(&e)))
            })
            .await
    }

    async fn client(&self) -> Result<Client, LogtoError> {
        let mut metadata = self.metadata().await?.clone();
        let refreshed = self
            .jwks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(jwks) = refreshed {
            metadata = metadata.set_jwks(jwks);
        }
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.app_id.clone()),
            self.config.app_secret.clone().map(ClientSecret::new),
        ))
    }

    /// Revokes a refresh token (RFC 7009) as `@logto/node` does: `client_id` and `token` in the
    /// body, the app's credentials in HTTP Basic. A failure is logged, not returned: sign-out
    /// goes on. (By hand because the oauth2 crate refuses a revocation endpoint without https,
    /// and a local Logto is plain http.)
    async fn revoke(&self, url: &RevocationUrl, token: &str) {
        let config = &self.config;
        let form = [("client_id", config.app_id.as_str()), ("token", token)];
        let mut request = self.http.post(url.as_str()).form(&form);
        if let Some(secret) = &config.app_secret {
            request = request.basic_auth(&config.app_id, Some(secret));
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                tracing::warn!(status = %response.status(), "Logto refused to revoke the refresh token")
            }
            Err(error) => tracing::warn!(%error, "revoking the refresh token failed"),
        }
    }

    /// Fetches the JWKS again (after a key rotation, a token's `kid` is not in the one
    /// discovery read).
    async fn refresh_jwks(&self) -> Result<(), LogtoError> {
        let metadata = self.metadata().await?;
        let jwks = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http_client())
            .await
            .map_err(|e| LogtoError::Discovery(format!("fetching the JWKS: {}", describe(&e))))?;
        *self.jwks.write().unwrap_or_else(PoisonError::into_inner) = Some(jwks);
        Ok(())
    }

    /// Verifies an ID token as the SDKs do: openidconnect checks the signature, issuer,
    /// audience, nonce (when given) and expiry, with the SDKs' 300 s clock tolerance on `exp`
    /// and `iat`. A `kid` the cached JWKS does not have makes it fetch the JWKS once more and
    /// try again (Logto rotated its key), as PyJWT's and jose's key sets do.
    async fn verify_id_token(
        &self,
        id_token: &CoreIdToken,
        nonce: Option<&Nonce>,
    ) -> Result<(), LogtoError> {
        match self.check_id_token(&self.client().await?, id_token, nonce) {
            Err(VerifyError::UnknownKey) => {
                self.refresh_jwks().await?;
                match self.check_id_token(&self.client().await?, id_token, nonce) {
                    Err(VerifyError::UnknownKey) => Err(LogtoError::IdToken(
                        "it is signed with a key Logto does not publish".into(),
                    )),
                    other => other.map_err(VerifyError::into_logto),
                }
            }
            other => other.map_err(VerifyError::into_logto),
        }
    }

    fn check_id_token(
        &self,
        client: &Client,
        id_token: &CoreIdToken,
        nonce: Option<&Nonce>,
    ) -> Result<(), VerifyError> {
        let now = self.chrono_now();
        let tolerance = chrono::Duration::seconds(CLOCK_TOLERANCE_SECS);
        // How far `iat` is from now, when it is too far (the verifier only says "expired").
        let skew = Mutex::new(None);
        let verifier = client
            .id_token_verifier()
            .set_time_fn(move || now - tolerance)
            .set_issue_time_verifier_fn(|iat| {
                let seconds = (iat - now).num_seconds();
                if seconds.abs() > CLOCK_TOLERANCE_SECS {
                    *skew.lock().unwrap_or_else(PoisonError::into_inner) = Some(seconds);
                    return Err(format!("issued {seconds} s from now"));
                }
                Ok(())
            });
        let checked = match nonce {
            Some(nonce) => id_token.claims(&verifier, nonce).map(|_| ()),
            None => id_token
                .claims(&verifier, |_: Option<&Nonce>| Ok::<(), String>(()))
                .map(|_| ()),
        };
        checked.map_err(|error| {
            if let Some(seconds) = *skew.lock().unwrap_or_else(PoisonError::into_inner) {
                return VerifyError::Other(LogtoError::ClockSkew { seconds });
            }
            match error {
                ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                ) => VerifyError::UnknownKey,
                other => VerifyError::Other(LogtoError::IdToken(other.to_string())),
            }
        })
    }

    /// "Now" for openidconnect's ID-token verifier.
    fn chrono_now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::<chrono::Utc>::from((self.now)())
    }
}

/// A Logto client for one user session: the SDKs' `LogtoClient`.
#[derive(Debug)]
pub struct LogtoClient<S> {
    core: Arc<LogtoCore>,
    storage: S,
}

impl<S: Storage> LogtoClient<S> {
    /// A client over `storage` (a session, or [`MemoryStorage`]).
    pub fn new(core: Arc<LogtoCore>, storage: S) -> Self {
        Self { core, storage }
    }

    /// The URL to send the user to; remembers the sign-in (PKCE verifier, state, nonce).
    pub async fn sign_in(
        &self,
        redirect_uri: &str,
        mode: Option<InteractionMode>,
    ) -> Result<String, LogtoError> {
        let config = &self.core.config;
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| LogtoError::Config(e.to_string()))?;
        let client = self.core.client().await?.set_redirect_uri(redirect);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                // 32 random bytes, as the SDKs' state.
                || CsrfToken::new_random_len(32),
                || Nonce::new_random_len(32),
            )
            .set_pkce_challenge(challenge);
        let mut scopes: Vec<&str> = vec!["offline_access", "profile"];
        scopes.extend(config.scopes.iter().map(String::as_str));
        let mut seen = vec!["openid"];
        for scope in scopes {
            if !seen.contains(&scope) {
                seen.push(scope);
                request = request.add_scope(Scope::new(scope.to_owned()));
            }
        }
        request = request.add_prompt(match config.prompt {
            Prompt::Consent => CoreAuthPrompt::Consent,
            Prompt::Login => CoreAuthPrompt::Login,
        });
        for resource in &config.resources {
            request = request.add_extra_param("resource", resource.clone());
        }
        // As Logto's SDKs: the organizations scope brings the organizations resource along.
        let organizations = "urn:logto:resource:organizations";
        if config
            .scopes
            .iter()
            .any(|s| s == "urn:logto:scope:organizations")
            && !config.resources.iter().any(|r| r == organizations)
        {
            request = request.add_extra_param("resource", organizations);
        }
        if let Some(mode) = mode {
            let value = match mode {
                InteractionMode::SignIn => "signIn",
                InteractionMode::SignUp => "signUp",
            };
            request = request.add_extra_param("interaction_mode", value);
        }
        let (url, state, nonce) = request.url();
        let session = SignInSession {
            redirect_uri: redirect_uri.to_owned(),
            code_verifier: verifier.secret().clone(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
        };
        let session =
            serde_json::to_string(&session).map_err(|e| LogtoError::Storage(e.to_string()))?;
        self.storage.set(keys::SIGN_IN_SESSION, session).await?;
        for key in [keys::ID_TOKEN, keys::REFRESH_TOKEN, keys::ACCESS_TOKEN_MAP] {
            self.storage.delete(key).await?;
        }
        Ok(url.to_string())
    }

    /// Handles the redirect back from Logto: checks it, exchanges the code, verifies the ID
    /// token (nonce included) and stores the tokens.
    pub async fn handle_sign_in_callback(&self, callback_url: &str) -> Result<(), LogtoError> {
        let session = self
            .storage
            .get(keys::SIGN_IN_SESSION)
            .await?
            .and_then(|s| serde_json::from_str::<SignInSession>(&s).ok())
            .ok_or(LogtoError::SignInSessionNotFound)?;
        let callback = Url::parse(callback_url).map_err(|_| LogtoError::CallbackUriMismatch)?;
        let registered =
            Url::parse(&session.redirect_uri).map_err(|e| LogtoError::Config(e.to_string()))?;
        // As the SDKs: the callback must come back to the redirect URI this sign-in sent.
        if callback.origin() != registered.origin() || callback.path() != registered.path() {
            return Err(LogtoError::CallbackUriMismatch);
        }
        let query: HashMap<String, String> = callback.query_pairs().into_owned().collect();
        if let Some(error) = query.get("error") {
            // Only Logto's answer to this sign-in ends it: a stray link to the callback with an
            // `error` must not abort the sign-in in progress.
            if query.get("state") == Some(&session.state) {
                self.storage.delete(keys::SIGN_IN_SESSION).await?;
            }
            return Err(LogtoError::Callback {
                error: error.clone(),
                description: query.get("error_description").cloned(),
            });
        }
        if query.get("state") != Some(&session.state) {
            return Err(LogtoError::InvalidState);
        }
        let code = query.get("code").ok_or(LogtoError::CodeNotFound)?;
        self.storage.delete(keys::SIGN_IN_SESSION).await?;
        let redirect = RedirectUrl::new(session.redirect_uri)
            .map_err(|e| LogtoError::Config(e.to_string()))?;
        let client = self.core.client().await?.set_redirect_uri(redirect);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .map_err(|e| LogtoError::Config(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(session.code_verifier))
            .request_async(&self.core.http_client())
            .await
            .map_err(|e| match token_error(e) {
                TokenFailure::InvalidGrant(e) | TokenFailure::Refused(e) => {
                    LogtoError::CodeExchange(e)
                }
                other => other.into_logto(),
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| LogtoError::IdToken("no ID token".into()))?;
        self.core
            .verify_id_token(id_token, Some(&Nonce::new(session.nonce)))
            .await?;
        self.store_tokens(&tokens, "").await
    }

    async fn store_tokens(
        &self,
        tokens: &CoreTokenResponse,
        resource: &str,
    ) -> Result<(), LogtoError> {
        if let Some(id_token) = tokens.id_token() {
            self.storage
                .set(keys::ID_TOKEN, id_token.to_string())
                .await?;
        }
        if let Some(refresh) = tokens.refresh_token() {
            self.storage
                .set(keys::REFRESH_TOKEN, refresh.secret().clone())
                .await?;
        }
        let lifetime = tokens.expires_in().map_or(3600, |d| d.as_secs());
        let mut map = self.access_tokens().await?;
        map.insert(
            resource.to_owned(),
            CachedAccessToken {
                token: tokens.access_token().secret().clone(),
                // Logto's SDKs treat a token as expired a minute early.
                expires_at: self.core.seconds_now() + lifetime.saturating_sub(60),
            },
        );
        let map = serde_json::to_string(&map).map_err(|e| LogtoError::Storage(e.to_string()))?;
        self.storage.set(keys::ACCESS_TOKEN_MAP, map).await
    }

    async fn access_tokens(&self) -> Result<HashMap<String, CachedAccessToken>, LogtoError> {
        Ok(self
            .storage
            .get(keys::ACCESS_TOKEN_MAP)
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    /// Whether a user is signed in (an ID token is stored), as the SDKs decide it.
    pub async fn is_authenticated(&self) -> bool {
        matches!(self.storage.get(keys::ID_TOKEN).await, Ok(Some(_)))
    }

    /// The claims of the stored ID token (verified when it was stored; read here without
    /// expiry checks, as the SDKs do).
    pub async fn get_id_token_claims(&self) -> Result<Value, LogtoError> {
        let token = self
            .storage
            .get(keys::ID_TOKEN)
            .await?
            .ok_or(LogtoError::NotAuthenticated)?;
        jwt_payload(&token)
            .ok_or_else(|| LogtoError::IdToken("the stored ID token is malformed".into()))
    }

    /// The claims of the access token for `resource` (fetched or refreshed as
    /// [`get_access_token`](Self::get_access_token) does). Read without verification, as the
    /// SDKs' `getAccessTokenClaims`: the API that receives the token verifies it.
    pub async fn get_access_token_claims(&self, resource: &str) -> Result<Value, LogtoError> {
        let token = self.get_access_token(Some(resource)).await?;
        access_token_claims(&token)
    }

    /// An access token: for `resource`, or (`None`) for the userinfo endpoint. A cached one while
    /// it lives; then a refresh with the refresh token.
    pub async fn get_access_token(&self, resource: Option<&str>) -> Result<String, LogtoError> {
        let key = resource.unwrap_or_default();
        if let Some(cached) = self.access_tokens().await?.get(key)
            && cached.expires_at > self.core.seconds_now()
        {
            return Ok(cached.token.clone());
        }
        let refresh = self
            .storage
            .get(keys::REFRESH_TOKEN)
            .await?
            .ok_or(LogtoError::NotAuthenticated)?;
        let client = self.core.client().await?;
        let refresh_token = RefreshToken::new(refresh);
        let mut request = client
            .exchange_refresh_token(&refresh_token)
            .map_err(|e| LogtoError::Config(e.to_string()))?;
        if let Some(resource) = resource {
            request = request.add_extra_param("resource", resource);
        }
        let tokens = match request.request_async(&self.core.http_client()).await {
            Ok(tokens) => tokens,
            Err(error) => {
                return Err(match token_error(error) {
                    TokenFailure::InvalidGrant(reason) => self.end_session(reason).await?,
                    TokenFailure::Refused(e) => LogtoError::Token(e),
                    other => other.into_logto(),
                });
            }
        };
        if let Some(id_token) = tokens.id_token() {
            self.core.verify_id_token(id_token, None).await?;
        }
        self.store_tokens(&tokens, key).await?;
        Ok(tokens.access_token().secret().clone())
    }

    /// The userinfo endpoint's answer as Logto sends it (`custom_data`, `identities` and
    /// null claims included, as the SDKs return it), after checking it is about the signed-in
    /// user (its `sub` is the ID token's).
    ///
    /// A 401 from the userinfo endpoint means Logto no longer accepts the cached access token
    /// (it was revoked, or Logto's clock ran ahead of ours): the token is dropped and a fresh
    /// one is asked for with the refresh token, once. When Logto refuses that too, the
    /// sign-in has ended: the tokens are dropped ([`LogtoError::SessionEnded`]) so that the
    /// app shows the user signed out instead of failing on every page.
    pub async fn fetch_user_info(&self) -> Result<Value, LogtoError> {
        let expected = self.get_id_token_claims().await?;
        let token = self.get_access_token(None).await?;
        let claims = match self.user_info_with(&token).await? {
            Some(claims) => claims,
            None => {
                self.forget_access_token("").await?;
                let token = self.get_access_token(None).await?;
                match self.user_info_with(&token).await? {
                    Some(claims) => claims,
                    None => {
                        return Err(self
                            .end_session("Logto refused a freshly refreshed access token".into())
                            .await?);
                    }
                }
            }
        };
        let sub = claims.get("sub").and_then(Value::as_str);
        if sub.is_none() || sub != expected.get("sub").and_then(Value::as_str) {
            return Err(LogtoError::UserInfo(
                "the answer is not about the signed-in user".into(),
            ));
        }
        Ok(claims)
    }

    /// The userinfo endpoint's claims for `token`, or `None` when Logto refuses the token (401).
    async fn user_info_with(&self, token: &str) -> Result<Option<Value>, LogtoError> {
        let endpoint = self
            .core
            .metadata()
            .await?
            .userinfo_endpoint()
            .cloned()
            .ok_or_else(|| {
                LogtoError::Config("no userinfo endpoint in the provider metadata".into())
            })?;
        let unreachable = |e: reqwest::Error| LogtoError::Unreachable(describe(&e));
        let response = self
            .core
            .http
            .get(endpoint.url().as_str())
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let body = response.text().await.map_err(unreachable)?;
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Ok(None);
        }
        if status.is_server_error() {
            return Err(LogtoError::Unavailable(format!(
                "userinfo answered {status}"
            )));
        }
        if !status.is_success() {
            return Err(LogtoError::UserInfo(format!("{status}: {body}")));
        }
        serde_json::from_str(&body)
            .map(Some)
            .map_err(|e| LogtoError::UserInfo(format!("the answer is not JSON: {e}")))
    }

    /// Drops the cached access token for `resource` (`""`: the userinfo token).
    async fn forget_access_token(&self, resource: &str) -> Result<(), LogtoError> {
        let mut map = self.access_tokens().await?;
        if map.remove(resource).is_some() {
            let map =
                serde_json::to_string(&map).map_err(|e| LogtoError::Storage(e.to_string()))?;
            self.storage.set(keys::ACCESS_TOKEN_MAP, map).await?;
        }
        Ok(())
    }

    /// Logto no longer accepts this sign-in: forgets its tokens (the user is signed out of the
    /// app) and returns the error that says so.
    async fn end_session(&self, reason: String) -> Result<LogtoError, LogtoError> {
        for key in [keys::ID_TOKEN, keys::REFRESH_TOKEN, keys::ACCESS_TOKEN_MAP] {
            self.storage.delete(key).await?;
        }
        Ok(LogtoError::SessionEnded(reason))
    }

    /// Forgets the user's tokens, revokes the refresh token (as `@logto/node` does; a failure
    /// there does not stop the sign-out) and returns Logto's end-session URL with the app's
    /// `client_id` and the post sign-out redirect URI, as the SDKs build it.
    pub async fn sign_out(
        &self,
        post_logout_redirect_uri: Option<&str>,
    ) -> Result<String, LogtoError> {
        let refresh = self.storage.get(keys::REFRESH_TOKEN).await?;
        for key in [
            keys::ID_TOKEN,
            keys::REFRESH_TOKEN,
            keys::ACCESS_TOKEN_MAP,
            keys::SIGN_IN_SESSION,
        ] {
            self.storage.delete(key).await?;
        }
        let metadata = self.core.metadata().await?;
        let logout = metadata.additional_metadata();
        if let (Some(refresh), Some(url)) =
            (refresh, &logout.additional_metadata.revocation_endpoint)
        {
            self.core.revoke(url, &refresh).await;
        }
        let endpoint = logout.end_session_endpoint.clone().ok_or_else(|| {
            LogtoError::Config("End session endpoint not found in the provider metadata".into())
        })?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(self.core.config.app_id.clone()));
        if let Some(uri) = post_logout_redirect_uri {
            let uri = PostLogoutRedirectUrl::new(uri.to_owned())
                .map_err(|e| LogtoError::Config(e.to_string()))?;
            request = request.set_post_logout_redirect_uri(uri);
        }
        Ok(request.http_get_url().to_string())
    }
}

/// The claims of an access token for an API resource, read without verification (the API
/// that receives it verifies it). Logto issues those as JWTs; anything else is an answer the
/// client did not expect.
pub fn access_token_claims(token: &str) -> Result<Value, LogtoError> {
    jwt_payload(token).ok_or_else(|| {
        LogtoError::UnexpectedToken("the access token for the API resource is not a JWT".into())
    })
}

/// The payload of a compact JWS, read without verifying it.
fn jwt_payload(token: &str) -> Option<Value> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// How a token request failed.
#[derive(Debug, PartialEq, Eq)]
enum TokenFailure {
    /// No answer (a network error, a timeout).
    Unreachable(String),
    /// Logto's `server_error` or `temporarily_unavailable`: trying again may work.
    Unavailable(String),
    /// `invalid_grant`: the code or refresh token is expired, used or revoked.
    InvalidGrant(String),
    /// Another OAuth error (`invalid_client`, `invalid_scope`, …).
    Refused(String),
    /// Neither tokens nor an OAuth error (an HTML page, a malformed answer): Logto failing in
    /// a way signing in again does not fix.
    Unexpected(String),
}

impl TokenFailure {
    /// The error for the failures every token request treats alike.
    fn into_logto(self) -> LogtoError {
        match self {
            Self::Unreachable(e) => LogtoError::Unreachable(e),
            Self::Unavailable(e) => LogtoError::Unavailable(e),
            Self::InvalidGrant(e) | Self::Refused(e) => LogtoError::Token(e),
            Self::Unexpected(e) => LogtoError::UnexpectedToken(e),
        }
    }
}

fn token_error<RE, T>(error: openidconnect::RequestTokenError<RE, T>) -> TokenFailure
where
    RE: std::error::Error + 'static,
    T: openidconnect::ErrorResponse + 'static,
{
    use openidconnect::RequestTokenError as E;
    match &error {
        E::Request(cause) => TokenFailure::Unreachable(describe(cause)),
        E::ServerResponse(response) => {
            // The error code, as the response serialises it (`error`).
            let code = serde_json::to_value(response)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            let text = describe(&error);
            match code.as_str() {
                "invalid_grant" => TokenFailure::InvalidGrant(text),
                "server_error" | "temporarily_unavailable" => TokenFailure::Unavailable(text),
                _ => TokenFailure::Refused(text),
            }
        }
        E::Parse(..) | E::Other(_) => TokenFailure::Unexpected(describe(&error)),
    }
}

/// Why an ID token did not verify.
enum VerifyError {
    /// Its `kid` is not in the JWKS the client has.
    UnknownKey,
    Other(LogtoError),
}

impl VerifyError {
    fn into_logto(self) -> LogtoError {
        match self {
            Self::UnknownKey => LogtoError::IdToken("no key of Logto's JWKS matches it".into()),
            Self::Other(error) => error,
        }
    }
}

/// The SDKs' clock tolerance for ID tokens (`clockTolerance` of Logto's JS SDK).
const CLOCK_TOLERANCE_SECS: i64 = 300;

/// An error with its causes, `outer: inner: innermost` (reqwest hides the useful part, e.g.
/// "connection refused" or "invalid URL, scheme is not http", in its sources).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const REDIRECT: &str = "http://localhost:3000/callback";

    /// A client whose discovery would fail (nothing listens on port 9): every test here must
    /// be decided before the network.
    fn client(storage: MemoryStorage) -> LogtoClient<MemoryStorage> {
        let config = LogtoConfig::new("http://127.0.0.1:9", "app", Some("secret".into()));
        let core = LogtoCore::new(config)
            .unwrap()
            .with_time_source(Arc::new(|| UNIX_EPOCH + Duration::from_secs(1_000_000)));
        LogtoClient::new(Arc::new(core), storage)
    }

    async fn signing_in() -> MemoryStorage {
        let storage = MemoryStorage::default();
        let session = SignInSession {
            redirect_uri: REDIRECT.into(),
            code_verifier: "verifier".into(),
            state: "the-state".into(),
            nonce: "the-nonce".into(),
        };
        storage
            .set(
                keys::SIGN_IN_SESSION,
                serde_json::to_string(&session).unwrap(),
            )
            .await
            .unwrap();
        storage
    }

    #[tokio::test]
    async fn a_callback_without_a_sign_in_is_refused() {
        let client = client(MemoryStorage::default());
        let error = client
            .handle_sign_in_callback(&format!("{REDIRECT}?code=c&state=s"))
            .await;
        assert_eq!(error, Err(LogtoError::SignInSessionNotFound));
    }

    #[tokio::test]
    async fn a_callback_elsewhere_than_the_redirect_uri_is_refused() {
        let client = client(signing_in().await);
        for url in [
            "http://localhost:3000/other?code=c&state=the-state",
            "http://localhost:4000/callback?code=c&state=the-state",
            "not a url",
        ] {
            let error = client.handle_sign_in_callback(url).await;
            assert_eq!(error, Err(LogtoError::CallbackUriMismatch), "{url}");
        }
    }

    #[tokio::test]
    async fn logtos_error_is_reported_and_ends_the_sign_in() {
        let storage = signing_in().await;
        let client = client(storage.clone());
        let error = client
            .handle_sign_in_callback(&format!(
                "{REDIRECT}?error=access_denied&error_description=no%20thanks&state=the-state"
            ))
            .await;
        assert_eq!(
            error,
            Err(LogtoError::Callback {
                error: "access_denied".into(),
                description: Some("no thanks".into()),
            })
        );
        assert_eq!(storage.get(keys::SIGN_IN_SESSION).await, Ok(None));
    }

    #[tokio::test]
    async fn an_error_with_another_state_does_not_end_the_sign_in() {
        let storage = signing_in().await;
        let client = client(storage.clone());
        let error = client
            .handle_sign_in_callback(&format!("{REDIRECT}?error=access_denied&state=forged"))
            .await;
        assert!(
            matches!(error, Err(LogtoError::Callback { .. })),
            "{error:?}"
        );
        assert!(storage.get(keys::SIGN_IN_SESSION).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_wrong_or_missing_state_and_a_missing_code_are_refused() {
        let client = client(signing_in().await);
        let wrong = client
            .handle_sign_in_callback(&format!("{REDIRECT}?code=c&state=other"))
            .await;
        assert_eq!(wrong, Err(LogtoError::InvalidState));
        let missing = client
            .handle_sign_in_callback(&format!("{REDIRECT}?code=c"))
            .await;
        assert_eq!(missing, Err(LogtoError::InvalidState));
        let no_code = client
            .handle_sign_in_callback(&format!("{REDIRECT}?state=the-state"))
            .await;
        assert_eq!(no_code, Err(LogtoError::CodeNotFound));
    }

    #[tokio::test]
    async fn cached_access_tokens_are_used_until_their_expires_at() {
        let storage = MemoryStorage::default();
        let map = serde_json::json!({
            "": {"token": "userinfo-token", "expiresAt": 1_000_001},
            "https://api.example.com": {"token": "api-token", "expiresAt": 1_000_000},
        });
        storage
            .set(keys::ACCESS_TOKEN_MAP, map.to_string())
            .await
            .unwrap();
        let client = client(storage);
        assert_eq!(
            client.get_access_token(None).await.as_deref(),
            Ok("userinfo-token")
        );
        // Expired (now = 1 000 000) and no refresh token: the user must sign in again.
        assert_eq!(
            client
                .get_access_token(Some("https://api.example.com"))
                .await,
            Err(LogtoError::NotAuthenticated)
        );
    }

    #[tokio::test]
    async fn nobody_is_authenticated_without_an_id_token() {
        let client = client(MemoryStorage::default());
        assert!(!client.is_authenticated().await);
        assert_eq!(
            client.get_id_token_claims().await,
            Err(LogtoError::NotAuthenticated)
        );
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn an_https_endpoint_without_the_tls_feature_says_so_at_once() {
        let config = LogtoConfig::new("https://tenant.logto.app", "app", None);
        let error = LogtoCore::new(config).map(|_| ()).unwrap_err();
        assert!(error.to_string().contains("--features tls"), "{error}");
    }

    #[test]
    fn token_failures_are_told_apart_by_what_fixes_them() {
        use openidconnect::core::CoreErrorResponseType as Code;
        type Failure = openidconnect::RequestTokenError<
            std::io::Error,
            openidconnect::StandardErrorResponse<Code>,
        >;
        let oauth = |code: Code| -> Failure {
            openidconnect::RequestTokenError::ServerResponse(
                openidconnect::StandardErrorResponse::new(code, None, None),
            )
        };
        let other: Failure = openidconnect::RequestTokenError::Other("500 Bad Gateway".into());
        assert!(matches!(token_error(other), TokenFailure::Unexpected(_)));
        assert!(matches!(
            token_error(oauth(Code::InvalidGrant)),
            TokenFailure::InvalidGrant(_)
        ));
        assert!(matches!(
            token_error(oauth(Code::InvalidClient)),
            TokenFailure::Refused(_)
        ));
        for transient in ["server_error", "temporarily_unavailable"] {
            assert!(matches!(
                token_error(oauth(Code::Extension(transient.into()))),
                TokenFailure::Unavailable(_)
            ));
        }
        let unreachable: Failure =
            openidconnect::RequestTokenError::Request(std::io::Error::other("refused"));
        assert!(matches!(
            token_error(unreachable),
            TokenFailure::Unreachable(_)
        ));
    }

    #[test]
    fn jwt_payloads_are_read_only_from_three_part_tokens() {
        assert_eq!(
            jwt_payload("e30.eyJzdWIiOiJhIn0.sig"),
            Some(serde_json::json!({"sub": "a"}))
        );
        assert_eq!(jwt_payload("opaque-token"), None);
        assert_eq!(jwt_payload("a.b.c.d"), None);
        assert_eq!(jwt_payload("e30.!!!.sig"), None);
    }
}

//! [`MockIdp`]: the mock Logto, with its own fake Postmark, on ports of their own.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mock_idp::{MockIdp, User};
//!
//! let idp = MockIdp::builder()
//!     .user(User::email("carol@example.com").name("Carol"))
//!     .seed(42)
//!     .start()
//!     .await?;
//! println!("issuer {}", idp.issuer());            // http://127.0.0.1:PORT/oidc
//! let app = idp.app();                            // the sample app's client id and secret
//! # let _ = app;
//! # Ok(()) }
//! ```

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::RwLock;

use serde_json::json;

use crate::clock::Clock;
use crate::connector::postmark::PostmarkConnector;
use crate::events::{Event, Events};
use crate::experience;
use crate::keys::{Keys, SigningAlg};
use crate::oidc::{self, auth};
use crate::postmark::{FakePostmark, Inbox};
use crate::rng::{DEFAULT_SEED, SeededRng};
use crate::server::ServerHandle;
use crate::state::{IdpState, Inner};
use crate::tenant::{Application, ApplicationType, PrivateKey, Resource, Tenant, User};

/// Default port of the standalone mock Logto.
pub const DEFAULT_IDP_PORT: u16 = 3001;

/// A running mock Logto. Dropping it stops the IdP and the fake Postmark it started, and frees
/// their ports.
pub struct MockIdp {
    state: IdpState,
    handle: ServerHandle,
    postmark: Option<FakePostmark>,
    postmark_url: String,
}

impl MockIdp {
    /// Starts the fixture tenant on `127.0.0.1`, port 0, with its own fake Postmark.
    pub async fn start() -> io::Result<Self> {
        Self::builder().start().await
    }

    /// A builder for users, applications, seed, clock, keys and ports.
    pub fn builder() -> MockIdpBuilder {
        MockIdpBuilder::default()
    }

    /// The origin every URL starts with (`http://127.0.0.1:PORT`, or the public URL).
    pub fn base_url(&self) -> &str {
        &self.state.origin
    }

    /// `{base_url}/oidc`: Logto's issuer, without a trailing slash.
    pub fn issuer(&self) -> String {
        self.state.issuer()
    }

    /// `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    /// `authorization_endpoint`.
    pub fn authorization_endpoint(&self) -> String {
        format!("{}/auth", self.issuer())
    }

    /// `token_endpoint`.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer())
    }

    /// `userinfo_endpoint`.
    pub fn userinfo_endpoint(&self) -> String {
        format!("{}/me", self.issuer())
    }

    /// `jwks_uri`.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer())
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.handle.addr()
    }

    /// The first traditional web app of the tenant: the sample app (client id, secret,
    /// redirect URIs).
    pub fn app(&self) -> Application {
        let tenant = self.state.tenant();
        tenant
            .applications
            .iter()
            .find(|a| a.app_type == ApplicationType::Traditional)
            .or_else(|| tenant.applications.first())
            .cloned()
            .unwrap_or_else(|| Application {
                id: String::new(),
                name: String::new(),
                description: None,
                app_type: ApplicationType::Traditional,
                secret: None,
                oidc_client_metadata: Default::default(),
                custom_client_metadata: Default::default(),
                is_third_party: false,
                created_at: 0,
            })
    }

    /// The tenant as it is now (users created at sign-up included).
    pub fn tenant(&self) -> Tenant {
        self.state.tenant().clone()
    }

    /// The user with this primary email.
    pub fn user(&self, email: &str) -> Option<User> {
        self.state.tenant().user_by_email(email).cloned()
    }

    /// The captured mail of the fake Postmark this IdP sends through (its own, or the one
    /// given with [`MockIdpBuilder::postmark_url`] if that is a `FakePostmark` in this process:
    /// then use that fake's own inbox).
    pub fn inbox(&self) -> Option<Inbox> {
        self.postmark.as_ref().map(FakePostmark::inbox)
    }

    /// The fake Postmark this IdP started, if it started one.
    pub fn postmark(&self) -> Option<&FakePostmark> {
        self.postmark.as_ref()
    }

    /// The Postmark API base URL the IdP's connector sends to.
    pub fn postmark_url(&self) -> &str {
        &self.postmark_url
    }

    /// The clock behind every timestamp and expiry (shared with the fake Postmark).
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// The seed: print it to replay a run.
    pub fn seed(&self) -> u64 {
        self.state.rng.seed()
    }

    /// The algorithm ID tokens are signed with.
    pub fn signing_alg(&self) -> SigningAlg {
        self.state.keys.alg()
    }

    /// Everything that happened so far, in order (secrets never appear).
    pub fn events(&self) -> Vec<Event> {
        self.state.events.all()
    }

    /// **Test-only shortcut**: signs the user with this email in to the newest pending
    /// interaction without the sign-in experience (no code, no mail), and returns the URL
    /// that resumes it (`{issuer}/auth/{uid}`; GET it with the `_interaction` cookie of that
    /// browser or client). For tests of the OIDC layer alone; real flows sign in through the
    /// pages or the Experience API.
    pub fn test_only_login(&self, email: &str) -> Result<String, TestLoginError> {
        let now = self.state.clock.now();
        let account = self
            .state
            .tenant()
            .user_by_email(email)
            .map(|u| u.id.clone())
            .ok_or_else(|| TestLoginError(format!("no user with the email {email}")))?;
        let interaction = self.state.interactions.newest_pending(now).ok_or_else(|| {
            TestLoginError("no sign-in is waiting (call /oidc/auth first)".into())
        })?;
        auth::complete_interaction(&self.state, &interaction.uid, &account)
            .ok_or_else(|| TestLoginError("the interaction expired".into()))
    }
}

impl std::fmt::Debug for MockIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockIdp")
            .field("issuer", &self.issuer())
            .field("postmark", &self.postmark_url)
            .field("seed", &self.seed())
            .finish_non_exhaustive()
    }
}

/// Why [`MockIdp::test_only_login`] could not sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestLoginError(pub String);

impl std::fmt::Display for TestLoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TestLoginError {}

/// Configures a [`MockIdp`]; finish with [`start`](Self::start).
#[must_use = "a builder does nothing until .start().await"]
#[derive(Debug)]
pub struct MockIdpBuilder {
    addr: SocketAddr,
    postmark_port: u16,
    tenant: Option<Tenant>,
    users: Vec<User>,
    applications: Vec<Application>,
    resources: Vec<Resource>,
    signing_keys: Vec<PrivateKey>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    seed: u64,
    clock: Option<Clock>,
    signing_alg: Option<SigningAlg>,
    public_url: Option<String>,
    postmark_url: Option<String>,
}

impl Default for MockIdpBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            postmark_port: 0,
            tenant: None,
            users: Vec::new(),
            applications: Vec::new(),
            resources: Vec::new(),
            signing_keys: Vec::new(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            seed: DEFAULT_SEED,
            clock: None,
            signing_alg: None,
            public_url: None,
            postmark_url: None,
        }
    }
}

impl MockIdpBuilder {
    /// Address to bind (default `127.0.0.1:0`).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Port to bind (0 picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }

    /// Port of the fake Postmark the IdP starts (default 0).
    pub fn postmark_port(mut self, port: u16) -> Self {
        self.postmark_port = port;
        self
    }

    /// Replaces the fixture tenant.
    pub fn tenant(mut self, tenant: Tenant) -> Self {
        self.tenant = Some(tenant);
        self
    }

    /// Adds a user (id drawn from the seed when empty). A user with the email of a tenant
    /// user replaces that user, keeping its id, so `User::email("alice@example.com")` with
    /// another name changes the fixture's Alice.
    pub fn user(mut self, user: User) -> Self {
        self.users.push(user);
        self
    }

    /// Adds an application (replaces one with the same id).
    pub fn application(mut self, application: Application) -> Self {
        self.applications.push(application);
        self
    }

    /// Adds an API resource (replaces one with the same indicator).
    pub fn resource(mut self, resource: Resource) -> Self {
        self.resources.push(resource);
        self
    }

    /// Signs with this key (a PKCS#8 PEM: EC P-384, EC P-256 or RSA) instead of the fixture's
    /// first; the fixture keys stay published in the JWKS (a key rotation, seen from clients).
    pub fn signing_key(mut self, pem: impl Into<String>) -> Self {
        self.signing_keys.push(PrivateKey {
            id: format!("builder-key-{}", self.signing_keys.len() + 1),
            value: pem.into(),
            created_at: 0,
        });
        self
    }

    /// Registers another redirect URI for the sample app (e.g. a per-test app on port 0).
    pub fn app_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Registers another post sign-out redirect URI for the sample app.
    pub fn app_post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uris.push(uri.into());
        self
    }

    /// Seeds every random value (default [`DEFAULT_SEED`]).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Uses this clock (default: the system clock); the fake Postmark shares it.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Signs with the tenant's first key of this algorithm (default: the tenant's first key,
    /// ES384 in the fixture).
    pub fn signing_alg(mut self, alg: SigningAlg) -> Self {
        self.signing_alg = Some(alg);
        self
    }

    /// The origin the issuer and every URL use, when clients reach the IdP through a proxy or
    /// a container port (`https://idp.test`). Default: the bound address.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// Sends mail through this Postmark API instead of starting a fake one.
    pub fn postmark_url(mut self, url: impl Into<String>) -> Self {
        self.postmark_url = Some(url.into());
        self
    }

    /// Binds, then serves on a thread of its own (with its fake Postmark). Ready on return.
    pub async fn start(self) -> io::Result<MockIdp> {
        let clock = self.clock.clone().unwrap_or_default();
        let rng = SeededRng::new(self.seed);
        let mut tenant = match self.tenant.clone() {
            Some(tenant) => tenant,
            None => Tenant::fixture()?,
        };
        self.apply(&mut tenant, &rng, &clock);
        tenant.validate()?;
        let keys = Keys::load(&tenant.logto_configs.oidc_private_keys, self.signing_alg)?;

        let (postmark, postmark_url) = match self.postmark_url.clone() {
            Some(url) => (None, url.trim_end_matches('/').to_owned()),
            None => {
                let fake = FakePostmark::builder()
                    .bind(SocketAddr::new(self.addr.ip(), self.postmark_port))
                    .seed(rng.derive("postmark").seed())
                    .clock(clock.clone())
                    .start()
                    .await?;
                let url = fake.base_url().to_owned();
                (Some(fake), url)
            }
        };
        for connector in &mut tenant.connectors {
            if connector.connector_id == "postmark-mail"
                && let Some(config) = connector.config.as_object_mut()
            {
                config
                    .entry("baseUrl")
                    .or_insert_with(|| json!(postmark_url));
            }
        }

        let connector = tenant
            .connectors
            .iter()
            .find(|c| c.connector_id == "postmark-mail")
            .map(|c| PostmarkConnector::new(&c.config))
            .transpose()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let inbox_url = postmark.as_ref().map(FakePostmark::inbox_url);
        let public_url = self.public_url.map(|u| u.trim_end_matches('/').to_owned());
        let events = Events::new(clock.clone());
        // The IdP has no long-running responses, so it needs no shutdown signal.
        let (handle, state) = ServerHandle::start("idp", self.addr, |addr, _shutdown| {
            let origin = public_url.unwrap_or_else(|| format!("http://{addr}"));
            let state = IdpState::new(Inner {
                tenant: RwLock::new(tenant),
                keys,
                interactions: Default::default(),
                store: Default::default(),
                experience: Default::default(),
                connector,
                inbox_url,
                clock,
                rng,
                events,
                origin,
            });
            let router = oidc::router()
                .merge(experience::router())
                .fallback(oidc::invalid_route)
                .method_not_allowed_fallback(oidc::invalid_route)
                .with_state(state.clone());
            (router, state)
        })?;
        tracing::info!(issuer = %state.issuer(), "mock Logto listening");
        Ok(MockIdp {
            state,
            handle,
            postmark,
            postmark_url,
        })
    }

    /// Builder additions on top of the tenant: users (ids from the seed, times from the
    /// clock), applications, the sample app's extra redirect URIs.
    fn apply(&self, tenant: &mut Tenant, rng: &SeededRng, clock: &Clock) {
        let now_ms = clock.unix_millis();
        for user in &self.users {
            let mut user = user.clone();
            if user.id.is_empty() {
                // A user with a tenant user's email takes that user's place (and id).
                let existing = user
                    .primary_email
                    .as_deref()
                    .and_then(|email| tenant.user_by_email(email));
                user.id = existing.map_or_else(|| rng.id(12), |u| u.id.clone());
            }
            if user.created_at == 0 {
                user.created_at = now_ms;
                user.updated_at = now_ms;
            }
            tenant.users.retain(|u| u.id != user.id);
            tenant.users.push(user);
        }
        for app in &self.applications {
            tenant.applications.retain(|a| a.id != app.id);
            tenant.applications.push(app.clone());
        }
        for resource in &self.resources {
            tenant
                .resources
                .retain(|r| r.indicator != resource.indicator);
            tenant.resources.push(resource.clone());
        }
        let keys = &mut tenant.logto_configs.oidc_private_keys;
        for (i, key) in self.signing_keys.iter().enumerate() {
            keys.insert(i, key.clone());
        }
        if let Some(app) = tenant
            .applications
            .iter_mut()
            .find(|a| a.app_type == ApplicationType::Traditional)
        {
            let metadata = &mut app.oidc_client_metadata;
            for (registered, extra) in [
                (&mut metadata.redirect_uris, &self.redirect_uris),
                (
                    &mut metadata.post_logout_redirect_uris,
                    &self.post_logout_redirect_uris,
                ),
            ] {
                for uri in extra {
                    if !registered.contains(uri) {
                        registered.push(uri.clone());
                    }
                }
            }
        }
    }
}

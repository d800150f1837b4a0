//! [`MockIdp`]: the mock Logto, with its own fake Postmark, on ports of their own.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mock_idp::{MockIdp, User};
//!
//! let idp = MockIdp::builder()
//!     .user(User::email("carol@example.com").name("Carol"))
//!     .redirect_uri("http://localhost:4000/callback")  // your app's callback
//!     .seed(42)
//!     .start()
//!     .await?;
//! println!("issuer {}", idp.issuer());                // http://127.0.0.1:PORT/oidc
//! let client = idp.client();                          // id, secret, redirect URIs
//! # let _ = client;
//! // ... your app sends Carol to Logto, she types her email ...
//! let code = idp.code_for("carol@example.com").await?; // the code Logto mailed her
//! # let _ = code;
//! # Ok(()) }
//! ```

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use serde_json::json;

use crate::clock::Clock;
use crate::connector::postmark::PostmarkConnector;
use crate::control::ControlError;
use crate::events::{Event, Events};
use crate::experience;
use crate::faults::{Faults, PendingFault, ScheduledFault};
use crate::keys::{Keys, SigningAlg};
use crate::oidc::{self, auth};
use crate::postmark::{FakePostmark, Inbox, WaitForCode};
use crate::rng::{DEFAULT_SEED, SeededRng};
use crate::scenario::Scenario;
use crate::server::{Runtime, ServerHandle};
use crate::state::{IdpState, Initial, Inner, Mail};
use crate::tenant::{
    Application, ApplicationType, Hook, Organization, OrganizationRole, OrganizationScope,
    PrivateKey, Resource, Role, Tenant, User,
};

/// The application under test, as the mock Logto registered it: what your app's Logto
/// configuration needs. It is the tenant's first traditional web app (the fixture's sample
/// app, plus the redirect URIs given to the builder).
#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    /// The client id (`LOGTO_APP_ID`).
    pub id: String,
    /// The client secret (`LOGTO_APP_SECRET`).
    pub secret: String,
    /// The registered redirect URIs: those given to the builder first (your app's), then the
    /// tenant's (the fixture's `http://localhost:3000/callback`).
    pub redirect_uris: Vec<String>,
    /// The registered post sign-out redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .field("redirect_uris", &self.redirect_uris)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .finish()
    }
}

impl Client {
    fn of(app: &Application) -> Self {
        Self {
            id: app.id.clone(),
            secret: app.secret.clone().unwrap_or_default(),
            redirect_uris: app.oidc_client_metadata.redirect_uris.clone(),
            post_logout_redirect_uris: app.oidc_client_metadata.post_logout_redirect_uris.clone(),
        }
    }
}

/// Where the IdP's Postmark connector sends mail.
enum Postmark {
    /// A fake Postmark the IdP started and owns.
    Own(FakePostmark),
    /// A fake Postmark of the test's, given with [`MockIdpBuilder::postmark`].
    Shared { inbox: Inbox, url: String },
    /// Any Postmark API: [`MockIdpBuilder::external_postmark`] or the tenant's `baseUrl`.
    External { url: String, named_by: &'static str },
}

/// A running mock Logto. Dropping it stops the IdP and the fake Postmark it started, and frees
/// their ports. When it is dropped by a panicking test, it prints its event log and the mail it
/// sent, and writes both to the test's artifacts folder (`target/mock-idp-artifacts/{binary}/{test}/`),
/// as wiremock prints the requests it received.
pub struct MockIdp {
    state: IdpState,
    client: Client,
    postmark: Postmark,
    /// The artifacts folder of the test that started it, under the root (named on its
    /// thread: the drop may run on another).
    test_path: std::path::PathBuf,
    /// The seed, clock and faults a replay of this instance starts from.
    replay: Scenario,
    /// The command that runs the test again from `replay` (made on the test's thread).
    rerun: String,
    handle: ServerHandle,
}

impl MockIdp {
    /// The port of the standalone mock Logto (`cargo run -p mock-idp`) and of the sample app's
    /// demo.
    pub const DEFAULT_PORT: u16 = 3001;

    /// Starts the fixture tenant on `127.0.0.1`, port 0, with its own fake Postmark.
    pub async fn start() -> io::Result<Self> {
        Self::builder().start().await
    }

    /// A builder for users, applications, redirect URIs, seed, clock, keys and ports.
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

    /// `end_session_endpoint`.
    pub fn end_session_endpoint(&self) -> String {
        format!("{}/session/end", self.issuer())
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.handle.addr()
    }

    /// The application under test: client id, secret and redirect URIs.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The Management API's resource indicator (Logto OSS's default tenant's): ask the
    /// `client_credentials` grant for it with `scope=all` to call `/api/users` and the rest.
    pub const MANAGEMENT_API: &'static str = crate::management::RESOURCE;

    /// The tenant's first machine-to-machine application, for the `client_credentials` grant:
    /// the fixture's "Backend service", whose roles grant the Management API's `all` and the
    /// sample API's `read:messages`.
    pub fn machine_to_machine_app(&self) -> Option<Application> {
        self.state
            .tenant()
            .applications
            .iter()
            .find(|a| a.app_type == ApplicationType::MachineToMachine)
            .cloned()
    }

    /// An authorization request for [`client`](Self::client) at its first redirect URI, as an
    /// app's sign-in link sends it: `scope=openid profile email`, `state=mock-idp-state`.
    /// Where a test without an app of its own starts a sign-in.
    pub fn sign_in_url(&self) -> String {
        self.authorization_url(&[])
    }

    /// [`sign_in_url`](Self::sign_in_url) with `interaction_mode=signUp`: Logto opens on its
    /// registration page.
    pub fn sign_up_url(&self) -> String {
        self.authorization_url(&[("interaction_mode", "signUp")])
    }

    /// [`sign_in_url`](Self::sign_in_url) with `params` replacing or adding parameters (an
    /// empty value removes one): `idp.authorization_url(&[("scope", "openid roles"),
    /// ("max_age", "0")])`. The values are percent-encoded here.
    pub fn authorization_url(&self, params: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("client_id", self.client.id.as_str()),
            ("response_type", "code"),
            ("scope", "openid profile email"),
            ("state", "mock-idp-state"),
        ];
        if let Some(uri) = self.client.redirect_uris.first() {
            pairs.insert(1, ("redirect_uri", uri));
        }
        for (name, value) in params {
            match pairs.iter_mut().find(|(k, _)| k == name) {
                Some(pair) => pair.1 = value,
                None => pairs.push((name, value)),
            }
        }
        pairs.retain(|(_, v)| !v.is_empty());
        crate::http::with_query(&self.authorization_endpoint(), &pairs)
    }

    /// The organization with this name or id.
    pub fn organization(&self, name_or_id: &str) -> Option<Organization> {
        let tenant = self.state.tenant();
        tenant
            .organizations
            .iter()
            .find(|o| o.id == name_or_id || o.name == name_or_id)
            .cloned()
    }

    /// The tenant as it is now (users created at sign-up included).
    pub fn tenant(&self) -> Tenant {
        self.state.tenant().clone()
    }

    /// The user with this primary email.
    pub fn user(&self, email: &str) -> Option<User> {
        self.state.tenant().user_by_email(email).cloned()
    }

    /// The mail this IdP sent: the inbox of its own fake Postmark, or of the one given with
    /// [`MockIdpBuilder::postmark`].
    ///
    /// # Panics
    ///
    /// When the IdP sends to an external Postmark ([`MockIdpBuilder::external_postmark`], or a
    /// `baseUrl` in the tenant's connector config): the mail is there, not here.
    pub fn inbox(&self) -> Inbox {
        match &self.postmark {
            Postmark::Own(fake) => fake.inbox(),
            Postmark::Shared { inbox, .. } => inbox.clone(),
            Postmark::External { url, named_by } => panic!(
                "this MockIdp sends its mail to the Postmark API at {url} ({named_by}), so it \
                 keeps no inbox: read the mail there, or let the IdP start its own fake Postmark"
            ),
        }
    }

    /// The code in the next email to `email` that no wait has returned yet (an email sent
    /// before the call counts): the code Logto mailed for a sign-in or a registration. Waits up
    /// to 10 s of real time (`.timeout(d)`); `.after(cursor)` counts only mail after an
    /// [`Inbox::cursor`]. The sign-in helpers of [`Agent`](crate::Agent) and the browser read
    /// their mail this way, so after one of them the code it typed is
    /// [`latest_code`](Self::latest_code), not the next. See [`inbox`](Self::inbox) for when
    /// there is none.
    pub fn code_for(&self, email: &str) -> WaitForCode {
        self.inbox().wait_for(email).code()
    }

    /// The code in the newest email to `email`, if there is one.
    pub fn latest_code(&self, email: &str) -> Option<String> {
        self.inbox()
            .latest_to(email)
            .and_then(|mail| mail.code().map(str::to_owned))
    }

    /// The fake Postmark this IdP started, if it started one (not when it sends through
    /// [`MockIdpBuilder::postmark`] or an external Postmark).
    pub fn postmark(&self) -> Option<&FakePostmark> {
        match &self.postmark {
            Postmark::Own(fake) => Some(fake),
            Postmark::Shared { .. } | Postmark::External { .. } => None,
        }
    }

    /// The Postmark API base URL the IdP's connector sends to.
    pub fn postmark_url(&self) -> &str {
        match &self.postmark {
            Postmark::Own(fake) => fake.base_url(),
            Postmark::Shared { url, .. } | Postmark::External { url, .. } => url,
        }
    }

    /// The clock behind every timestamp and expiry (shared with the fake Postmark it started).
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// The seed: print it to replay a run.
    pub fn seed(&self) -> u64 {
        self.state.rng.seed()
    }

    /// The algorithm ID tokens are signed with.
    pub fn signing_alg(&self) -> SigningAlg {
        self.state.keys().alg()
    }

    /// Everything that happened so far, in order (secrets never appear).
    pub fn events(&self) -> Vec<Event> {
        self.state.events.all()
    }

    /// Waits until the event log holds an event of `kind` after event number `after` (0: any)
    /// and returns the first one; `None` after `timeout`. For what happens after a response,
    /// such as a webhook delivery (`hook.delivered`, `hook.failed`): pass the `seq` of the
    /// last one seen to wait for the next.
    pub async fn wait_for_event(
        &self,
        kind: &str,
        after: u64,
        timeout: std::time::Duration,
    ) -> Option<Event> {
        let mut newest = self.state.events.subscribe();
        let found = async {
            loop {
                let event = self
                    .state
                    .events
                    .after(after)
                    .into_iter()
                    .find(|e| e.kind == kind);
                if event.is_some() {
                    return event;
                }
                newest.changed().await.ok()?;
            }
        };
        tokio::time::timeout(timeout, found).await.ok().flatten()
    }

    /// `{base_url}/_mock`: the control plane ([`crate::control`]).
    pub fn control_url(&self) -> String {
        format!("{}{}", self.state.origin, crate::control::PREFIX)
    }

    /// Schedules a fault ([`Fault`](crate::Fault)): a request fault fires for the next
    /// matching request (or `.times(n)`, `.with_probability(p)`); an action happens now (or
    /// `.at(instant)`). The same as `POST /_mock/faults`. Returns the fault's id while it is
    /// pending ([`remove_fault`](Self::remove_fault)); `None` for an action done at once.
    ///
    /// ```no_run
    /// # async fn demo(idp: &mock_idp::MockIdp) -> Result<(), mock_idp::ControlError> {
    /// use mock_idp::{Fault, OAuthError};
    /// idp.inject(Fault::token_error(OAuthError::InvalidGrant).on_refresh())?;
    /// idp.inject(Fault::revoke_grants("alice@example.com"))?;
    /// # Ok(()) }
    /// ```
    pub fn inject(&self, fault: impl Into<ScheduledFault>) -> Result<Option<u64>, ControlError> {
        crate::control::ops::inject(&self.state, fault.into()).map(|p| p.map(|p| p.id))
    }

    /// The faults still pending, with their ids.
    pub fn faults(&self) -> Vec<PendingFault> {
        self.state.faults.pending()
    }

    /// Drops one pending fault; false when none has this id.
    pub fn remove_fault(&self, id: u64) -> bool {
        crate::control::ops::remove_fault(&self.state, id)
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        crate::control::ops::clear_faults(&self.state);
    }

    /// Moves the mock clock forward, then applies the actions that became due (the same as
    /// `POST /_mock/clock {"advance": …}`; `clock().advance` applies them at the next request).
    pub fn advance_clock(&self, by: std::time::Duration) {
        crate::control::ops::advance_clock(&self.state, by);
    }

    /// Sets the mock clock (earlier or later), then applies the actions that became due.
    pub fn set_clock(&self, instant: time::OffsetDateTime) {
        crate::control::ops::set_clock(&self.state, instant);
    }

    /// Adds a user while the IdP runs (id drawn from the seed when empty).
    pub fn add_user(&self, mut user: User) -> Result<User, ControlError> {
        // A clear password is never written out: its digest goes instead.
        crate::experience::password::seal(&mut user);
        let body = serde_json::to_value(user).map_err(|e| ControlError::invalid(e.to_string()))?;
        crate::control::ops::add_user(&self.state, body)
    }

    /// Changes the fields of `patch` (Logto's names: `name`, `primaryEmail`, `isSuspended`, …)
    /// on the user with this id, email or username.
    pub fn update_user(&self, user: &str, patch: serde_json::Value) -> Result<User, ControlError> {
        crate::control::ops::update_user(&self.state, user, patch)
    }

    /// Deletes a user: their grants are revoked and their sessions end.
    pub fn delete_user(&self, user: &str) -> Result<(), ControlError> {
        crate::control::ops::delete_user(&self.state, user)
    }

    /// Adds an application while the IdP runs.
    pub fn add_application(&self, app: Application) -> Result<Application, ControlError> {
        let body = serde_json::to_value(app).map_err(|e| ControlError::invalid(e.to_string()))?;
        crate::control::ops::add_application(&self.state, body)
    }

    /// Changes the fields of `patch` (Logto's names: `oidcClientMetadata`,
    /// `customClientMetadata`, …) on an application; its id and type stay.
    pub fn update_application(
        &self,
        id: &str,
        patch: serde_json::Value,
    ) -> Result<Application, ControlError> {
        crate::control::ops::update_application(&self.state, id, patch)
    }

    /// Deletes an application.
    pub fn delete_application(&self, id: &str) -> Result<(), ControlError> {
        crate::control::ops::delete_application(&self.state, id)
    }

    /// Puts the whole instance back as it started: tenant, keys, clock, seed, faults,
    /// sessions, tokens, event log and the inbox of its own fake Postmark. What follows
    /// replays like a fresh instance (inbox sequence numbers keep growing).
    pub fn reset(&self) {
        crate::control::ops::reset(&self.state);
    }

    /// What a replay of this instance starts from: its seed, the clock's start instant, the
    /// scenario's tenant sections and every fault scheduled at start.
    pub fn replay_scenario(&self) -> &Scenario {
        &self.replay
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

    /// What a panicking test gets from its `MockIdp` when it drops it: the event log and the
    /// mail sent, printed to stderr and written as `events.jsonl` and `emails.json` to the
    /// test's artifacts folder (`target/mock-idp-artifacts/{binary}/{test}/`, or under
    /// `MOCK_IDP_ARTIFACTS`), with `scenario.json` and the one command that runs the test again
    /// from it (same seed, clock and faults). Call it yourself when a failure does not panic.
    pub fn report_failure(&self) {
        let events = self.events();
        let mails = match &self.postmark {
            Postmark::Own(fake) => Some(fake.inbox().messages()),
            Postmark::Shared { inbox, .. } => Some(inbox.messages()),
            Postmark::External { .. } => None,
        };
        let mut report = format!(
            "\n---- mock-idp: the test panicked; what the mock Logto at {} saw (seed {}) ----\n",
            self.issuer(),
            self.seed()
        );
        // The newest, as many as a screen shows; the files have everything.
        let (shown_events, shown_mails) = (40, 20);
        report.push_str(&format!("events ({}):\n", events.len()));
        let older = events.len().saturating_sub(shown_events);
        if older > 0 {
            report.push_str(&format!("  ({older} older ones in events.jsonl)\n"));
        }
        for event in &events[older..] {
            report.push_str(&format!("  {event}\n"));
        }
        match &mails {
            Some(mails) => {
                report.push_str(&format!(
                    "mail sent through {} ({}):\n",
                    self.postmark_url(),
                    mails.len()
                ));
                let older = mails.len().saturating_sub(shown_mails);
                if older > 0 {
                    report.push_str(&format!("  ({older} older ones in emails.json)\n"));
                }
                for mail in &mails[older..] {
                    report.push_str(&format!("  {mail}\n"));
                }
            }
            None => report.push_str(&format!(
                "mail: sent to {}, not kept here\n",
                self.postmark_url()
            )),
        }
        let dir = crate::artifacts::root().join(&self.test_path);
        let written = std::fs::create_dir_all(&dir).and_then(|()| {
            let lines: String = events.iter().map(|e| e.to_json_line() + "\n").collect();
            std::fs::write(dir.join("events.jsonl"), lines)?;
            std::fs::write(dir.join("scenario.json"), self.replay.to_json())?;
            if let Some(mails) = &mails {
                let mails: Vec<_> = mails.iter().map(crate::Email::to_json).collect();
                let mails = serde_json::to_vec_pretty(&mails).map_err(io::Error::other)?;
                std::fs::write(dir.join("emails.json"), mails)?;
            }
            Ok(())
        });
        match written {
            Ok(()) => {
                report.push_str(&format!(
                    "written to {} (events.jsonl, emails.json, scenario.json)\n",
                    dir.display()
                ));
                report.push_str(&format!(
                    "replay (same seed, clock and faults): {}\n",
                    self.rerun
                ));
            }
            Err(error) => report.push_str(&format!("could not write {}: {error}\n", dir.display())),
        }
        eprint!("{report}");
    }
}

impl Drop for MockIdp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.report_failure();
        }
    }
}

impl std::fmt::Debug for MockIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockIdp")
            .field("issuer", &self.issuer())
            .field("client", &self.client.id)
            .field("postmark", &self.postmark_url())
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

/// Which Postmark the builder was told to use.
#[derive(Clone, Debug)]
enum PostmarkChoice {
    /// Start a fake of its own on this port.
    Own { port: u16 },
    /// Send through a fake of the test's.
    Shared {
        inbox: Inbox,
        url: String,
        inbox_url: String,
    },
    /// Send to this Postmark API.
    External(String),
}

/// Configures a [`MockIdp`]; finish with [`start`](Self::start).
#[must_use = "a builder does nothing until .start().await"]
#[derive(Debug)]
pub struct MockIdpBuilder {
    addr: SocketAddr,
    postmark: PostmarkChoice,
    tenant: Option<Tenant>,
    users: Vec<User>,
    applications: Vec<Application>,
    resources: Vec<Resource>,
    roles: Vec<Role>,
    organizations: Vec<Organization>,
    organization_roles: Vec<OrganizationRole>,
    hooks: Vec<Hook>,
    signing_keys: Vec<PrivateKey>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    seed: u64,
    clock: Option<Clock>,
    signing_alg: Option<SigningAlg>,
    public_url: Option<String>,
    workers: usize,
    control_token: Option<String>,
    faults: Vec<ScheduledFault>,
    scenario: Option<Scenario>,
    events_file: Option<PathBuf>,
}

impl Default for MockIdpBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            postmark: PostmarkChoice::Own { port: 0 },
            tenant: None,
            users: Vec::new(),
            applications: Vec::new(),
            resources: Vec::new(),
            roles: Vec::new(),
            organizations: Vec::new(),
            organization_roles: Vec::new(),
            hooks: Vec::new(),
            signing_keys: Vec::new(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            seed: DEFAULT_SEED,
            clock: None,
            signing_alg: None,
            public_url: None,
            workers: 1,
            control_token: None,
            faults: Vec::new(),
            scenario: None,
            events_file: None,
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

    /// Adds a webhook: `Hook::new(url, &["PostSignIn"], signing_key)`. Logto's interaction
    /// events (`PostRegister`, `PostSignIn`, `PostResetPassword`) are POSTed to it signed,
    /// as `docs/logto.md` describes.
    pub fn hook(mut self, hook: Hook) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Adds an organization (replaces one with the same name):
    /// `Organization::new("Acme").member("bob@example.com", &["admin"])`. Members are named by
    /// email or id, their roles by the names of the tenant's organization roles.
    pub fn organization(mut self, organization: Organization) -> Self {
        self.organizations.push(organization);
        self
    }

    /// Adds an organization role (replaces one with the same name), and its scopes to the
    /// tenant's organization scopes: `OrganizationRole::new("auditor").scope("read:data")`.
    pub fn organization_role(mut self, role: OrganizationRole) -> Self {
        self.organization_roles.push(role);
        self
    }

    /// Adds a role (replaces one with the same name): `Role::user("admin").member(
    /// "alice@example.com").scope("https://api.example.com", "write:messages")`. Its names
    /// are the `roles` claim; its scopes go into access tokens for the API resource.
    pub fn role(mut self, role: Role) -> Self {
        self.roles.push(role);
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

    /// Registers a redirect URI for the [client](MockIdp::client) (your app's callback, e.g.
    /// on the port a test bound), ahead of the tenant's: it is the one
    /// [`MockIdp::sign_in_url`] uses. [`start`](Self::start) fails when the tenant has no
    /// traditional web app to register it on.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Registers a post sign-out redirect URI for the [client](MockIdp::client).
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uris.push(uri.into());
        self
    }

    /// Seeds every random value (default [`DEFAULT_SEED`]).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Uses this clock (default: the system clock); the fake Postmark it starts shares it.
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

    /// Serves the IdP and the fake Postmark it starts on `n` threads (default 1; 0 is one per
    /// core). One thread answers a test's requests fastest and replays every byte; more serve
    /// many concurrent flows (a shared standalone IdP), and then concurrent flows draw from
    /// the seeded generator in the order their requests happen to run (one flow at a time
    /// still replays exactly).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Requires `Authorization: Bearer <token>` on the control plane (`/_mock/`), and opens
    /// it when the IdP listens on a non-loopback address (where it is otherwise off).
    pub fn control_token(mut self, token: impl Into<String>) -> Self {
        self.control_token = Some(token.into());
        self
    }

    /// Schedules a fault from the start ([`Fault`](crate::Fault); a request fault fires once unless given
    /// `.times(n)` or `.with_probability(p)`, an action happens at start or `.at(instant)`).
    pub fn fault(mut self, fault: impl Into<ScheduledFault>) -> Self {
        self.faults.push(fault.into());
        self
    }

    /// Starts from a [`Scenario`]: its seed, clock and tenant sections win over the builder's,
    /// and its faults are scheduled after the builder's. A scenario named by the
    /// `MOCK_IDP_SCENARIO` environment variable wins over both (that is how a failed test's
    /// replay command works).
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenario = Some(scenario);
        self
    }

    /// Writes the event log to `path` as JSON Lines, one event per line as it happens.
    pub fn events_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.events_file = Some(path.into());
        self
    }

    /// Port of the fake Postmark the IdP starts (default 0: a free one).
    pub fn postmark_port(mut self, port: u16) -> Self {
        self.postmark = PostmarkChoice::Own { port };
        self
    }

    /// Sends mail through this fake Postmark instead of starting one (several IdPs, or your
    /// app's own mail, in one inbox); [`MockIdp::inbox`] is its inbox.
    pub fn postmark(mut self, fake: &FakePostmark) -> Self {
        self.postmark = PostmarkChoice::Shared {
            inbox: fake.inbox(),
            url: fake.base_url().to_owned(),
            inbox_url: fake.inbox_url(),
        };
        self
    }

    /// Sends mail to the Postmark API at `url` (another process, a recorder, real Postmark)
    /// and starts no fake: the IdP then keeps no inbox, and [`MockIdp::inbox`] panics saying so.
    pub fn external_postmark(mut self, url: impl Into<String>) -> Self {
        self.postmark = PostmarkChoice::External(url.into());
        self
    }

    /// Binds, then serves on a thread of its own (with its fake Postmark). Ready on return.
    ///
    /// Fails when the tenant is invalid, when it has no traditional web app (the
    /// [client](MockIdp::client)), or when an address is taken.
    pub async fn start(self) -> io::Result<MockIdp> {
        let test_path = crate::artifacts::test_path();
        // A replay (`MOCK_IDP_SCENARIO`, as a failed test's command sets it) is the whole
        // record of the run it replays: it stands for the builder's scenario and faults.
        let replay_file = Scenario::env_path();
        let (scenario, builder_faults) = match &replay_file {
            Some(path) => (
                Scenario::from_file(path).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{}: {e}", crate::scenario::SCENARIO_ENV),
                    )
                })?,
                Vec::new(),
            ),
            None => (
                self.scenario.clone().unwrap_or_default(),
                self.faults.clone(),
            ),
        };
        // A test's folder holds only what its last run left (a failure writes it again), but
        // the scenario being replayed from it, which a second replay needs too.
        crate::artifacts::clear(
            &crate::artifacts::root().join(&test_path),
            replay_file.as_deref(),
        );
        let clock = match scenario.clock {
            Some(instant) => Clock::fixed(instant),
            None => self.clock.clone().unwrap_or_default(),
        };
        let seed = scenario.seed.unwrap_or(self.seed);
        let rng = SeededRng::new(seed);
        let mut tenant = match self.tenant.clone() {
            Some(tenant) => tenant,
            None => Tenant::fixture()?,
        };
        if let Some(sections) = scenario.tenant.clone() {
            tenant = tenant.with_sections(sections)?;
        }
        self.apply(&mut tenant, &rng, &clock);
        tenant.seal_passwords();
        tenant.validate()?;
        for role in &self.roles {
            if let Some(added) = tenant.roles.iter().find(|r| r.name == role.name) {
                added.check(&tenant)?;
            }
        }
        for organization in &self.organizations {
            let added = tenant
                .organizations
                .iter()
                .find(|o| o.name == organization.name);
            if let Some(member) = added
                .into_iter()
                .flat_map(|o| &o.members)
                .find(|m| tenant.user(&m.user_id).is_none())
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "the organization {:?} has the member {:?}, who is not a user of the \
                         tenant",
                        organization.name, member.user_id
                    ),
                ));
            }
        }
        for (i, fault) in builder_faults.iter().enumerate() {
            fault.validate().map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("fault {i}: {e}"))
            })?;
        }
        scenario.validate()?;
        let faults: Vec<ScheduledFault> = builder_faults
            .iter()
            .cloned()
            .chain(scenario.faults.iter().cloned())
            .collect();
        // What a replay of this instance needs that re-running its test does not give.
        let replay = Scenario {
            seed: Some(seed),
            clock: Some(clock.fixed_start().unwrap_or_else(|| clock.now())),
            tenant: scenario.tenant.clone(),
            faults: faults.clone(),
            postmark_faults: scenario.postmark_faults.clone(),
        };
        let client = tenant
            .applications
            .iter()
            .find(|a| a.app_type == ApplicationType::Traditional)
            .map(Client::of)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the tenant has no traditional web application (the client an app under \
                     test signs in with): add one with MockIdpBuilder::application",
                )
            })?;
        let keys = Arc::new(Keys::load(
            &tenant.logto_configs.oidc_private_keys,
            self.signing_alg,
        )?);
        // One runtime for the IdP and the fake Postmark it starts: the connector's requests
        // stay on its thread.
        let runtime = Runtime::start("mock-idp", self.workers)?;

        // The builder's choice wins over a `baseUrl` in the tenant's connector config, which
        // wins over a fake of the IdP's own.
        let tenant_url = postmark_config(&mut tenant)
            .and_then(|config| config.get("baseUrl"))
            .and_then(|url| url.as_str())
            .map(str::to_owned);
        let (postmark, inbox_url) = match (self.postmark.clone(), tenant_url.clone()) {
            (
                PostmarkChoice::Shared {
                    inbox,
                    url,
                    inbox_url,
                },
                _,
            ) => (Postmark::Shared { inbox, url }, Some(inbox_url)),
            (PostmarkChoice::External(url), _) => (
                Postmark::External {
                    url,
                    named_by: "MockIdpBuilder::external_postmark",
                },
                None,
            ),
            (PostmarkChoice::Own { .. }, Some(url)) => (
                Postmark::External {
                    url,
                    named_by: "the baseUrl of the tenant's Postmark connector",
                },
                None,
            ),
            (PostmarkChoice::Own { port }, None) => {
                let fake = FakePostmark::builder()
                    .runtime(runtime.clone())
                    .bind(SocketAddr::new(self.addr.ip(), port))
                    .seed(rng.derive("postmark").seed())
                    .clock(clock.clone())
                    .start()
                    .await?;
                let inbox_url = fake.inbox_url();
                (Postmark::Own(fake), Some(inbox_url))
            }
        };
        if !scenario.postmark_faults.is_empty() {
            let Postmark::Own(fake) = &postmark else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the scenario's postmark_faults are for the fake Postmark the IdP starts, \
                     and this IdP sends its mail through another",
                ));
            };
            for fault in &scenario.postmark_faults {
                fake.fail_next_with(fault.clone());
            }
        }
        let postmark_url = match &postmark {
            Postmark::Own(fake) => fake.base_url().to_owned(),
            Postmark::Shared { url, .. } | Postmark::External { url, .. } => url.clone(),
        };
        if let Some(config) = postmark_config(&mut tenant) {
            config.insert("baseUrl".into(), json!(postmark_url.trim_end_matches('/')));
        }
        let connector = tenant
            .connectors
            .iter()
            .find(|c| c.connector_id == "postmark-mail")
            .map(|c| PostmarkConnector::new(&c.config))
            .transpose()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let public_url = self.public_url.map(|u| u.trim_end_matches('/').to_owned());
        let events = Events::new(clock.clone());
        if let Some(path) = &self.events_file {
            events.write_to(path).map_err(|e| {
                io::Error::new(e.kind(), format!("the events file {}: {e}", path.display()))
            })?;
        }
        let mail = match &postmark {
            Postmark::Own(fake) => Some(Mail::Own {
                inbox: fake.inbox(),
                reset: fake.resetter(),
            }),
            Postmark::Shared { inbox, .. } => Some(Mail::Shared(inbox.clone())),
            Postmark::External { .. } => None,
        };
        let control = crate::control::Access {
            token: self.control_token.clone(),
            loopback: self.addr.ip().is_loopback(),
        };
        let initial_tenant = tenant.clone();
        let faults_rng = rng.derive("faults");
        let (handle, state) = ServerHandle::start(&runtime, self.addr, |addr, shutdown| {
            let origin = public_url.unwrap_or_else(|| format!("http://{addr}"));
            let state = IdpState::new(Inner {
                tenant: RwLock::new(tenant),
                keys: RwLock::new(keys.clone()),
                interactions: Default::default(),
                store: Default::default(),
                experience: Default::default(),
                connector,
                inbox_url,
                clock,
                rng,
                events,
                origin,
                faults: Faults::new(faults_rng),
                mail,
                control,
                initial: Initial {
                    tenant: initial_tenant,
                    keys,
                    faults: faults.clone(),
                    postmark_faults: scenario.postmark_faults.clone(),
                },
                hooks: crate::hooks::Delivery::new(),
                shutdown,
            });
            let router = oidc::router()
                .merge(experience::router())
                .merge(crate::management::router(state.clone()))
                .merge(crate::control::router())
                .fallback(not_routed)
                .method_not_allowed_fallback(method_not_allowed)
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    apply_due_actions,
                ))
                .with_state(state.clone());
            (router, state)
        })?;
        for (i, fault) in faults.into_iter().enumerate() {
            let kind = fault.fault.kind();
            let named = match i.checked_sub(builder_faults.len()) {
                None => format!("fault {i} ({kind})"),
                Some(j) => format!("the scenario's faults[{j}] ({kind})"),
            };
            crate::control::ops::inject(&state, fault).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{named}: {e}"))
            })?;
        }
        tracing::info!(issuer = %state.issuer(), "mock Logto listening");
        Ok(MockIdp {
            state,
            client,
            postmark,
            rerun: crate::artifacts::rerun_command(&[(
                crate::scenario::SCENARIO_ENV,
                &crate::artifacts::root()
                    .join(&test_path)
                    .join("scenario.json"),
            )]),
            test_path,
            replay,
            handle,
        })
    }

    /// Builder additions on top of the tenant: users (ids from the seed, times from the
    /// clock), applications, resources, keys, the client's extra redirect URIs.
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
            let mut resource = resource.clone();
            if resource.id.is_empty() {
                resource.id = rng.id(21);
            }
            tenant
                .resources
                .retain(|r| r.indicator != resource.indicator);
            tenant.resources.push(resource);
        }
        for role in &self.roles {
            let mut role = role.clone();
            // Members named by email become user ids (an unknown email stays, and the
            // tenant's validation names it).
            for member in &mut role.user_ids {
                if let Some(user) = tenant.user_by_email(member) {
                    *member = user.id.clone();
                }
            }
            if role.id.is_empty() {
                role.id = rng.id(21);
            }
            tenant.roles.retain(|r| r.name != role.name);
            tenant.roles.push(role);
        }
        for role in &self.organization_roles {
            let mut role = role.clone();
            if role.id.is_empty() {
                role.id = rng.id(21);
            }
            for scope in &role.scopes {
                if !tenant.is_organization_scope(scope) {
                    tenant.organization_scopes.push(OrganizationScope {
                        id: rng.id(21),
                        name: scope.clone(),
                        description: None,
                    });
                }
            }
            tenant.organization_roles.retain(|r| r.name != role.name);
            tenant.organization_roles.push(role);
        }
        for organization in &self.organizations {
            let mut organization = organization.clone();
            if organization.id.is_empty() {
                organization.id = rng.id(21);
            }
            if organization.created_at == 0 {
                organization.created_at = now_ms;
            }
            for member in &mut organization.members {
                if let Some(user) = tenant.user_by_email(&member.user_id) {
                    member.user_id = user.id.clone();
                }
            }
            tenant.organizations.retain(|o| o.name != organization.name);
            tenant.organizations.push(organization);
        }
        for hook in &self.hooks {
            let mut hook = hook.clone();
            if hook.id.is_empty() {
                hook.id = rng.id(21);
            }
            if hook.created_at == 0 {
                hook.created_at = now_ms;
            }
            tenant.hooks.retain(|h| h.id != hook.id);
            tenant.hooks.push(hook);
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
            // The builder's first: `client().redirect_uris[0]` is the test's own app.
            for (registered, extra) in [
                (&mut metadata.redirect_uris, &self.redirect_uris),
                (
                    &mut metadata.post_logout_redirect_uris,
                    &self.post_logout_redirect_uris,
                ),
            ] {
                let mut uris: Vec<String> = Vec::new();
                for uri in extra.iter().chain(registered.iter()) {
                    if !uris.contains(uri) {
                        uris.push(uri.clone());
                    }
                }
                *registered = uris;
            }
        }
    }
}

/// What no route serves: Koa's plain `Not Found` under `/api` (Logto's APIs), the OIDC
/// provider's JSON elsewhere.
async fn not_routed(method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/api/") || uri.path() == "/api" {
        return crate::management::not_routed(axum::http::StatusCode::NOT_FOUND);
    }
    oidc::invalid_route(method, uri).await
}

/// A known path with another method: koa-router's `405 Method Not Allowed` (with `Allow`)
/// under `/api`, the OIDC provider's JSON elsewhere.
async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> axum::response::Response {
    if uri.path().starts_with("/api/") {
        return crate::management::not_routed(axum::http::StatusCode::METHOD_NOT_ALLOWED);
    }
    oidc::invalid_route(method, uri).await
}

/// Before every request: the actions whose instant has come happen first.
async fn apply_due_actions(
    axum::extract::State(state): axum::extract::State<IdpState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    crate::control::ops::apply_due(&state);
    next.run(request).await
}

/// The config object of the tenant's Postmark connector, if it has one.
fn postmark_config(tenant: &mut Tenant) -> Option<&mut serde_json::Map<String, serde_json::Value>> {
    tenant
        .connectors
        .iter_mut()
        .find(|c| c.connector_id == "postmark-mail")
        .and_then(|c| c.config.as_object_mut())
}

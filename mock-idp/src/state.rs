//! [`IdpState`]: what every handler of the mock Logto shares, the OIDC provider and the sign-in
//! experience alike. Each part is owned by the module that gives it meaning (the interaction
//! store by [`crate::interaction`], the provider's memory by `oidc::store`, the experience's
//! codes by `experience::engine`); this module only holds them together.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::clock::Clock;
use crate::connector::postmark::PostmarkConnector;
use crate::events::Events;
use crate::experience::engine::ExperienceStore;
use crate::faults::{Faults, ScheduledFault};
use crate::interaction::InteractionStore;
use crate::keys::Keys;
use crate::oidc::store::OidcStore;
use crate::postmark::{Inbox, PostmarkReset};
use crate::rng::SeededRng;
use crate::server::Shutdown;
use crate::tenant::{Tenant, TenantError};

/// nanoid's alphabet: what oidc-provider's codes, tokens and uids are made of.
const NANOID: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";

/// Everything the IdP's handlers share (a cheap clone).
#[derive(Clone)]
pub(crate) struct IdpState(Arc<Inner>);

pub(crate) struct Inner {
    pub tenant: RwLock<Tenant>,
    /// The signing keys (a rotation swaps them).
    pub keys: RwLock<Arc<Keys>>,
    /// Sign-ins in progress, shared by the provider and the experience.
    pub interactions: InteractionStore,
    /// The provider's sessions, grants, codes and tokens.
    pub store: OidcStore,
    /// The sign-in experience's state per interaction.
    pub experience: ExperienceStore,
    /// The Postmark email connector, when the tenant configures one.
    pub connector: Option<PostmarkConnector>,
    /// The inbox page of the fake Postmark the IdP sends through, when it is one of ours
    /// (linked from the code page).
    pub inbox_url: Option<String>,
    pub clock: Clock,
    pub rng: SeededRng,
    pub events: Events,
    /// The origin every URL is built from (`--public-url`, or the bound address).
    pub origin: String,
    /// Pending faults.
    pub faults: Faults,
    /// The inbox of the fake Postmark the IdP sends to, when it is one of ours (for the
    /// control plane; the IdP itself only talks to it over HTTP).
    pub mail: Option<Mail>,
    /// Who may use the control plane.
    pub control: crate::control::Access,
    /// How the instance started: what a reset goes back to.
    pub initial: Initial,
    /// Webhook deliveries' HTTP client.
    pub hooks: crate::hooks::Delivery,
    /// Ends long-running responses (event streams) when the server stops.
    pub shutdown: Shutdown,
}

/// What a whole-instance reset restores.
pub(crate) struct Initial {
    pub tenant: Tenant,
    pub keys: Arc<Keys>,
    /// The scenario's faults, scheduled again.
    pub faults: Vec<ScheduledFault>,
    /// The scenario's faults of the IdP's own fake Postmark, queued again.
    pub postmark_faults: Vec<crate::postmark::Fault>,
}

/// The fake Postmark's inbox, as the control plane reaches it.
pub(crate) enum Mail {
    /// A fake the IdP started: a reset empties it and restarts its generator.
    Own { inbox: Inbox, reset: PostmarkReset },
    /// A fake of the test's: a reset leaves it alone (it may hold other mail).
    Shared(Inbox),
}

impl Mail {
    pub(crate) fn inbox(&self) -> &Inbox {
        match self {
            Self::Own { inbox, .. } | Self::Shared(inbox) => inbox,
        }
    }

    /// A whole-instance reset's part: only the IdP's own fake starts over, with `faults`.
    pub(crate) fn reset_own(&self, faults: &[crate::postmark::Fault]) {
        if let Self::Own { reset, .. } = self {
            reset.run(faults);
        }
    }
}

impl std::ops::Deref for IdpState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl IdpState {
    pub(crate) fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// `{origin}/oidc`, without a trailing slash (clients compare it byte for byte).
    pub(crate) fn issuer(&self) -> String {
        format!("{}/oidc", self.origin)
    }

    pub(crate) fn tenant(&self) -> RwLockReadGuard<'_, Tenant> {
        self.tenant.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tenant, to change in place (for changes that cannot make it invalid).
    pub(crate) fn tenant_mut(&self) -> RwLockWriteGuard<'_, Tenant> {
        self.tenant.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes a copy of the tenant with `change` and keeps it only if it still validates
    /// (`invalid` turns the reason into the caller's error): a change happens whole or not
    /// at all.
    pub(crate) fn change_tenant<T, E>(
        &self,
        change: impl FnOnce(&mut Tenant) -> Result<T, E>,
        invalid: impl FnOnce(TenantError) -> E,
    ) -> Result<T, E> {
        let mut tenant = self.tenant_mut();
        let mut next = tenant.clone();
        let result = change(&mut next)?;
        next.validate().map_err(invalid)?;
        *tenant = next;
        Ok(result)
    }

    /// The signing keys as they are now.
    pub(crate) fn keys(&self) -> Arc<Keys> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A random string of `len` nanoid characters (codes, tokens, uids).
    pub(crate) fn nanoid(&self, len: usize) -> String {
        self.rng.string(len, NANOID)
    }

    /// A `Set-Cookie` value for this IdP (Secure when it is served over https).
    pub(crate) fn set_cookie(&self, name: &str, value: &str, max_age_secs: i64) -> String {
        crate::http::set_cookie(
            name,
            value,
            max_age_secs,
            self.origin.starts_with("https://"),
        )
    }
}

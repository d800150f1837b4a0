//! A sign-in in progress: what `/oidc/auth` asked for, between the authorization request and
//! its resume. The OIDC provider starts and finishes interactions; the sign-in experience, in
//! between, signs a user in to one. Both use this module, and neither the other.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

/// Cookie holding the interaction uid between `/oidc/auth` and its resume.
pub(crate) const INTERACTION_COOKIE: &str = "_interaction";

/// Which first screen the sign-in experience opens with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FirstScreen {
    SignIn,
    Register,
    IdentifierSignIn,
    IdentifierRegister,
    ResetPassword,
    SingleSignOn,
}

impl FirstScreen {
    /// The experience route (Logto's `packages/schemas/src/consts/experience.ts`).
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::SignIn => "/sign-in",
            Self::Register => "/register",
            Self::IdentifierSignIn => "/identifier-sign-in",
            Self::IdentifierRegister => "/identifier-register",
            Self::ResetPassword => "/reset-password",
            Self::SingleSignOn => "/single-sign-on",
        }
    }
}

/// The prompts requested.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A validated authorization request.
#[derive(Clone, Debug)]
pub(crate) struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// Granted OIDC scopes, in request order (unknown ones dropped, `offline_access` kept only
    /// with `prompt=consent`).
    pub scopes: Vec<String>,
    /// Requested scopes of the requested API resources (for their access tokens).
    pub resource_scopes: Vec<String>,
    pub prompt: Prompt,
    /// `max_age` in seconds (0 was turned into `prompt=login`).
    pub max_age: Option<i64>,
    /// Whether the ID token carries `auth_time` (`max_age` given or `prompt=login`, as
    /// node-oidc-provider marks the claim essential).
    pub auth_time: bool,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub resources: Vec<String>,
    pub first_screen: FirstScreen,
    pub login_hint: Option<String>,
}

/// A sign-in in progress, between `/oidc/auth` and its resume.
#[derive(Clone, Debug)]
pub(crate) struct Interaction {
    pub uid: String,
    pub request: AuthRequest,
    pub expires_at: OffsetDateTime,
    /// Set when the user has signed in.
    pub login: Option<Login>,
    /// The browser's `User-Agent` at `/oidc/auth` (webhooks' `userAgent`).
    pub user_agent: Option<String>,
}

/// Who signed in to an interaction, and when (the session's `auth_time`).
#[derive(Clone, Debug)]
pub(crate) struct Login {
    pub account_id: String,
    pub at: OffsetDateTime,
}

#[derive(Debug, Default)]
struct Inner {
    /// Interactions by uid, each with its place in the order they were started.
    by_uid: HashMap<String, (u64, Interaction)>,
    /// The place of the next interaction (a fixed clock gives them all one `expires_at`).
    next: u64,
}

/// Every interaction of one IdP, in memory behind a `std::sync::Mutex` (never held across an
/// `.await`); expiry is checked against the injected clock at use.
#[derive(Debug, Default)]
pub(crate) struct InteractionStore {
    inner: Mutex<Inner>,
}

impl InteractionStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn put(&self, interaction: Interaction) {
        let mut inner = self.lock();
        let seq = inner.next;
        inner.next += 1;
        inner
            .by_uid
            .insert(interaction.uid.clone(), (seq, interaction));
    }

    /// The interaction `uid`, unless it expired.
    pub(crate) fn get(&self, uid: &str, now: OffsetDateTime) -> Option<Interaction> {
        self.lock()
            .by_uid
            .get(uid)
            .map(|(_, i)| i)
            .filter(|i| i.expires_at > now)
            .cloned()
    }

    /// Records that `account_id` signed in for interaction `uid`.
    pub(crate) fn finish(&self, uid: &str, account_id: &str, now: OffsetDateTime) -> bool {
        match self.lock().by_uid.get_mut(uid) {
            Some((_, interaction)) if interaction.expires_at > now => {
                interaction.login = Some(Login {
                    account_id: account_id.to_owned(),
                    at: now,
                });
                true
            }
            _ => false,
        }
    }

    /// The unexpired interaction nobody has signed in to yet that was started last.
    pub(crate) fn newest_pending(&self, now: OffsetDateTime) -> Option<Interaction> {
        self.lock()
            .by_uid
            .values()
            .filter(|(_, i)| i.login.is_none() && i.expires_at > now)
            .max_by_key(|(seq, _)| *seq)
            .map(|(_, i)| i.clone())
    }

    pub(crate) fn remove(&self, uid: &str) {
        self.lock().by_uid.remove(uid);
    }

    /// Forgets every interaction (a whole-instance reset).
    pub(crate) fn clear(&self) {
        *self.lock() = Inner::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn interaction(uid: &str, expires_at: OffsetDateTime) -> Interaction {
        Interaction {
            uid: uid.to_owned(),
            request: AuthRequest {
                client_id: "app".into(),
                redirect_uri: "http://localhost/callback".into(),
                scopes: vec!["openid".into()],
                resource_scopes: Vec::new(),
                prompt: Prompt::default(),
                max_age: None,
                auth_time: false,
                state: None,
                nonce: None,
                code_challenge: None,
                resources: Vec::new(),
                first_screen: FirstScreen::SignIn,
                login_hint: None,
            },
            expires_at,
            login: None,
            user_agent: None,
        }
    }

    #[test]
    fn the_newest_pending_interaction_is_the_last_started_even_with_a_fixed_clock() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let expires_at = now + time::Duration::hours(1);
        let store = InteractionStore::default();
        // With a fixed clock every interaction expires at the same instant: only the order in
        // which they were started tells them apart (a HashMap's order is random).
        let uids: Vec<String> = (0..16).map(|i| format!("uid-{i}")).collect();
        for uid in &uids {
            store.put(interaction(uid, expires_at));
        }
        let newest = |store: &InteractionStore| store.newest_pending(now).map(|i| i.uid);
        assert_eq!(newest(&store).as_deref(), Some("uid-15"));
        assert!(store.finish("uid-15", "account", now));
        assert_eq!(
            newest(&store).as_deref(),
            Some("uid-14"),
            "signed-in ones are skipped"
        );
        store.remove("uid-14");
        assert_eq!(newest(&store).as_deref(), Some("uid-13"));
        assert_eq!(
            newest(&store).as_deref(),
            Some("uid-13"),
            "the same answer every time"
        );
        assert!(store.newest_pending(expires_at).is_none(), "all expired");
    }
}

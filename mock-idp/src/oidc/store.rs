//! What the provider remembers: sessions, grants, authorization codes and tokens (interactions,
//! which the sign-in experience shares, are in [`crate::interaction`]).
//!
//! In memory, one instance per IdP, behind a `std::sync::Mutex` (never held across an
//! `.await`). Expiry is checked against the injected clock at use, so `clock.advance` expires
//! codes and tokens without any background task.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

/// An IdP session (cookie `_session`): who is signed in here.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub account_id: String,
    /// When the user last proved who they are here (`auth_time`; `max_age` counts from it).
    pub auth_time: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What a user allowed a client. Revoking it kills every token issued under it.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    /// The user who granted it.
    pub account_id: String,
    /// The IdP session it was granted in (sign-out revokes the session's grants).
    pub session_id: Option<String>,
    /// Granted with `offline_access`: it outlives sign-out.
    pub offline: bool,
    pub revoked: bool,
}

/// An authorization code (single use, 60 s).
#[derive(Clone, Debug)]
pub(crate) struct Code {
    pub grant_id: String,
    pub client_id: String,
    pub account_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub resources: Vec<String>,
    pub resource_scopes: Vec<String>,
    pub nonce: Option<String>,
    /// `auth_time` (epoch seconds) for the ID token, when the request asked for it.
    pub auth_time: Option<i64>,
    pub code_challenge: Option<String>,
    pub expires_at: OffsetDateTime,
    pub consumed: bool,
}

/// An opaque access token (for `/oidc/me`).
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub grant_id: String,
    pub client_id: String,
    pub account_id: String,
    pub scopes: Vec<String>,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A refresh token: what it may mint, and what became of it.
#[derive(Clone, Debug)]
pub(crate) struct RefreshToken {
    pub grant_id: String,
    pub client_id: String,
    pub account_id: String,
    pub scopes: Vec<String>,
    pub resources: Vec<String>,
    pub resource_scopes: Vec<String>,
    /// `auth_time` its ID tokens carry (when the authorization request asked for it).
    pub auth_time: Option<i64>,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// When it was used and replaced by a rotation, and by which token.
    pub rotated: Option<(OffsetDateTime, String)>,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    grants: HashMap<String, Grant>,
    codes: HashMap<String, Code>,
    access_tokens: HashMap<String, Token>,
    refresh_tokens: HashMap<String, RefreshToken>,
    /// Pending sign-outs: the confirm form's `xsrf` → what to end.
    logouts: HashMap<String, Logout>,
}

/// A sign-out between `/oidc/session/end` and its confirmation.
#[derive(Clone, Debug)]
pub(crate) struct Logout {
    pub session_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub expires_at: OffsetDateTime,
}

/// The provider's memory.
#[derive(Debug, Default)]
pub(crate) struct OidcStore {
    inner: Mutex<Inner>,
}

impl OidcStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn put_session(&self, id: String, session: Session) {
        self.lock().sessions.insert(id, session);
    }

    /// The session `id`, unless it expired.
    pub(crate) fn session(&self, id: &str, now: OffsetDateTime) -> Option<Session> {
        self.lock()
            .sessions
            .get(id)
            .filter(|s| s.expires_at > now)
            .cloned()
    }

    pub(crate) fn put_grant(&self, id: String, grant: Grant) {
        self.lock().grants.insert(id, grant);
    }

    /// Revokes a grant: every token issued under it stops working.
    pub(crate) fn revoke_grant(&self, id: &str) {
        let mut inner = self.lock();
        if let Some(grant) = inner.grants.get_mut(id) {
            grant.revoked = true;
        }
        inner.access_tokens.retain(|_, t| t.grant_id != id);
        inner.refresh_tokens.retain(|_, t| t.grant_id != id);
    }

    /// Revokes every live grant of `account_id` (an admin revoking a user's access); returns
    /// the ids of the grants revoked, in id order.
    pub(crate) fn revoke_grants_of(&self, account_id: &str) -> Vec<String> {
        let mut doomed: Vec<String> = self
            .lock()
            .grants
            .iter()
            .filter(|(_, g)| g.account_id == account_id && !g.revoked)
            .map(|(id, _)| id.clone())
            .collect();
        doomed.sort();
        for grant in &doomed {
            self.revoke_grant(grant);
        }
        doomed
    }

    /// Ends every IdP session of `account_id` (their grants and tokens stay); returns how many.
    pub(crate) fn end_sessions_of(&self, account_id: &str) -> usize {
        let mut inner = self.lock();
        let before = inner.sessions.len();
        inner.sessions.retain(|_, s| s.account_id != account_id);
        before - inner.sessions.len()
    }

    /// Forgets everything (a whole-instance reset).
    pub(crate) fn clear(&self) {
        *self.lock() = Inner::default();
    }

    pub(crate) fn grant_is_live(&self, id: &str) -> bool {
        self.lock().grants.get(id).is_some_and(|g| !g.revoked)
    }

    pub(crate) fn put_code(&self, code: String, record: Code) {
        self.lock().codes.insert(code, record);
    }

    /// The code as it is (consumed or not, expired or not: the grant decides what that means).
    pub(crate) fn code(&self, code: &str) -> Option<Code> {
        self.lock().codes.get(code).cloned()
    }

    /// Marks `code` used; false if it already was (a concurrent exchange won).
    pub(crate) fn consume_code(&self, code: &str) -> bool {
        match self.lock().codes.get_mut(code) {
            Some(record) if !record.consumed => {
                record.consumed = true;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn put_access_token(&self, token: String, record: Token) {
        self.lock().access_tokens.insert(token, record);
    }

    /// The access token, unless expired or its grant was revoked.
    pub(crate) fn access_token(&self, token: &str, now: OffsetDateTime) -> Option<Token> {
        let inner = self.lock();
        let record = inner
            .access_tokens
            .get(token)
            .filter(|t| t.expires_at > now)?;
        let live = inner
            .grants
            .get(&record.grant_id)
            .is_some_and(|g| !g.revoked);
        live.then(|| record.clone())
    }

    /// Revokes the grants given in session `id`, but those with `offline_access`; ends the
    /// session. Returns how many grants were revoked.
    pub(crate) fn end_session(&self, id: &str) -> usize {
        let mut inner = self.lock();
        inner.sessions.remove(id);
        let doomed: Vec<String> = inner
            .grants
            .iter()
            .filter(|(_, g)| g.session_id.as_deref() == Some(id) && !g.offline && !g.revoked)
            .map(|(grant_id, _)| grant_id.clone())
            .collect();
        drop(inner);
        for grant in &doomed {
            self.revoke_grant(grant);
        }
        doomed.len()
    }

    pub(crate) fn put_refresh_token(&self, token: String, record: RefreshToken) {
        self.lock().refresh_tokens.insert(token, record);
    }

    /// The refresh token as it is (expired, rotated or not), if its grant is live.
    pub(crate) fn refresh_token(&self, token: &str) -> Option<RefreshToken> {
        let inner = self.lock();
        let record = inner.refresh_tokens.get(token)?;
        inner
            .grants
            .get(&record.grant_id)
            .is_some_and(|g| !g.revoked)
            .then(|| record.clone())
    }

    /// Records that `token` was used at `at` and replaced by `successor`.
    pub(crate) fn rotate_refresh_token(&self, token: &str, at: OffsetDateTime, successor: &str) {
        if let Some(record) = self.lock().refresh_tokens.get_mut(token) {
            record.rotated = Some((at, successor.to_owned()));
        }
    }

    /// The grant a token (access or refresh) belongs to, and the client it was issued to.
    pub(crate) fn token_owner(&self, token: &str) -> Option<(String, String)> {
        let inner = self.lock();
        inner
            .access_tokens
            .get(token)
            .map(|t| (t.grant_id.clone(), t.client_id.clone()))
            .or_else(|| {
                inner
                    .refresh_tokens
                    .get(token)
                    .map(|t| (t.grant_id.clone(), t.client_id.clone()))
            })
    }

    pub(crate) fn put_logout(&self, xsrf: String, logout: Logout) {
        self.lock().logouts.insert(xsrf, logout);
    }

    pub(crate) fn take_logout(&self, xsrf: &str, now: OffsetDateTime) -> Option<Logout> {
        self.lock()
            .logouts
            .remove(xsrf)
            .filter(|l| l.expires_at > now)
    }
}

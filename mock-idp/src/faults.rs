//! IdP faults as data: the failures real auth bugs start from, scheduled on the mock Logto.
//!
//! A [`Fault`] is plain data (JSON on the control plane and in scenario files, an enum in
//! Rust). Two kinds:
//!
//! - **Request faults** change how the IdP answers a request: the token endpoint fails
//!   ([`Fault::TokenError`]) or is slow ([`Fault::TokenLatency`]), the authorization endpoint
//!   sends an error back to the client ([`Fault::AuthorizeError`]), the userinfo endpoint
//!   refuses the token ([`Fault::UserinfoUnauthorized`]), tokens carry a skewed clock
//!   ([`Fault::SkewTokens`]). Each applies to the next `times` matching requests (default 1),
//!   or to each matching request with a `probability` drawn from the seeded generator (so a
//!   replay fails the same requests).
//! - **Actions** change the IdP's state: rotate the signing key ([`Fault::RotateSigningKey`]),
//!   revoke a user's grants ([`Fault::RevokeGrants`]), end a user's sessions
//!   ([`Fault::ExpireSessions`]). Each happens now, or `at` an instant of the mock clock (before
//!   the first request the IdP handles from then on, or when the clock is moved past it).
//!
//! ```json
//! {"kind": "token_error", "grant_type": "refresh_token", "error": "invalid_grant"}
//! {"kind": "token_error", "status": 500, "times": 2}
//! {"kind": "userinfo_unauthorized", "probability": 0.5}
//! {"kind": "rotate_signing_key", "grace_secs": 0, "at": "2026-01-01T01:00:00Z"}
//! ```
//!
//! Every fault is in the event log: `fault.scheduled` when it is queued, `fault.injected` when
//! a request fault fires, the action's own event when an action happens (`grant.revoked`,
//! `session.destroyed`, `keys.rotated`), `fault.failed` when an action due at an instant cannot
//! happen (its user is gone), `fault.removed` and `fault.cleared`.

use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::rng::SeededRng;

/// The OAuth 2.0 and OpenID Connect error codes a fault can answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthError {
    /// `invalid_request`.
    InvalidRequest,
    /// `invalid_client` (401 at the token endpoint).
    InvalidClient,
    /// `invalid_grant`: the code or refresh token is expired, used or revoked.
    InvalidGrant,
    /// `unauthorized_client`.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `invalid_scope`.
    InvalidScope,
    /// `invalid_target` (RFC 8707).
    InvalidTarget,
    /// `access_denied`: the user (or a policy) said no.
    AccessDenied,
    /// `login_required`.
    LoginRequired,
    /// `consent_required`.
    ConsentRequired,
    /// `interaction_required`.
    InteractionRequired,
    /// `server_error` (500).
    ServerError,
    /// `temporarily_unavailable` (503).
    TemporarilyUnavailable,
}

impl OAuthError {
    /// The wire name (`invalid_grant`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The status node-oidc-provider answers this error with at the token endpoint.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }

    /// node-oidc-provider's description of this error.
    pub fn description(self) -> &'static str {
        match self {
            Self::InvalidRequest => "request is invalid",
            Self::InvalidClient => "client authentication failed",
            Self::InvalidGrant => "grant request is invalid",
            Self::UnauthorizedClient => "unauthorized client",
            Self::UnsupportedGrantType => "unsupported grant_type requested",
            Self::InvalidScope => "invalid scope",
            Self::InvalidTarget => "resource indicator is missing, or unknown",
            Self::AccessDenied => "access denied",
            Self::LoginRequired => "End-User authentication is required",
            Self::ConsentRequired => "End-User consent is required",
            Self::InteractionRequired => "End-User interaction is required",
            Self::ServerError => "oops! something went wrong",
            Self::TemporarilyUnavailable => "the server is temporarily unavailable",
        }
    }
}

/// The `grant_type` a token-endpoint fault is limited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// The callback's code exchange.
    AuthorizationCode,
    /// A refresh.
    RefreshToken,
}

impl GrantType {
    fn matches(self, grant_type: Option<&str>) -> bool {
        grant_type
            == Some(match self {
                Self::AuthorizationCode => "authorization_code",
                Self::RefreshToken => "refresh_token",
            })
    }
}

/// The key type of a rotation (Logto's `signingKeyAlgorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyType {
    /// An EC key (P-384: ES384), Logto's default.
    #[serde(rename = "EC")]
    Ec,
    /// An RSA key (RS256).
    #[serde(rename = "RSA")]
    Rsa,
}

/// One fault: what goes wrong. Schedule it with [`times`](Fault::times),
/// [`with_probability`](Fault::with_probability) or [`at`](Fault::at); as is, a request fault
/// fires once and an action happens now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// `/oidc/token` answers an OAuth error (Logto's JSON, the error's status) or, with only a
    /// 5xx `status`, Logto's `server_error`. Nothing is consumed: the code or refresh token
    /// still works afterwards.
    TokenError {
        /// Only requests of this `grant_type` (default: any).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grant_type: Option<GrantType>,
        /// The error (default `server_error`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<OAuthError>,
        /// The status (400–599; default: the error's own).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// The `error_description` (default: node-oidc-provider's for the error).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// `/oidc/token` answers only after `ms` milliseconds of real time.
    TokenLatency {
        /// The delay (at most 60 000).
        ms: u64,
        /// Only requests of this `grant_type` (default: any).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grant_type: Option<GrantType>,
    },
    /// `/oidc/auth` checks the request, then sends `error` to the client's `redirect_uri`
    /// (with its `state` and `iss`) instead of signing in.
    AuthorizeError {
        /// The error (e.g. `access_denied`).
        error: OAuthError,
        /// The `error_description` (default: node-oidc-provider's for the error).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// `/oidc/me` answers 401 `invalid_token` (with its `WWW-Authenticate` challenge), as it
    /// does for a revoked or expired token.
    UserinfoUnauthorized,
    /// Tokens issued by `/oidc/token` carry `iat` and `exp` shifted by `secs` (a Logto whose
    /// clock is off: positive is ahead). The IdP's own expiry checks keep the true time.
    SkewTokens {
        /// Seconds to add (negative: behind), at most a day either way.
        secs: i64,
    },
    /// Logto's key rotation: a new key signs from now on (a committed spare key of `algorithm`,
    /// never one that signed here before); the old one stays in the JWKS for `grace_secs`
    /// (default 0: it leaves at once, and tokens it signed no longer verify).
    RotateSigningKey {
        /// EC or RSA (default: the current key's type).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        algorithm: Option<KeyType>,
        /// Seconds of the mock clock the old key stays published.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grace_secs: Option<u64>,
    },
    /// Revokes every grant of a user (by id, email or username): their access and refresh
    /// tokens stop working, as after an admin revoked them in Logto's console.
    RevokeGrants {
        /// The user's id, primary email or username.
        user: String,
    },
    /// Ends every IdP session of a user (by id, email or username): the next sign-in asks them
    /// to prove who they are again. Tokens stay valid.
    ExpireSessions {
        /// The user's id, primary email or username.
        user: String,
    },
}

impl Fault {
    /// The `kind` in JSON (`token_error`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TokenError { .. } => "token_error",
            Self::TokenLatency { .. } => "token_latency",
            Self::AuthorizeError { .. } => "authorize_error",
            Self::UserinfoUnauthorized => "userinfo_unauthorized",
            Self::SkewTokens { .. } => "skew_tokens",
            Self::RotateSigningKey { .. } => "rotate_signing_key",
            Self::RevokeGrants { .. } => "revoke_grants",
            Self::ExpireSessions { .. } => "expire_sessions",
        }
    }

    /// Whether it changes state (rotate, revoke, expire) rather than answers.
    pub fn is_action(&self) -> bool {
        matches!(
            self,
            Self::RotateSigningKey { .. } | Self::RevokeGrants { .. } | Self::ExpireSessions { .. }
        )
    }

    /// `/oidc/token` answers `error` (with its usual status) to the next matching request.
    pub fn token_error(error: OAuthError) -> Self {
        Self::TokenError {
            grant_type: None,
            error: Some(error),
            status: None,
            description: None,
        }
    }

    /// `/oidc/token` answers `status` (a 5xx) with Logto's `server_error`.
    pub fn token_status(status: u16) -> Self {
        Self::TokenError {
            grant_type: None,
            error: None,
            status: Some(status),
            description: None,
        }
    }

    /// Limits a token-endpoint fault to refreshes (`grant_type=refresh_token`).
    #[must_use]
    pub fn on_refresh(self) -> Self {
        self.for_grant(GrantType::RefreshToken)
    }

    /// Limits a token-endpoint fault to code exchanges (`grant_type=authorization_code`).
    #[must_use]
    pub fn on_code_exchange(self) -> Self {
        self.for_grant(GrantType::AuthorizationCode)
    }

    fn for_grant(mut self, only: GrantType) -> Self {
        if let Self::TokenError { grant_type, .. } | Self::TokenLatency { grant_type, .. } =
            &mut self
        {
            *grant_type = Some(only);
        }
        self
    }

    /// `/oidc/token` answers after `ms` milliseconds of real time.
    pub fn token_latency(ms: u64) -> Self {
        Self::TokenLatency {
            ms,
            grant_type: None,
        }
    }

    /// `/oidc/auth` sends `error` back to the client (e.g. `OAuthError::AccessDenied`).
    pub fn authorize_error(error: OAuthError) -> Self {
        Self::AuthorizeError {
            error,
            description: None,
        }
    }

    /// Tokens carry `iat` and `exp` shifted by `secs` (a Logto whose clock is off).
    pub fn skew_tokens(secs: i64) -> Self {
        Self::SkewTokens { secs }
    }

    /// Revokes every grant of the user with this id, email or username.
    pub fn revoke_grants(user: impl Into<String>) -> Self {
        Self::RevokeGrants { user: user.into() }
    }

    /// Ends every IdP session of the user with this id, email or username.
    pub fn expire_sessions(user: impl Into<String>) -> Self {
        Self::ExpireSessions { user: user.into() }
    }

    /// Rotates the signing key; the old key stays published for `grace_secs` (0: not at all).
    pub fn rotate_signing_key(grace_secs: u64) -> Self {
        Self::RotateSigningKey {
            algorithm: None,
            grace_secs: Some(grace_secs),
        }
    }

    /// Fires for the next `n` matching requests (request faults only).
    pub fn times(self, n: u32) -> ScheduledFault {
        ScheduledFault {
            fault: self,
            schedule: Schedule::Times(n),
        }
    }

    /// Fires for each matching request with probability `p` (0 < p ≤ 1), drawn from the
    /// seeded generator; stays until removed (request faults only).
    pub fn with_probability(self, p: f64) -> ScheduledFault {
        ScheduledFault {
            fault: self,
            schedule: Schedule::Probability(p),
        }
    }

    /// Happens at this instant of the mock clock (actions only).
    pub fn at(self, instant: OffsetDateTime) -> ScheduledFault {
        ScheduledFault {
            fault: self,
            schedule: Schedule::At(instant),
        }
    }

    fn validate(&self) -> Result<(), InvalidFault> {
        let invalid = |message: String| Err(InvalidFault(message));
        match self {
            Self::TokenError { error, status, .. } => {
                if let Some(status) = status
                    && !(400..=599).contains(status)
                {
                    return invalid(format!(
                        "a token_error's status must be 400-599, not {status}"
                    ));
                }
                if error.is_none() && status.is_none_or(|s| s < 500) {
                    return invalid(
                        "a token_error needs an `error`, or a 5xx `status` for Logto's \
                         server_error"
                            .into(),
                    );
                }
            }
            Self::TokenLatency { ms, .. } if *ms > MAX_LATENCY_MS => {
                return invalid(format!(
                    "a token_latency of {ms} ms is longer than the {MAX_LATENCY_MS} ms allowed"
                ));
            }
            Self::SkewTokens { secs } if secs.unsigned_abs() > MAX_SKEW_SECS => {
                return invalid(format!(
                    "a skew of {secs} s is more than a day ({MAX_SKEW_SECS} s) either way"
                ));
            }
            Self::RevokeGrants { user } | Self::ExpireSessions { user }
                if user.trim().is_empty() =>
            {
                return invalid(format!(
                    "{} needs a `user` (id, email or username)",
                    self.kind()
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

/// The longest injected latency: a minute.
const MAX_LATENCY_MS: u64 = 60_000;
/// The largest skew: a day.
const MAX_SKEW_SECS: u64 = 24 * 3600;

/// When a fault fires.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// The next `n` matching requests (request faults).
    Times(u32),
    /// Each matching request with this probability (request faults).
    Probability(f64),
    /// Now (actions).
    Now,
    /// At this instant of the mock clock (actions).
    At(OffsetDateTime),
}

/// A fault and when it fires: what the control plane lists and scenario files hold.
///
/// In JSON, the fault's fields plus at most one of `times`, `probability` and `at`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledFault {
    /// What goes wrong.
    pub fault: Fault,
    /// When.
    pub schedule: Schedule,
}

impl From<Fault> for ScheduledFault {
    /// A request fault fires once; an action happens now.
    fn from(fault: Fault) -> Self {
        let schedule = if fault.is_action() {
            Schedule::Now
        } else {
            Schedule::Times(1)
        };
        Self { fault, schedule }
    }
}

impl ScheduledFault {
    /// Checks the fault and that its schedule suits it.
    pub fn validate(&self) -> Result<(), InvalidFault> {
        self.fault.validate()?;
        let kind = self.fault.kind();
        match (self.fault.is_action(), self.schedule) {
            (false, Schedule::Times(0)) => {
                Err(InvalidFault(format!("{kind}: `times` must be at least 1")))
            }
            (false, Schedule::Probability(p)) if !(p > 0.0 && p <= 1.0) => Err(InvalidFault(
                format!("{kind}: `probability` must be in (0, 1], not {p}"),
            )),
            (false, Schedule::Times(_) | Schedule::Probability(_))
            | (true, Schedule::Now | Schedule::At(_)) => Ok(()),
            (false, _) => Err(InvalidFault(format!(
                "{kind} answers requests: schedule it with `times` or `probability`, not `at`"
            ))),
            (true, _) => Err(InvalidFault(format!(
                "{kind} changes the IdP's state once: schedule it `at` an instant (or now), \
                 not with `times` or `probability`"
            ))),
        }
    }
}

impl Serialize for ScheduledFault {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = match serde_json::to_value(&self.fault) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        match self.schedule {
            Schedule::Times(n) => {
                map.insert("times".into(), Value::from(n));
            }
            Schedule::Probability(p) => {
                map.insert("probability".into(), Value::from(p));
            }
            Schedule::Now => {}
            Schedule::At(at) => {
                let at = at
                    .format(&time::format_description::well_known::Rfc3339)
                    .map_err(serde::ser::Error::custom)?;
                map.insert("at".into(), Value::String(at));
            }
        }
        map.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ScheduledFault {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut map = Map::<String, Value>::deserialize(deserializer)?;
        let times = map.remove("times");
        let probability = map.remove("probability");
        let at = map.remove("at");
        let fault: Fault = serde_json::from_value(Value::Object(map)).map_err(D::Error::custom)?;
        let schedule = match (times, probability, at) {
            (None, None, None) => return Ok(fault.into()),
            (Some(times), None, None) => Schedule::Times(
                times
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| D::Error::custom("`times` must be a positive integer"))?,
            ),
            (None, Some(p), None) => Schedule::Probability(
                p.as_f64()
                    .ok_or_else(|| D::Error::custom("`probability` must be a number"))?,
            ),
            (None, None, Some(at)) => {
                let at = at
                    .as_str()
                    .and_then(|at| {
                        OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .ok_or_else(|| D::Error::custom("`at` must be an RFC 3339 instant"))?;
                Schedule::At(at)
            }
            _ => {
                return Err(D::Error::custom(
                    "give at most one of `times`, `probability` and `at`",
                ));
            }
        };
        Ok(Self { fault, schedule })
    }
}

/// Why a fault was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidFault(pub String);

impl std::fmt::Display for InvalidFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidFault {}

/// A pending fault, as the control plane lists it.
#[derive(Clone, Debug, Serialize)]
pub struct PendingFault {
    /// Its id (for `DELETE /_mock/faults/{id}`).
    pub id: u64,
    /// The fault and what is left of its schedule.
    #[serde(flatten)]
    pub fault: ScheduledFault,
}

/// Which request is asking.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Request<'a> {
    Token { grant_type: Option<&'a str> },
    TokenResponse,
    Authorize,
    Userinfo,
}

impl Fault {
    fn matches(&self, request: Request<'_>) -> bool {
        match (self, request) {
            (
                Self::TokenError {
                    grant_type: only, ..
                }
                | Self::TokenLatency {
                    grant_type: only, ..
                },
                Request::Token { grant_type },
            ) => only.is_none_or(|only| only.matches(grant_type)),
            (Self::SkewTokens { .. }, Request::TokenResponse)
            | (Self::AuthorizeError { .. }, Request::Authorize)
            | (Self::UserinfoUnauthorized, Request::Userinfo) => true,
            _ => false,
        }
    }
}

/// The pending faults of one IdP.
#[derive(Debug)]
pub(crate) struct Faults {
    inner: Mutex<Inner>,
    /// Draws for `probability` faults: its own stream, so faults do not shift the IdP's ids.
    rng: Mutex<SeededRng>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    pending: Vec<PendingFault>,
}

impl Faults {
    pub(crate) fn new(rng: SeededRng) -> Self {
        Self {
            inner: Mutex::default(),
            rng: Mutex::new(rng),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a validated fault (an action for now must be applied by the caller instead).
    pub(crate) fn push(&self, fault: ScheduledFault) -> u64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.pending.push(PendingFault { id, fault });
        id
    }

    /// The faults still pending, oldest first.
    pub(crate) fn pending(&self) -> Vec<PendingFault> {
        self.lock().pending.clone()
    }

    /// Removes one fault; false if there is none with this id.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let before = inner.pending.len();
        inner.pending.retain(|p| p.id != id);
        inner.pending.len() != before
    }

    /// Removes every fault; ids keep counting (or start over with `restart_ids`).
    pub(crate) fn clear(&self, reseed: Option<SeededRng>) {
        let mut inner = self.lock();
        inner.pending.clear();
        if let Some(rng) = reseed {
            inner.next_id = 0;
            *self.rng.lock().unwrap_or_else(PoisonError::into_inner) = rng;
        }
    }

    /// The first pending fault that fires for `request`, with its id; takes one off its count.
    pub(crate) fn take(&self, request: Request<'_>) -> Option<(u64, Fault)> {
        let mut inner = self.lock();
        if inner.pending.is_empty() {
            return None;
        }
        let mut fired = None;
        for (index, pending) in inner.pending.iter().enumerate() {
            if !pending.fault.fault.matches(request) {
                continue;
            }
            match pending.fault.schedule {
                Schedule::Times(_) => {
                    fired = Some(index);
                    break;
                }
                Schedule::Probability(p) => {
                    if self.draw() < p {
                        fired = Some(index);
                        break;
                    }
                }
                Schedule::Now | Schedule::At(_) => {}
            }
        }
        let index = fired?;
        let pending = &mut inner.pending[index];
        let taken = (pending.id, pending.fault.fault.clone());
        if let Schedule::Times(n) = &mut pending.fault.schedule {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.pending.remove(index);
            }
        }
        Some(taken)
    }

    /// Takes the actions due at `now`, in the order they were queued.
    pub(crate) fn due(&self, now: OffsetDateTime) -> Vec<(u64, Fault)> {
        let mut inner = self.lock();
        let is_due = |p: &PendingFault| matches!(p.fault.schedule, Schedule::At(at) if at <= now);
        if !inner.pending.iter().any(is_due) {
            return Vec::new();
        }
        let (due, rest): (Vec<PendingFault>, Vec<PendingFault>) =
            inner.pending.drain(..).partition(is_due);
        inner.pending = rest;
        due.into_iter().map(|p| (p.id, p.fault.fault)).collect()
    }

    /// A uniform draw in [0, 1) from the faults' own seeded stream.
    fn draw(&self) -> f64 {
        const SCALE: u32 = 1 << 24;
        f64::from(
            self.rng
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .below(SCALE),
        ) / f64::from(SCALE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn parse(json: &str) -> Result<ScheduledFault, String> {
        let fault: ScheduledFault = serde_json::from_str(json).map_err(|e| e.to_string())?;
        fault.validate().map_err(|e| e.0)?;
        Ok(fault)
    }

    #[test]
    fn faults_read_and_write_the_documented_json() {
        let fault =
            parse(r#"{"kind":"token_error","grant_type":"refresh_token","error":"invalid_grant"}"#)
                .unwrap();
        assert_eq!(
            fault,
            Fault::token_error(OAuthError::InvalidGrant)
                .on_refresh()
                .times(1)
        );
        assert_eq!(
            serde_json::to_string(&fault).unwrap(),
            r#"{"kind":"token_error","grant_type":"refresh_token","error":"invalid_grant","times":1}"#
        );
        let at =
            parse(r#"{"kind":"rotate_signing_key","grace_secs":0,"at":"2026-01-01T01:00:00Z"}"#)
                .unwrap();
        assert_eq!(at.schedule, Schedule::At(datetime!(2026-01-01 01:00 UTC)));
        let round: ScheduledFault =
            serde_json::from_str(&serde_json::to_string(&at).unwrap()).unwrap();
        assert_eq!(round, at);
        assert_eq!(
            parse(r#"{"kind":"userinfo_unauthorized","probability":0.5}"#)
                .unwrap()
                .schedule,
            Schedule::Probability(0.5)
        );
    }

    #[test]
    fn bad_faults_are_refused_with_a_reason() {
        for (json, reason) in [
            (r#"{"kind":"token_error"}"#, "needs an `error`"),
            (r#"{"kind":"token_error","status":302}"#, "400-599"),
            (
                r#"{"kind":"token_error","error":"nope"}"#,
                "unknown variant",
            ),
            (
                r#"{"kind":"token_error","error":"server_error","colour":1}"#,
                "unknown field",
            ),
            (
                r#"{"kind":"userinfo_unauthorized","times":0}"#,
                "at least 1",
            ),
            (
                r#"{"kind":"userinfo_unauthorized","probability":1.5}"#,
                "(0, 1]",
            ),
            (
                r#"{"kind":"userinfo_unauthorized","at":"2026-01-01T00:00:00Z"}"#,
                "not `at`",
            ),
            (
                r#"{"kind":"revoke_grants","user":"a@example.com","times":2}"#,
                "schedule it `at`",
            ),
            (r#"{"kind":"revoke_grants","user":" "}"#, "needs a `user`"),
            (r#"{"kind":"skew_tokens","secs":90000}"#, "more than a day"),
            (r#"{"kind":"token_latency","ms":600000}"#, "longer than"),
            (
                r#"{"kind":"token_error","error":"server_error","times":1,"probability":0.5}"#,
                "at most one",
            ),
            (r#"{"kind":"nothing"}"#, "unknown variant"),
        ] {
            let error = parse(json).unwrap_err();
            assert!(error.contains(reason), "{json}: {error}");
        }
    }

    #[test]
    fn a_fault_fires_exactly_times_on_matching_requests_only() {
        let faults = Faults::new(SeededRng::new(1));
        faults.push(
            Fault::token_error(OAuthError::InvalidGrant)
                .on_refresh()
                .times(2),
        );
        let code = Request::Token {
            grant_type: Some("authorization_code"),
        };
        let refresh = Request::Token {
            grant_type: Some("refresh_token"),
        };
        assert!(faults.take(code).is_none());
        assert!(faults.take(Request::Userinfo).is_none());
        assert!(faults.take(refresh).is_some());
        assert!(faults.take(refresh).is_some());
        assert!(faults.take(refresh).is_none());
        assert!(faults.pending().is_empty());
    }

    #[test]
    fn probability_faults_fire_the_same_requests_for_the_same_seed() {
        let run = |seed| {
            let faults = Faults::new(SeededRng::new(seed));
            faults.push(Fault::UserinfoUnauthorized.with_probability(0.3));
            (0..200)
                .map(|_| faults.take(Request::Userinfo).is_some())
                .collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first, run(7));
        let fired = first.iter().filter(|f| **f).count();
        assert!((30..90).contains(&fired), "{fired} of 200 at p = 0.3");
        assert_ne!(first, run(8));
    }

    #[test]
    fn actions_are_due_at_their_instant_in_order() {
        let faults = Faults::new(SeededRng::new(1));
        let first = faults.push(Fault::revoke_grants("a").at(datetime!(2026-01-01 01:00 UTC)));
        let second = faults.push(Fault::expire_sessions("a").at(datetime!(2026-01-01 00:30 UTC)));
        assert!(faults.due(datetime!(2026-01-01 00:29 UTC)).is_empty());
        let due: Vec<u64> = faults
            .due(datetime!(2026-01-01 01:00 UTC))
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(due, [first, second]);
        assert!(faults.pending().is_empty());
    }
}

//! `grant_type=refresh_token`: new tokens from a refresh token, with Logto's rotation.
//!
//! - Traditional (confidential) apps get the same refresh token back until 70 % of its
//!   lifetime has passed, then a new one; public apps get a new one every time (inheriting the
//!   remaining lifetime); `rotateRefreshToken: false` never rotates.
//! - Using a rotated token again revokes the whole grant (`invalid_grant`), except within
//!   3 seconds of its rotation, which Logto allows (the answer then carries its successor).
//! - `resource` must have been requested at sign-in (`invalid_target`); `scope` may only
//!   narrow what was granted (`invalid_scope`).
//! - A fresh ID token comes back when `openid` was granted.

use serde_json::json;
use time::Duration;

use super::super::error::OidcError;
use super::super::params::Params;
use super::super::store::RefreshToken;
use super::super::ttl;
use super::{TokenResponse, id_token, issue_refresh_token};
use crate::state::IdpState;
use crate::tenant::Application;

/// How long after a rotation the old refresh token still works (Logto's leeway).
const REUSE_LEEWAY: i64 = 3;
/// Confidential clients rotate once this share of the lifetime has passed.
const ROTATE_AT_PERCENT: i64 = 70;

pub(crate) fn exchange(
    state: &IdpState,
    client: &Application,
    params: &Params,
    skew: time::Duration,
) -> Result<TokenResponse, OidcError> {
    let presented = params.required("refresh_token")?;
    let now = state.clock.now();
    let record = state
        .store
        .refresh_token(presented)
        .ok_or_else(|| OidcError::invalid_grant("refresh token not found"))?;
    if record.client_id != client.id {
        return Err(OidcError::invalid_grant("client mismatch"));
    }
    if record.expires_at <= now {
        return Err(OidcError::invalid_grant("refresh token is expired"));
    }
    let successor = match &record.rotated {
        Some((at, successor)) if now - *at <= Duration::seconds(REUSE_LEEWAY) => {
            Some(successor.clone())
        }
        Some(_) => {
            state.store.revoke_grant(&record.grant_id);
            state.events.push(
                "grant.revoked",
                json!({"grant_id": record.grant_id, "reason": "a rotated refresh token was used again"}),
            );
            return Err(OidcError::invalid_grant("refresh token already used"));
        }
        None => None,
    };
    let scopes = narrowed_scopes(params, &record.scopes)?;
    let user = state
        .tenant()
        .user(&record.account_id)
        .cloned()
        .ok_or_else(|| OidcError::invalid_grant("account not found"))?;

    let (access_token, expires_in) = super::access_token(
        state,
        client,
        params.get("resource"),
        &super::Minting {
            grant_id: &record.grant_id,
            account_id: &user.id,
            scopes: &scopes,
            resources: &record.resources,
            resource_scopes: &record.resource_scopes,
            skew,
        },
        now,
    )?;
    let refresh_token = match successor {
        Some(successor) => successor,
        None if rotates(client, &record, now) => {
            let expires_at = if client.is_confidential() {
                ttl::after(now, super::refresh_ttl(client))
            } else {
                record.expires_at
            };
            let next = issue_refresh_token(
                state,
                RefreshToken {
                    issued_at: now,
                    expires_at,
                    rotated: None,
                    ..record.clone()
                },
            );
            state.store.rotate_refresh_token(presented, now, &next);
            next
        }
        None => presented.to_owned(),
    };
    let id_token = if scopes.iter().any(|s| s == "openid") {
        let extras = super::IdTokenExtras {
            nonce: None,
            auth_time: record.auth_time,
        };
        Some(id_token(state, client, &user, &scopes, extras, now + skew)?)
    } else {
        None
    };
    state.events.push(
        "grant.success",
        json!({"grant_type": "refresh_token", "client_id": client.id, "account_id": user.id,
               "grant_id": record.grant_id, "rotated": refresh_token != presented}),
    );
    Ok(TokenResponse {
        access_token,
        expires_in,
        id_token,
        refresh_token: Some(refresh_token),
        scope: scopes.join(" "),
        token_type: "Bearer",
    })
}

/// `scope` may ask for less than was granted, never more.
fn narrowed_scopes(params: &Params, granted: &[String]) -> Result<Vec<String>, OidcError> {
    let Some(requested) = params.get("scope") else {
        return Ok(granted.to_vec());
    };
    let mut scopes = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !granted.iter().any(|g| g == scope) {
            return Err(
                OidcError::invalid_scope("refresh token missing requested scope")
                    .detail(format!("{scope} was not granted")),
            );
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

/// Logto's `rotateRefreshToken`: public clients always; confidential ones after 70 % of the
/// lifetime; never when the app turned rotation off.
fn rotates(client: &Application, record: &RefreshToken, now: time::OffsetDateTime) -> bool {
    if client.custom_client_metadata.rotate_refresh_token == Some(false) {
        return false;
    }
    if !client.is_confidential() {
        return true;
    }
    let lifetime = (record.expires_at - record.issued_at)
        .whole_seconds()
        .max(1);
    let passed = (now - record.issued_at).whole_seconds();
    passed * 100 >= lifetime * ROTATE_AT_PERCENT
}

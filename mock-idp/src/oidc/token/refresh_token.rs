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
//! - `organization_id` asks for an organization token, as Logto's refresh grant gives it: the
//!   user must be a member (else 403 `access_denied` "user is not a member of the
//!   organization"; an organization that requires MFA is refused too, the mock having no
//!   MFA), and the refresh token must hold `urn:logto:scope:organizations` (else 403
//!   `insufficient_scope`). Without `resource` the access token is for
//!   `urn:logto:organization:<id>`, 3600 s, with the organization scopes the user's roles there
//!   grant of those asked for (`scope`, or everything the refresh token holds); with
//!   `resource`, it is the resource's token with an `organization_id` claim.

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
    let organization_id = params.get("organization_id");
    let organization_token = organization_id.filter(|_| params.get("resource").is_none());
    // An organization token may ask for the organization scopes the refresh token holds.
    let holds: Vec<String> = match organization_token {
        Some(_) => record
            .scopes
            .iter()
            .chain(&record.resource_scopes)
            .cloned()
            .collect(),
        None => record.scopes.clone(),
    };
    let scopes = narrowed_scopes(params, &holds)?;
    let user = state
        .tenant()
        .user(&record.account_id)
        .cloned()
        .ok_or_else(|| OidcError::invalid_grant("account not found"))?;
    if let Some(organization_id) = organization_id {
        check_organization_access(state, &record, &user.id, organization_id)?;
    }

    let (access_token, expires_in, granted) = match organization_token {
        Some(organization_id) => {
            let (token, granted) = organization_access_token(
                state,
                client,
                &user.id,
                organization_id,
                &scopes,
                now + skew,
            )?;
            (token, ORGANIZATION_TOKEN_TTL, Some(granted))
        }
        None => {
            let (token, expires_in) = super::access_token(
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
                    organization_id,
                },
                now,
            )?;
            (token, expires_in, None)
        }
    };
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
        scope: granted.unwrap_or_else(|| scopes.join(" ")),
        token_type: "Bearer",
    })
}

/// Logto's organization tokens live 3600 s.
const ORGANIZATION_TOKEN_TTL: i64 = 3600;

/// Logto's `checkOrganizationAccess`, then the scope an organization token needs.
fn check_organization_access(
    state: &IdpState,
    record: &RefreshToken,
    user_id: &str,
    organization_id: &str,
) -> Result<(), OidcError> {
    let tenant = state.tenant();
    let organization = tenant
        .organization(organization_id)
        .filter(|o| o.member_of(user_id).is_some())
        .ok_or_else(|| OidcError::access_denied("user is not a member of the organization"))?;
    if organization.is_mfa_required {
        return Err(OidcError::access_denied(
            "organization requires MFA but user has no MFA configured",
        ));
    }
    if !record
        .scopes
        .iter()
        .any(|s| s == super::super::claims::ORGANIZATIONS_SCOPE)
    {
        return Err(OidcError::insufficient_scope_described(
            super::super::claims::ORGANIZATIONS_SCOPE,
            "refresh token missing required scope",
        ));
    }
    Ok(())
}

/// An organization token: `aud` `urn:logto:organization:<id>`, the organization scopes the
/// user's roles there grant of those asked for, in the tenant's order (`scope` is `""` when
/// there are none, as Logto answers). Returns the token and its scope.
fn organization_access_token(
    state: &IdpState,
    client: &Application,
    user_id: &str,
    organization_id: &str,
    asked: &[String],
    now: time::OffsetDateTime,
) -> Result<(String, String), OidcError> {
    let available = {
        let tenant = state.tenant();
        tenant
            .organization(organization_id)
            .map(|o| tenant.organization_scopes_of(o, user_id))
            .unwrap_or_default()
    };
    let granted: Vec<&str> = available
        .iter()
        .filter(|s| asked.contains(s))
        .map(String::as_str)
        .collect();
    let scope = granted.join(" ");
    let aud = format!("urn:logto:organization:{organization_id}");
    let token = super::jwt_access_token(
        state,
        client,
        &super::AccessClaims {
            sub: user_id,
            aud: &aud,
            scope: Some(&scope),
            organization_id: None,
            ttl: ORGANIZATION_TOKEN_TTL,
        },
        now,
    )?;
    Ok((token, scope))
}

/// `scope` may ask for less than was granted, never more.
fn narrowed_scopes(params: &Params, granted: &[String]) -> Result<Vec<String>, OidcError> {
    let Some(requested) = params.get("scope") else {
        return Ok(granted.to_vec());
    };
    let mut scopes = Vec::new();
    let mut missing: Vec<&str> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !granted.iter().any(|g| g == scope) {
            if !missing.contains(&scope) {
                missing.push(scope);
            }
        } else if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if !missing.is_empty() {
        // node-oidc-provider names what is missing in the body's `scope`.
        let description = if missing.len() == 1 {
            "refresh token missing requested scope"
        } else {
            "refresh token missing requested scopes"
        };
        return Err(OidcError::insufficient_or_invalid_scope(
            "invalid_scope",
            &missing.join(" "),
            description,
        ));
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

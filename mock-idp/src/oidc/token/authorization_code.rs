//! `grant_type=authorization_code`: the code (single use, 60 s), PKCE, `redirect_uri`
//! equality, then the tokens. A code used twice revokes everything it issued.
//!
//! The checks run in node-oidc-provider's order: found, issued to this client, not expired,
//! PKCE, same `redirect_uri`, not already used. So a wrong `redirect_uri` leaves the code
//! usable, and `redirect_uri` may be left out by a client that registered exactly one.
//! Clients only ever see "grant request is invalid"; the exact reason goes to the event log.

use serde_json::json;

use super::super::auth::checks::{check_pkce_format, pkce_matches};
use super::super::error::OidcError;
use super::super::params::Params;
use super::super::store::RefreshToken;
use super::super::ttl;
use super::{TokenResponse, id_token, issue_refresh_token, refresh_ttl};
use crate::state::IdpState;
use crate::tenant::Application;

pub(crate) fn exchange(
    state: &IdpState,
    client: &Application,
    params: &Params,
    skew: time::Duration,
) -> Result<TokenResponse, OidcError> {
    let code = params.required("code")?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) => uri,
        None => super::super::auth::checks::only_redirect_uri(client)
            .ok_or_else(|| OidcError::missing("redirect_uri"))?,
    };
    let verifier = params.get("code_verifier");
    if let Some(verifier) = verifier {
        check_pkce_format(verifier, "code_verifier")?;
    }
    let now = state.clock.now();
    let record = state
        .store
        .code(code)
        .ok_or_else(|| OidcError::invalid_grant("authorization code not found"))?;
    if record.client_id != client.id {
        return Err(OidcError::invalid_grant("client mismatch"));
    }
    if record.expires_at <= now {
        return Err(OidcError::invalid_grant("authorization code is expired"));
    }
    if record.code_challenge.is_some() || verifier.is_some() {
        let verified = record
            .code_challenge
            .as_deref()
            .zip(verifier)
            .is_some_and(|(challenge, verifier)| pkce_matches(verifier, challenge));
        if !verified {
            return Err(OidcError::invalid_grant("PKCE verification failed"));
        }
    }
    if record.redirect_uri != redirect_uri {
        return Err(OidcError::invalid_grant(
            "authorization code redirect_uri mismatch",
        ));
    }
    // Atomic: of two concurrent exchanges of one code, only one consumes it.
    if !state.store.consume_code(code) {
        state.store.revoke_grant(&record.grant_id);
        state.events.push(
            "grant.revoked",
            json!({"grant_id": record.grant_id, "reason": "authorization code used twice"}),
        );
        return Err(OidcError::invalid_grant(
            "authorization code already consumed",
        ));
    }
    if !state.store.grant_is_live(&record.grant_id) {
        return Err(OidcError::invalid_grant("grant not found"));
    }
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
            scopes: &record.scopes,
            resources: &record.resources,
            resource_scopes: &record.resource_scopes,
            skew,
            organization_id: None,
        },
        now,
    )?;
    let has = |scope: &str| record.scopes.iter().any(|s| s == scope);
    let id_token = if has("openid") {
        Some(id_token(
            state,
            client,
            &user,
            &record.scopes,
            super::IdTokenExtras {
                nonce: record.nonce.as_deref(),
                auth_time: record.auth_time,
            },
            now + skew,
        )?)
    } else {
        None
    };
    let always = client
        .custom_client_metadata
        .always_issue_refresh_token
        .unwrap_or(false);
    let refresh_token = (has("offline_access") || always).then(|| {
        issue_refresh_token(
            state,
            RefreshToken {
                grant_id: record.grant_id.clone(),
                client_id: client.id.clone(),
                account_id: user.id.clone(),
                scopes: record.scopes.clone(),
                resources: record.resources.clone(),
                resource_scopes: record.resource_scopes.clone(),
                auth_time: record.auth_time,
                issued_at: now,
                expires_at: ttl::after(now, refresh_ttl(client)),
                rotated: None,
            },
        )
    });
    state.events.push(
        "grant.success",
        json!({"grant_type": "authorization_code", "client_id": client.id, "account_id": user.id,
               "grant_id": record.grant_id, "scope": record.scopes.join(" "),
               "id_token": id_token.is_some(), "refresh_token": refresh_token.is_some()}),
    );
    Ok(TokenResponse {
        access_token,
        expires_in,
        id_token,
        refresh_token,
        scope: record.scopes.join(" "),
        token_type: "Bearer",
    })
}

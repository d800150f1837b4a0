//! `POST /oidc/token/introspection` (RFC 7662): the client authenticates; an active opaque
//! access token of its own is `{active: true, client_id, exp, iat, iss, scope, sub,
//! token_type: "Bearer"}` (a refresh token: `token_type: "refresh_token"`); anything else,
//! including another client's tokens, is `{active: false}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::OidcError;
use super::{client_auth, token};
use crate::state::IdpState;

pub(crate) async fn introspection(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match introspect(&state, &headers, &body) {
        Ok(answer) => {
            let mut response = axum::Json(answer).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.logged(&state.events, "introspection.error"),
    }
}

fn introspect(state: &IdpState, headers: &HeaderMap, body: &[u8]) -> Result<Value, OidcError> {
    let params = token::read_params(headers, body)?;
    let client = client_auth::authenticate(&state.tenant(), headers, &params)?;
    let presented = params.required("token")?;
    let now = state.clock.now();
    let inactive = json!({"active": false});
    if let Some(record) = state.store.access_token(presented, now) {
        if record.client_id != client.id {
            return Ok(inactive);
        }
        return Ok(json!({
            "active": true,
            "client_id": record.client_id,
            "exp": record.expires_at.unix_timestamp(),
            "iat": record.issued_at.unix_timestamp(),
            "iss": state.issuer(),
            "scope": record.scopes.join(" "),
            "sub": record.account_id,
            "token_type": "Bearer",
        }));
    }
    match state.store.refresh_token(presented) {
        Some(record)
            if record.client_id == client.id
                && record.expires_at > now
                && record.rotated.is_none() =>
        {
            Ok(json!({
                "active": true,
                "client_id": record.client_id,
                "exp": record.expires_at.unix_timestamp(),
                "iat": record.issued_at.unix_timestamp(),
                "iss": state.issuer(),
                "scope": record.scopes.join(" "),
                "sub": record.account_id,
                "token_type": "refresh_token",
            }))
        }
        _ => Ok(inactive),
    }
}

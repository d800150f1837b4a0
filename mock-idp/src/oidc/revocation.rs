//! `POST /oidc/token/revocation` (RFC 7009), as Logto answers it: the client authenticates as
//! at the token endpoint; an unknown token is 200 all the same; revoking a refresh token or an
//! opaque access token revokes its whole grant; a JWT access token is 400
//! `unsupported_token_type` (Logto v9); another client's token is `invalid_request`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::OidcError;
use super::{client_auth, token};
use crate::state::IdpState;

pub(crate) async fn revocation(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match revoke(&state, &headers, &body) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => error.logged(&state.events, "revocation.error"),
    }
}

fn revoke(state: &IdpState, headers: &HeaderMap, body: &[u8]) -> Result<(), OidcError> {
    let params = token::read_params(headers, body)?;
    let client = client_auth::authenticate(&state.tenant(), headers, &params)?;
    let presented = params.required("token")?;
    if looks_like_jwt(presented) {
        return Err(OidcError::unsupported_token_type(
            "revocation of the presented token type is not supported",
        ));
    }
    let Some((grant_id, owner)) = state.store.token_owner(presented) else {
        return Ok(());
    };
    if owner != client.id {
        return Err(OidcError::invalid_request(
            "this token does not belong to you",
        ));
    }
    state.store.revoke_grant(&grant_id);
    state.events.push(
        "grant.revoked",
        json!({"grant_id": grant_id, "client_id": client.id, "reason": "token revoked"}),
    );
    Ok(())
}

/// A compact JWS: three dot-separated parts (opaque tokens have no dots).
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

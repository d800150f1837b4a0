//! `GET/POST /oidc/me`: the user's claims for the granted scopes.
//!
//! The opaque access token comes as `Authorization: Bearer …` or, in a POST form body, as
//! `access_token` (not both). Unknown, expired or revoked tokens, and resource-bound (JWT)
//! access tokens, are 401 `invalid_token` with a `WWW-Authenticate` challenge; a token without
//! `openid` is 403 `insufficient_scope`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::claims::{self, Audience};
use super::error::OidcError;
use super::params::Params;
use crate::faults::Request;
use crate::state::IdpState;

pub(crate) async fn userinfo_get(State(state): State<IdpState>, headers: HeaderMap) -> Response {
    respond(&state, userinfo(&state, &headers, None))
}

pub(crate) async fn userinfo_post(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = crate::http::content_type(&headers) == "application/x-www-form-urlencoded";
    let params = form.then(|| Params::from_urlencoded(&body));
    respond(&state, userinfo(&state, &headers, params.as_ref()))
}

fn respond(state: &IdpState, result: Result<Response, OidcError>) -> Response {
    result.unwrap_or_else(|error| error.logged(&state.events, "userinfo.error"))
}

fn userinfo(
    state: &IdpState,
    headers: &HeaderMap,
    body: Option<&Params>,
) -> Result<Response, OidcError> {
    let issuer = state.issuer();
    if let Some((id, _)) = state.faults.take(Request::Userinfo) {
        state.events.push(
            "fault.injected",
            json!({"id": id, "kind": "userinfo_unauthorized"}),
        );
        return Err(OidcError::invalid_token("injected by a fault", &issuer));
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let in_body = body.and_then(|p| p.get("access_token")).map(str::to_owned);
    let token = match (bearer, in_body) {
        (Some(_), Some(_)) => {
            return Err(OidcError::invalid_request(
                "access token must only be provided using one mechanism",
            ));
        }
        (Some(token), None) | (None, Some(token)) => token,
        (None, None) => {
            return Err(OidcError::invalid_token(
                "no access token provided",
                &issuer,
            ));
        }
    };
    let now = state.clock.now();
    let record = state.store.access_token(&token, now).ok_or_else(|| {
        OidcError::invalid_token("access token not found, expired or revoked", &issuer)
    })?;
    if !record.scopes.iter().any(|s| s == "openid") {
        return Err(OidcError::insufficient_scope("openid"));
    }
    let user = state
        .tenant()
        .user(&record.account_id)
        .cloned()
        .ok_or_else(|| OidcError::invalid_token("the token's account no longer exists", &issuer))?;
    let extended = claims::Extended::of(&state.tenant(), &user.id);
    let claims = claims::for_scopes(&user, &extended, &record.scopes, Audience::Userinfo);
    let mut response = axum::Json(claims).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

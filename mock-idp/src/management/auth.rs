//! The Management API's token check, as Logto's `koaAuth` makes it: a `Bearer` JWT this IdP
//! signed, for the Management API resource, unexpired by the mock's clock, with a `sub`, and
//! with the scope `all`.
//!
//! | what is wrong | answer |
//! |---|---|
//! | no `Authorization` header | 401 `auth.authorization_header_missing` |
//! | not `Bearer …` | 401 `auth.authorization_token_type_not_supported`, `data.supportedTypes` |
//! | signature, issuer, audience or expiry | 401 `auth.unauthorized` |
//! | no `sub` | 401 `auth.jwt_sub_missing` |
//! | no `all` in `scope` | 403 `auth.forbidden` |
//!
//! Logto's `auth.unauthorized` carries the JWT library's error as `data`; the mock leaves
//! `data` out and logs the reason as event `management.unauthorized`.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{RESOURCE, error};
use crate::request_error::RequestError;
use crate::state::IdpState;

/// Who called: a machine-to-machine app (its `sub` is its client id) or a user.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    /// The token's `sub`.
    pub id: String,
}

/// The middleware in front of every Management API route.
pub(crate) async fn require(
    State(state): State<IdpState>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    match check(&state, header.as_deref()) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => {
            state.events.push(
                "management.refused",
                json!({"path": request.uri().path(), "code": error.code}),
            );
            error.into_response()
        }
    }
}

fn check(state: &IdpState, header: Option<&str>) -> Result<Caller, RequestError> {
    let header = header.filter(|h| !h.trim().is_empty()).ok_or_else(|| {
        error(
            StatusCode::UNAUTHORIZED,
            "auth.authorization_header_missing",
            "Authorization header is missing.",
        )
    })?;
    if !header.starts_with("Bearer") {
        let mut refused = error(
            StatusCode::UNAUTHORIZED,
            "auth.authorization_token_type_not_supported",
            "Authorization type is not supported.",
        );
        refused.data = Some(Box::new(json!({ "supportedTypes": ["Bearer"] })));
        return Err(refused);
    }
    let token = header.get(7..).unwrap_or_default();
    let claims = verify(state, token).map_err(|reason| {
        state
            .events
            .push("management.unauthorized", json!({ "reason": reason }));
        error(
            StatusCode::UNAUTHORIZED,
            "auth.unauthorized",
            "Unauthorized. Please check credentials and its scope.",
        )
    })?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            error(
                StatusCode::UNAUTHORIZED,
                "auth.jwt_sub_missing",
                "Missing `sub` in JWT.",
            )
        })?;
    let has_all = claims
        .get("scope")
        .and_then(Value::as_str)
        .is_some_and(|scope| scope.split(' ').any(|s| s == "all"));
    if !has_all {
        return Err(error(
            StatusCode::FORBIDDEN,
            "auth.forbidden",
            "Forbidden. Please check your user roles and permissions.",
        ));
    }
    Ok(Caller { id: sub.to_owned() })
}

/// The token's claims if this IdP signed it for the Management API and it is unexpired now;
/// else why not.
fn verify(state: &IdpState, token: &str) -> Result<Value, String> {
    let claims = state
        .keys()
        .verify_ignoring_expiry(token, &state.issuer())
        .map_err(|e| e.to_string())?;
    if claims.get("aud").and_then(Value::as_str) != Some(RESOURCE) {
        return Err(format!("audience is not {RESOURCE}"));
    }
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or("no exp")?;
    if exp <= state.clock.now().unix_timestamp() {
        return Err("expired".to_owned());
    }
    Ok(claims)
}

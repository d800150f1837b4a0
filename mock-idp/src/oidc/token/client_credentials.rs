//! `grant_type=client_credentials`: a machine-to-machine app's JWT access token for an API
//! resource, as Logto issues it.
//!
//! - The resource is `resource`, or the tenant's default API resource (`isDefault`); with
//!   neither, `invalid_target` ("both `resource` and `organization_id` are not provided"):
//!   Logto never issues an opaque machine-to-machine token. One resource only.
//! - `scope` is what was asked for (request order, once each) of what the app's
//!   `MachineToMachine` roles grant on that resource; anything else is dropped without an
//!   error, and nothing is granted unasked. With no scope granted, `scope` is left out of
//!   the answer and of the token.
//! - The token: `sub` and `client_id` are the app, `aud` the resource, its lifetime the
//!   resource's `accessTokenTtl`. No ID token, no refresh token.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::super::error::OidcError;
use super::super::params::Params;
use super::jwt_access_token;
use crate::state::IdpState;
use crate::tenant::Application;

/// node-oidc-provider's answer to this grant, keys in its order.
#[derive(Serialize)]
struct ClientCredentialsResponse {
    access_token: String,
    expires_in: i64,
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

pub(crate) fn exchange(
    state: &IdpState,
    client: &Application,
    params: &Params,
    skew: time::Duration,
) -> Result<Response, OidcError> {
    if params.get("organization_id").is_some() {
        return Err(
            OidcError::access_denied("app has not associated with the organization")
                .detail("the app is a member of no organization"),
        );
    }
    let tenant = state.tenant();
    let requested = params.all("resource");
    let indicator = match requested.as_slice() {
        [] => tenant
            .default_resource()
            .map(|r| r.indicator.clone())
            .ok_or_else(|| {
                OidcError::invalid_target("both `resource` and `organization_id` are not provided")
            })?,
        [one] => (*one).to_owned(),
        _ => {
            return Err(OidcError::invalid_target(
                "only a single resource indicator value is supported for this grant type",
            ));
        }
    };
    if indicator.contains('#') {
        return Err(OidcError::invalid_target(
            "resource indicator must not contain a fragment component",
        ));
    }
    if !super::super::auth::checks::is_absolute_uri(&indicator) {
        return Err(OidcError::invalid_target(
            "resource indicator must be an absolute URI",
        ));
    }
    let resource = tenant.resource(&indicator).ok_or_else(|| {
        OidcError::invalid_target("resource indicator is missing, or unknown")
            .detail(format!("{indicator} is not an API resource of this tenant"))
    })?;
    let granted = tenant.application_scopes(&client.id, &indicator);
    let mut scopes: Vec<&str> = Vec::new();
    for scope in params.get("scope").unwrap_or_default().split(' ') {
        if granted.iter().any(|g| g == scope) && !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
    let ttl = i64::try_from(resource.access_token_ttl).unwrap_or(i64::MAX);
    drop(tenant);
    let now = state.clock.now();
    let access_token = jwt_access_token(
        state,
        client,
        &super::AccessClaims {
            sub: &client.id,
            aud: &indicator,
            scope: scope.as_deref(),
            organization_id: None,
            ttl,
        },
        now + skew,
    )?;
    state.events.push(
        "grant.success",
        json!({"grant_type": "client_credentials", "client_id": client.id,
               "resource": indicator, "scope": scope}),
    );
    let mut response = axum::Json(ClientCredentialsResponse {
        access_token,
        expires_in: ttl,
        token_type: "Bearer",
        scope,
    })
    .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

//! `POST /oidc/token`: parameters, client authentication, then the grant (one file per
//! `grant_type`), and Logto's token response.
//!
//! Bodies may be `application/x-www-form-urlencoded` or JSON (Logto converts JSON bodies);
//! NUL bytes and repeated parameters (but `resource`) are rejected.

pub(crate) mod authorization_code;
pub(crate) mod client_credentials;
pub(crate) mod refresh_token;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::claims::{self, Audience};
use super::error::OidcError;
use super::params::Params;
use super::store::{RefreshToken, Token};
use super::{client_auth, ttl};
use crate::faults::{Fault, OAuthError, Request};
use crate::state::IdpState;
use crate::tenant::{Application, User};

/// Logto's token response, keys in node-oidc-provider's order.
#[derive(Serialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    pub token_type: &'static str,
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        let mut response = axum::Json(self).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

pub(crate) async fn token(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = read_params(&headers, &body);
    let grant_type = params.as_ref().ok().and_then(|p| p.get("grant_type"));
    if let Some((id, fault)) = state.faults.take(Request::Token { grant_type }) {
        state.events.push(
            "fault.injected",
            json!({"id": id, "kind": fault.kind(), "grant_type": grant_type}),
        );
        match fault {
            Fault::TokenLatency { ms, .. } => {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            Fault::TokenError {
                error,
                status,
                description,
                ..
            } => {
                let error = error.unwrap_or(OAuthError::ServerError);
                let status = status.unwrap_or(error.status());
                return OidcError::injected(status, error, description.as_deref())
                    .logged(&state.events, "grant.error");
            }
            _ => {}
        }
    }
    let skew = match state.faults.take(Request::TokenResponse) {
        Some((id, Fault::SkewTokens { secs })) => {
            state.events.push(
                "fault.injected",
                json!({"id": id, "kind": "skew_tokens", "secs": secs}),
            );
            time::Duration::seconds(secs)
        }
        _ => time::Duration::ZERO,
    };
    match params.and_then(|params| handle(&state, &headers, &params, skew)) {
        Ok(response) => response.into_response(),
        Err(error) => error.logged(&state.events, "grant.error"),
    }
}

/// Client authentication, then the grant type: one the provider serves
/// (`unsupported_grant_type`), then one the client's type may use (`unauthorized_client`), as
/// node-oidc-provider checks them.
fn handle(
    state: &IdpState,
    headers: &HeaderMap,
    params: &Params,
    skew: time::Duration,
) -> Result<Response, OidcError> {
    let client = client_auth::authenticate(&state.tenant(), headers, params)?;
    let grant_type = params.required("grant_type")?;
    if !super::discovery::GRANT_TYPES.contains(&grant_type) {
        return Err(OidcError::unsupported_grant_type().detail(format!("grant_type {grant_type}")));
    }
    if !client.grant_types().contains(&grant_type) {
        return Err(OidcError::unauthorized_client(
            "requested grant type is not allowed for this client",
        )
        .detail(format!("{grant_type} for a {:?} app", client.app_type)));
    }
    match grant_type {
        "authorization_code" => authorization_code::exchange(state, &client, params, skew)
            .map(IntoResponse::into_response),
        "refresh_token" => {
            refresh_token::exchange(state, &client, params, skew).map(IntoResponse::into_response)
        }
        _ => client_credentials::exchange(state, &client, params, skew),
    }
}

pub(crate) fn read_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OidcError> {
    let content_type = crate::http::content_type(headers);
    let params = match content_type.as_str() {
        "application/x-www-form-urlencoded" => Params::from_urlencoded(body),
        "application/json" => Params::from_json(body)?,
        _ => {
            return Err(OidcError::invalid_request(
                "only application/x-www-form-urlencoded content-type bodies are supported",
            ));
        }
    };
    if params.has_nul() {
        return Err(OidcError::invalid_request(
            "NUL bytes are not allowed in parameters",
        ));
    }
    params.reject_duplicates(&["resource"])?;
    Ok(params)
}

/// What an ID token says beyond the user's claims.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdTokenExtras<'a> {
    /// The authorization request's `nonce` (code exchange only).
    pub nonce: Option<&'a str>,
    /// When the user signed in (epoch seconds), if the request asked for `auth_time`.
    pub auth_time: Option<i64>,
}

/// An ID token for `user`: Logto's claims for `scopes`, then `nonce` (when the request had
/// one), `auth_time` (when it asked for it with `max_age` or `prompt=login`), `iat`, `exp`,
/// `aud` (the client id, a string) and `iss`.
pub(crate) fn id_token(
    state: &IdpState,
    client: &Application,
    user: &User,
    scopes: &[String],
    extras: IdTokenExtras<'_>,
    now: OffsetDateTime,
) -> Result<String, OidcError> {
    let extended = claims::Extended::of(&state.tenant(), &user.id);
    let mut payload: Map<String, Value> =
        claims::for_scopes(user, &extended, scopes, Audience::IdToken);
    if let Some(nonce) = extras.nonce {
        payload.insert("nonce".into(), Value::String(nonce.to_owned()));
    }
    if let Some(auth_time) = extras.auth_time {
        payload.insert("auth_time".into(), Value::from(auth_time));
    }
    let iat = now.unix_timestamp();
    let ttl = i64::try_from(client.id_token_ttl()).unwrap_or(i64::MAX);
    payload.insert("iat".into(), Value::from(iat));
    payload.insert("exp".into(), Value::from(iat.saturating_add(ttl)));
    payload.insert("aud".into(), Value::String(client.id.clone()));
    payload.insert("iss".into(), Value::String(state.issuer()));
    state
        .keys()
        .sign(&payload, None)
        .map_err(|e| OidcError::server_error(format!("signing the ID token failed: {e}")))
}

/// What an access token is minted from.
pub(crate) struct Minting<'a> {
    pub grant_id: &'a str,
    pub account_id: &'a str,
    /// Scopes of an opaque token.
    pub scopes: &'a [String],
    /// The resources requested at sign-in, and their requested scopes.
    pub resources: &'a [String],
    pub resource_scopes: &'a [String],
    /// Added to a JWT's `iat` and `exp` (a skewed-clock fault; zero otherwise).
    pub skew: time::Duration,
    /// `organization_id` asked for with `resource` (the token says so).
    pub organization_id: Option<&'a str>,
}

/// The access token of a grant: for `resource`, a JWT (the resource must have been requested
/// at sign-in: `invalid_target`); without one, an opaque token for `/oidc/me`. Returns the
/// token and its lifetime in seconds.
pub(crate) fn access_token(
    state: &IdpState,
    client: &Application,
    resource: Option<&str>,
    minting: &Minting<'_>,
    now: OffsetDateTime,
) -> Result<(String, i64), OidcError> {
    if let Some(indicator) = resource {
        if !minting.resources.iter().any(|r| r == indicator) {
            return Err(
                OidcError::invalid_target("resource indicator is missing, or unknown")
                    .detail(format!("{indicator} was not requested at sign-in")),
            );
        }
        return resource_access_token(state, client, minting, indicator, now + minting.skew);
    }
    let token = state.nanoid(43);
    state.store.put_access_token(
        token.clone(),
        Token {
            grant_id: minting.grant_id.to_owned(),
            client_id: client.id.clone(),
            account_id: minting.account_id.to_owned(),
            scopes: minting.scopes.to_vec(),
            issued_at: now,
            expires_at: ttl::after(now, ttl::ACCESS_TOKEN),
        },
    );
    Ok((token, ttl::ACCESS_TOKEN))
}

/// A JWT access token for API resource `indicator` (`typ: at+jwt`, `aud` = the resource):
/// `scope` is what was requested of the resource and the user's roles grant (omitted when
/// empty, as Logto does). Returns the token and its lifetime.
fn resource_access_token(
    state: &IdpState,
    client: &Application,
    minting: &Minting<'_>,
    indicator: &str,
    now: OffsetDateTime,
) -> Result<(String, i64), OidcError> {
    let (account_id, requested, organization_id) = (
        minting.account_id,
        minting.resource_scopes,
        minting.organization_id,
    );
    let tenant = state.tenant();
    let resource = tenant
        .resource(indicator)
        .ok_or_else(|| OidcError::invalid_target("resource indicator is missing, or unknown"))?;
    let granted = tenant.granted_scopes(account_id, indicator);
    let scope: Vec<&str> = requested
        .iter()
        .filter(|s| granted.contains(s))
        .map(String::as_str)
        .collect();
    let ttl = i64::try_from(resource.access_token_ttl).unwrap_or(i64::MAX);
    let scope = (!scope.is_empty()).then(|| scope.join(" "));
    let token = jwt_access_token(
        state,
        client,
        &AccessClaims {
            sub: account_id,
            aud: indicator,
            scope: scope.as_deref(),
            organization_id,
            ttl,
        },
        now,
    )?;
    Ok((token, ttl))
}

/// What a JWT access token says.
pub(crate) struct AccessClaims<'a> {
    /// The user, or the client itself for `client_credentials`.
    pub sub: &'a str,
    /// The resource indicator, or `urn:logto:organization:<id>`.
    pub aud: &'a str,
    /// Left out when `None`.
    pub scope: Option<&'a str>,
    /// Logto's extra claim for a resource token asked for with `organization_id`.
    pub organization_id: Option<&'a str>,
    /// Lifetime, seconds.
    pub ttl: i64,
}

/// A JWT access token (`typ: at+jwt`) in node-oidc-provider's claim order: Logto's extra
/// claims (`organization_id`), then `jti`, `sub`, `iat`, `exp`, `scope`, `client_id`, `iss`,
/// `aud`.
pub(crate) fn jwt_access_token(
    state: &IdpState,
    client: &Application,
    claims: &AccessClaims<'_>,
    now: OffsetDateTime,
) -> Result<String, OidcError> {
    let iat = now.unix_timestamp();
    let mut payload = Map::new();
    if let Some(organization_id) = claims.organization_id {
        payload.insert(
            "organization_id".into(),
            Value::String(organization_id.to_owned()),
        );
    }
    payload.insert("jti".into(), Value::String(state.nanoid(21)));
    payload.insert("sub".into(), Value::String(claims.sub.to_owned()));
    payload.insert("iat".into(), Value::from(iat));
    payload.insert("exp".into(), Value::from(iat.saturating_add(claims.ttl)));
    if let Some(scope) = claims.scope {
        payload.insert("scope".into(), Value::String(scope.to_owned()));
    }
    payload.insert("client_id".into(), Value::String(client.id.clone()));
    payload.insert("iss".into(), Value::String(state.issuer()));
    payload.insert("aud".into(), Value::String(claims.aud.to_owned()));
    state
        .keys()
        .sign(&payload, Some("at+jwt"))
        .map_err(|e| OidcError::server_error(format!("signing the access token failed: {e}")))
}

/// A client's refresh-token lifetime, seconds (Logto's default: 14 days; saturating, though
/// [`Tenant::validate`](crate::Tenant::validate) bounds it).
pub(crate) fn refresh_ttl(client: &Application) -> i64 {
    client
        .custom_client_metadata
        .refresh_token_ttl_in_days
        .map_or(ttl::REFRESH_TOKEN, |days| {
            i64::try_from(days.saturating_mul(24 * 3600)).unwrap_or(i64::MAX)
        })
}

/// Stores a new refresh token and returns its value.
pub(crate) fn issue_refresh_token(state: &IdpState, record: RefreshToken) -> String {
    let token = state.nanoid(43);
    state.store.put_refresh_token(token.clone(), record);
    token
}

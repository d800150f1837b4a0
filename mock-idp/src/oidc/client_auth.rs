//! Client authentication at the token endpoint, as node-oidc-provider does it for Logto's
//! apps: a traditional web or machine-to-machine app may use `client_secret_basic` or
//! `client_secret_post` (never both at once); SPA and native apps are public (`none`) and send
//! only `client_id`. An unknown client is Logto's adapter's 400 `invalid_client` ("invalid
//! client <id>"); a wrong or missing secret is 401 ("client authentication failed").

use axum::http::{HeaderMap, header};
use base64::Engine as _;

use super::error::OidcError;
use super::params::Params;
use crate::tenant::{Application, Tenant};

/// The authenticated client.
pub(crate) fn authenticate(
    tenant: &Tenant,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Application, OidcError> {
    let basic = basic_credentials(headers)?;
    let body_secret = params.get("client_secret");
    if basic.is_some() && body_secret.is_some() {
        return Err(OidcError::invalid_request(
            "client authentication must only be provided using one mechanism",
        ));
    }
    let body_id = params.get("client_id");
    let client_id = match (&basic, body_id) {
        (Some((id, _)), Some(body)) if id != body => {
            return Err(OidcError::invalid_request(
                "mismatch in body and authorization client ids",
            ));
        }
        (Some((id, _)), _) => id.clone(),
        (None, Some(body)) => body.to_owned(),
        (None, None) => {
            return Err(OidcError::invalid_request(
                "no client authentication mechanism provided",
            ));
        }
    };
    let client = tenant
        .application(&client_id)
        .ok_or_else(|| OidcError::unknown_client(&client_id))?;
    if !client.is_confidential() {
        return Ok(client.clone());
    }
    let secret = basic
        .as_ref()
        .map(|(_, s)| s.as_str())
        .or(body_secret)
        .ok_or_else(|| {
            OidcError::client_auth_failed("client_secret_basic or client_secret_post required")
        })?;
    if client.secret.as_deref() != Some(secret) {
        return Err(OidcError::client_auth_failed("invalid secret provided"));
    }
    Ok(client.clone())
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OidcError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OidcError::invalid_request("invalid authorization header value format");
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    match (unescape(id), unescape(secret)) {
        (Some(id), Some(secret)) => Ok(Some((id, secret))),
        _ => Err(OidcError::invalid_request(
            "client_id and client_secret in the authorization header are not properly encoded",
        )),
    }
}

/// Undoes `application/x-www-form-urlencoded` as node-oidc-provider does
/// (`decodeURIComponent` after `+` → space): `None` for a `%` not followed by two hex digits
/// or bytes that are not UTF-8.
fn unescape(part: &str) -> Option<String> {
    let bytes = part.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

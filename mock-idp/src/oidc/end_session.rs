//! Sign-out: `GET/POST /oidc/session/end`, `POST /oidc/session/end/confirm`,
//! `GET /oidc/session/end/success` (node-oidc-provider's RP-initiated logout, as Logto runs it).
//!
//! The client comes from `client_id` or the `id_token_hint`'s audience (they must agree); a
//! `post_logout_redirect_uri` must be one the client registered (400 otherwise) and is dropped
//! when no client is known. The answer is Logto's page whose form posts itself to the confirm
//! endpoint (its `#confirm` button does it without JavaScript). Confirming ends the IdP
//! session, revokes the grants given in it that lack `offline_access`, clears `_session`, and
//! 303s to the post-logout URI (with `state`) or to the success page.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::json;
use sha2::Digest as _;

use super::error::OidcError;
use super::params::Params;
use super::store::Logout;
use super::{SESSION_COOKIE, ttl};
use crate::http::{self, cookie};
use crate::state::IdpState;

/// What submits the form when JavaScript runs (allowed by its hash in the page's CSP).
const SUBMIT: &str = "document.getElementById('op.logoutForm').submit();";
/// How long a sign-out may wait for its confirmation.
const LOGOUT_TTL: i64 = 3600;

#[derive(Template)]
#[template(path = "oidc/logout.html")]
struct LogoutPage<'a> {
    action: String,
    xsrf: &'a str,
    script: &'a str,
}

#[derive(Template)]
#[template(path = "oidc/signed_out.html")]
struct SignedOutPage;

fn html(rendered: Result<String, askama::Error>, csp: &str) -> Response {
    http::page(StatusCode::OK, rendered, csp)
}

pub(crate) async fn end_session_get(
    State(state): State<IdpState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::from_urlencoded(query.unwrap_or_default().as_bytes());
    respond(&state, start(&state, &headers, &params))
}

pub(crate) async fn end_session_post(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        &state,
        start(&state, &headers, &Params::from_urlencoded(&body)),
    )
}

fn respond(state: &IdpState, result: Result<Response, OidcError>) -> Response {
    result.unwrap_or_else(|error| error.logged(&state.events, "end_session.error"))
}

fn start(state: &IdpState, headers: &HeaderMap, params: &Params) -> Result<Response, OidcError> {
    params.reject_duplicates(&[])?;
    let tenant = state.tenant();
    let hinted = match params.get("id_token_hint") {
        Some(hint) => {
            let claims = state
                .keys()
                .verify_ignoring_expiry(hint, &state.issuer())
                .map_err(|e| {
                    OidcError::invalid_request("could not validate id_token_hint").detail(e.0)
                })?;
            claims["aud"].as_str().map(str::to_owned)
        }
        None => None,
    };
    let client_id = match (params.get("client_id"), hinted.as_deref()) {
        (Some(given), Some(hinted)) if given != hinted => {
            return Err(OidcError::invalid_request(
                "client_id/id_token_hint mismatch",
            ));
        }
        (Some(given), _) => Some(given.to_owned()),
        (None, hinted) => hinted.map(str::to_owned),
    };
    let client = match &client_id {
        Some(id) => Some(
            tenant
                .application(id)
                .ok_or_else(OidcError::invalid_client)?,
        ),
        None => None,
    };
    let post_logout_redirect_uri = match (client, params.get("post_logout_redirect_uri")) {
        (Some(client), Some(uri)) => {
            if !client
                .oidc_client_metadata
                .post_logout_redirect_uris
                .iter()
                .any(|u| u == uri)
            {
                return Err(OidcError::invalid_request(
                    "post_logout_redirect_uri not registered",
                ));
            }
            Some(uri.to_owned())
        }
        _ => None,
    };
    let xsrf = state.nanoid(32);
    let session_id = cookie(headers, SESSION_COOKIE);
    state.store.put_logout(
        xsrf.clone(),
        Logout {
            session_id,
            post_logout_redirect_uri,
            state: params.get("state").map(str::to_owned),
            expires_at: ttl::after(state.clock.now(), LOGOUT_TTL),
        },
    );
    state
        .events
        .push("end_session.started", json!({"client_id": client_id}));
    let page = LogoutPage {
        action: format!("{}/session/end/confirm", state.issuer()),
        xsrf: &xsrf,
        script: SUBMIT,
    };
    let hash =
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(SUBMIT.as_bytes()));
    // No `form-action`: the confirm form's answer redirects to the app, on another origin,
    // and browsers apply `form-action` to that redirect too.
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    );
    Ok(html(page.render(), &csp))
}

/// `POST /oidc/session/end/confirm` (`xsrf`, `logout=yes`).
pub(crate) async fn confirm(State(state): State<IdpState>, body: Bytes) -> Response {
    let params = Params::from_urlencoded(&body);
    let now = state.clock.now();
    let Some(logout) = params
        .get("xsrf")
        .and_then(|xsrf| state.store.take_logout(xsrf, now))
    else {
        return respond(
            &state,
            Err(OidcError::invalid_request("xsrf token invalid")),
        );
    };
    let mut revoked = 0;
    if params.get("logout").is_some()
        && let Some(session) = &logout.session_id
    {
        revoked = state.store.end_session(session);
    }
    state.events.push(
        "end_session.success",
        json!({"session_ended": logout.session_id.is_some(), "grants_revoked": revoked}),
    );
    let location = match &logout.post_logout_redirect_uri {
        Some(uri) => match &logout.state {
            Some(client_state) => http::with_query(uri, &[("state", client_state)]),
            None => uri.clone(),
        },
        None => format!("{}/session/end/success", state.issuer()),
    };
    http::see_other(&location, &[state.set_cookie(SESSION_COOKIE, "", 0)])
}

/// `GET /oidc/session/end/success`.
pub(crate) async fn success() -> Response {
    html(
        SignedOutPage.render(),
        "default-src 'none'; style-src 'unsafe-inline'",
    )
}

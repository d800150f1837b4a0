//! `GET/POST /oidc/auth` and its resume, `GET /oidc/auth/{uid}`.
//!
//! A valid request either finishes at once (an IdP session exists, `prompt` does not ask for
//! `login` and the sign-in is not older than `max_age`: SSO) or starts an interaction: cookie `_interaction`, then 303 to the sign-in
//! experience's first screen (`/sign-in?app_id=…`, `/register`, … as Logto picks it). Once the
//! user has signed in, the experience sends the browser to `/oidc/auth/{uid}`, which opens an
//! IdP session (cookie `_session`) and 303s to `redirect_uri?code=…&state=…&iss=…`.
//!
//! First-party apps are consented automatically, so the consent hop Logto makes through
//! `/consent` is folded into the resume.

pub(crate) mod checks;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;

use super::error::OidcError;
use super::params::Params;
use super::store::{Code, Grant, Session};
use super::{SESSION_COOKIE, ttl};
use crate::faults::{Fault, Request as FaultRequest};
use crate::http::{cookie, see_other, with_query};
use crate::interaction::{AuthRequest, INTERACTION_COOKIE, Interaction};
use crate::request_error::RequestError;
use crate::state::IdpState;

/// `GET /oidc/auth`.
pub(crate) async fn authorize_get(
    State(state): State<IdpState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::from_urlencoded(query.unwrap_or_default().as_bytes());
    authorize(&state, &headers, &params)
}

/// `POST /oidc/auth` (a form body).
pub(crate) async fn authorize_post(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authorize(&state, &headers, &Params::from_urlencoded(&body))
}

fn authorize(state: &IdpState, headers: &HeaderMap, params: &Params) -> Response {
    let checked = checks::run(params, &state.tenant());
    let request = match checked {
        Ok(request) => request,
        Err(rejection) => {
            state.events.push(
                "authorization.error",
                json!({
                    "client_id": params.get("client_id"),
                    "error": rejection.error.error,
                    "error_description": rejection.error.description,
                    "detail": rejection.error.detail,
                    "redirected": rejection.redirect.is_some(),
                }),
            );
            return match rejection.redirect.as_deref() {
                Some((uri, client_state)) => {
                    redirect_error(state, uri, client_state.as_deref(), &rejection.error)
                }
                None => rejection.error.into_response(),
            };
        }
    };
    state.events.push(
        "authorization.started",
        json!({"client_id": request.client_id, "scope": request.scopes.join(" "),
               "resource": request.resources, "prompt": prompt_text(&request)}),
    );
    if let Some((id, Fault::AuthorizeError { error, description })) =
        state.faults.take(FaultRequest::Authorize)
    {
        let error = OidcError::injected(error.status(), error, description.as_deref());
        state.events.push(
            "fault.injected",
            json!({"id": id, "kind": "authorize_error", "error": error.error}),
        );
        return redirect_error(
            state,
            &request.redirect_uri,
            request.state.as_deref(),
            &error,
        );
    }
    let now = state.clock.now();
    // A session older than `max_age` is as good as none: the user signs in again.
    let session = current_session(state, headers, now).filter(|(_, session)| {
        request
            .max_age
            .is_none_or(|age| (now - session.auth_time).whole_seconds() <= age)
    });
    if request.prompt.none {
        return match session {
            Some((id, session)) => finish(state, &request, &session, &id, Vec::new()),
            None => redirect_error(
                state,
                &request.redirect_uri,
                request.state.as_deref(),
                &OidcError::login_required(),
            ),
        };
    }
    if let Some((id, session)) = session.filter(|_| !request.prompt.login) {
        return finish(state, &request, &session, &id, Vec::new());
    }
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    start_interaction(state, request, now, user_agent)
}

fn prompt_text(request: &AuthRequest) -> String {
    let mut prompts = Vec::new();
    if request.prompt.login {
        prompts.push("login");
    }
    if request.prompt.consent {
        prompts.push("consent");
    }
    prompts.join(" ")
}

/// The live session of the `_session` cookie, if its account still exists.
fn current_session(
    state: &IdpState,
    headers: &HeaderMap,
    now: OffsetDateTime,
) -> Option<(String, Session)> {
    let id = cookie(headers, SESSION_COOKIE)?;
    let session = state.store.session(&id, now)?;
    state.tenant().user(&session.account_id)?;
    Some((id, session))
}

fn start_interaction(
    state: &IdpState,
    request: AuthRequest,
    now: OffsetDateTime,
    user_agent: Option<String>,
) -> Response {
    let uid = state.nanoid(21);
    let location = first_screen(&request);
    state.events.push(
        "interaction.started",
        json!({"uid": uid, "client_id": request.client_id, "first_screen": location}),
    );
    state.interactions.put(Interaction {
        uid: uid.clone(),
        request,
        expires_at: ttl::after(now, ttl::INTERACTION),
        login: None,
        user_agent,
    });
    let cookie = state.set_cookie(INTERACTION_COOKIE, &uid, ttl::INTERACTION);
    see_other(&location, &[cookie])
}

/// The experience's first screen, relative to the IdP (as Logto's `Location` is).
fn first_screen(request: &AuthRequest) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("app_id", &request.client_id);
    if let Some(hint) = &request.login_hint {
        query.append_pair("login_hint", hint);
    }
    format!("{}?{}", request.first_screen.path(), query.finish())
}

/// `GET /oidc/auth/{uid}`: finishes a signed-in interaction.
pub(crate) async fn resume(
    State(state): State<IdpState>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Response {
    let now = state.clock.now();
    let cookie_matches = cookie(&headers, INTERACTION_COOKIE).is_some_and(|c| c == uid);
    let interaction = state.interactions.get(&uid, now).filter(|_| cookie_matches);
    let Some(interaction) = interaction else {
        state.events.push(
            "authorization.error",
            json!({"uid": uid, "error": "session.not_found",
                   "detail": if cookie_matches { "interaction not found or expired" } else { "interaction cookie missing or for another interaction" }}),
        );
        // node-oidc-provider's words: a missing or foreign resume cookie is an expired request.
        let description = if cookie_matches {
            "interaction session not found"
        } else {
            "authorization request has expired"
        };
        return RequestError::session_not_found(description).into_response();
    };
    let Some(login) = interaction.login.clone() else {
        // Not signed in yet: back to the sign-in experience.
        return see_other(&first_screen(&interaction.request), &[]);
    };
    state.interactions.remove(&uid);
    state.experience.remove(&uid);
    let account_id = login.account_id;
    let session_id = current_session(&state, &headers, now)
        .filter(|(_, s)| s.account_id == account_id)
        .map(|(id, _)| id)
        .unwrap_or_else(|| state.nanoid(21));
    // The user just proved who they are: the session's `auth_time` is that moment.
    let session = Session {
        account_id: account_id.clone(),
        auth_time: login.at,
        expires_at: ttl::after(now, ttl::SESSION),
    };
    state.store.put_session(session_id.clone(), session.clone());
    state.events.push(
        "interaction.ended",
        json!({"uid": uid, "account_id": account_id, "client_id": interaction.request.client_id}),
    );
    let cookies = vec![
        state.set_cookie(SESSION_COOKIE, &session_id, ttl::SESSION),
        state.set_cookie(INTERACTION_COOKIE, "", 0),
    ];
    finish(&state, &interaction.request, &session, &session_id, cookies)
}

/// Grants what was asked (first-party apps are auto-consented), issues the code, and sends
/// the browser back to the client.
fn finish(
    state: &IdpState,
    request: &AuthRequest,
    session: &Session,
    session_id: &str,
    cookies: Vec<String>,
) -> Response {
    let now = state.clock.now();
    let account_id = session.account_id.as_str();
    let grant_id = state.nanoid(21);
    state.store.put_grant(
        grant_id.clone(),
        Grant {
            account_id: account_id.to_owned(),
            session_id: Some(session_id.to_owned()),
            offline: request.scopes.iter().any(|s| s == "offline_access"),
            revoked: false,
        },
    );
    let code = state.nanoid(43);
    state.store.put_code(
        code.clone(),
        Code {
            grant_id: grant_id.clone(),
            client_id: request.client_id.clone(),
            account_id: account_id.to_owned(),
            redirect_uri: request.redirect_uri.clone(),
            scopes: request.scopes.clone(),
            resources: request.resources.clone(),
            resource_scopes: request.resource_scopes.clone(),
            nonce: request.nonce.clone(),
            auth_time: request
                .auth_time
                .then(|| session.auth_time.unix_timestamp()),
            code_challenge: request.code_challenge.clone(),
            expires_at: ttl::after(now, ttl::CODE),
            consumed: false,
        },
    );
    state.events.push(
        "authorization.success",
        json!({"client_id": request.client_id, "account_id": account_id, "grant_id": grant_id}),
    );
    let mut query = vec![("code", code.as_str())];
    if let Some(client_state) = &request.state {
        query.push(("state", client_state));
    }
    let issuer = state.issuer();
    query.push(("iss", &issuer));
    see_other(&with_query(&request.redirect_uri, &query), &cookies)
}

/// `redirect_uri?error=…&error_description=…&state=…&iss=…`.
fn redirect_error(
    state: &IdpState,
    redirect_uri: &str,
    client_state: Option<&str>,
    error: &OidcError,
) -> Response {
    let issuer = state.issuer();
    let mut query = vec![
        ("error", error.error),
        ("error_description", error.description.as_str()),
    ];
    if let Some(client_state) = client_state {
        query.push(("state", client_state));
    }
    query.push(("iss", &issuer));
    see_other(&with_query(redirect_uri, &query), &[])
}

/// Test-only: signs `account_id` in to interaction `uid` (what the sign-in experience does
/// once the user proved who they are). Returns the resume URL.
pub(crate) fn complete_interaction(
    state: &IdpState,
    uid: &str,
    account_id: &str,
) -> Option<String> {
    let now = state.clock.now();
    state.interactions.finish(uid, account_id, now).then(|| {
        state.events.push(
            "interaction.login",
            json!({"uid": uid, "account_id": account_id, "by": "test-only login"}),
        );
        format!("{}/auth/{uid}", state.issuer())
    })
}

//! The routes of Logto's Flask sample, one handler each. Every handler builds a
//! [`LogtoClient`] over the request's session, as the guide builds one per request over
//! Flask's `session`.

use axum::Json;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tower_sessions::Session;

use crate::AppState;
use crate::logto::{self, InteractionMode, LogtoClient, LogtoError, SessionStorage};
use crate::pages::{self, error_json, error_page, page};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in))
        .route("/sign-up", get(sign_up))
        .route("/callback", get(callback))
        .route("/sign-out", get(sign_out))
        .route("/profile", get(profile))
        .route("/profile.json", get(profile_json))
        .route("/api-token", get(api_token))
        .route("/api-token.json", get(api_token_json))
        .fallback(|| async { pages::not_found() })
        .method_not_allowed_fallback(|| async { pages::method_not_allowed() })
}

fn client(state: &AppState, session: Session) -> LogtoClient<SessionStorage> {
    LogtoClient::new(state.core.clone(), SessionStorage(session))
}

async fn home(State(state): State<AppState>, session: Session) -> Response {
    let client = client(&state, session);
    let has_api_resource = !state.core.config().resources.is_empty();
    if !client.is_authenticated().await {
        return page(
            StatusCode::OK,
            &pages::Home {
                authenticated: false,
                display_name: String::new(),
                email: None,
                has_api_resource,
            },
        );
    }
    let claims = match client.get_id_token_claims().await {
        Ok(claims) => claims,
        Err(error) => return error_page(&error),
    };
    let text = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_owned);
    let email = text("email");
    let display_name = text("name")
        .or_else(|| text("username"))
        .or_else(|| email.clone())
        .or_else(|| text("sub"))
        .unwrap_or_default();
    page(
        StatusCode::OK,
        &pages::Home {
            authenticated: true,
            display_name,
            email,
            has_api_resource,
        },
    )
}

async fn sign_in(State(state): State<AppState>, session: Session) -> Response {
    start_sign_in(&state, session, None).await
}

async fn sign_up(State(state): State<AppState>, session: Session) -> Response {
    start_sign_in(&state, session, Some(InteractionMode::SignUp)).await
}

async fn start_sign_in(
    state: &AppState,
    session: Session,
    mode: Option<InteractionMode>,
) -> Response {
    match client(state, session)
        .sign_in(&state.redirect_uri(), mode)
        .await
    {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(error) => error_page(&error),
    }
}

async fn callback(
    State(state): State<AppState>,
    session: Session,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let url = format!("{}{uri}", state.base_url);
    if let Err(error) = client(&state, session.clone())
        .handle_sign_in_callback(&url)
        .await
    {
        return pages::callback_error_page(&error);
    }
    // A new session id once signed in, so a session id planted before sign-in is worthless.
    if let Err(error) = session.cycle_id().await {
        return error_page(&LogtoError::Storage(error.to_string()));
    }
    Redirect::to("/").into_response()
}

async fn sign_out(State(state): State<AppState>, session: Session) -> Response {
    let result = client(&state, session.clone())
        .sign_out(Some(&state.post_logout_redirect_uri()))
        .await;
    // A visitor without a session has nothing to clear.
    if session.id().is_some()
        && let Err(error) = session.flush().await
    {
        return error_page(&LogtoError::Storage(error.to_string()));
    }
    match result {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(error) => error_page(&error),
    }
}

/// The ID token's claims and the userinfo endpoint's answer.
async fn profile_data(state: &AppState, session: Session) -> Result<(Value, Value), LogtoError> {
    let client = client(state, session);
    let claims = client.get_id_token_claims().await?;
    let userinfo = client.fetch_user_info().await?;
    Ok((claims, userinfo))
}

async fn profile(State(state): State<AppState>, session: Session) -> Response {
    match profile_data(&state, session).await {
        Ok((claims, userinfo)) => page(
            StatusCode::OK,
            &pages::Profile {
                roles: roles_of(&claims),
                organizations: organizations_of(&claims, &userinfo),
                id_token_claims: pretty(&claims),
                userinfo: pretty(&userinfo),
            },
        ),
        Err(error) => error_page(&error),
    }
}

/// The `roles` claim, if the ID token has one.
fn roles_of(claims: &Value) -> Option<Vec<String>> {
    let roles = claims.get("roles")?.as_array()?;
    Some(
        roles
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
    )
}

/// The user's organizations: ids from the ID token's `organizations`, names from userinfo's
/// `organization_data`, roles from `organization_roles` (`"<orgId>:<role>"`).
fn organizations_of(claims: &Value, userinfo: &Value) -> Option<Vec<pages::OrganizationView>> {
    let ids = claims.get("organizations")?.as_array()?;
    let data = userinfo
        .get("organization_data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let roles: Vec<&str> = claims
        .get("organization_roles")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Some(
        ids.iter()
            .filter_map(Value::as_str)
            .map(|id| pages::OrganizationView {
                id: id.to_owned(),
                name: data
                    .iter()
                    .find(|o| o["id"] == id)
                    .and_then(|o| o["name"].as_str())
                    .unwrap_or(id)
                    .to_owned(),
                roles: roles
                    .iter()
                    .filter_map(|r| r.strip_prefix(id)?.strip_prefix(':'))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
    )
}

async fn profile_json(State(state): State<AppState>, session: Session) -> Response {
    match profile_data(&state, session).await {
        Ok((claims, userinfo)) => {
            Json(json!({ "id_token_claims": claims, "userinfo": userinfo })).into_response()
        }
        Err(error) => error_json(&error),
    }
}

/// The access token for the first configured API resource, and its claims; `None` when no
/// API resource is configured.
async fn api_token_data(
    state: &AppState,
    session: Session,
) -> Option<Result<(String, String, Value), LogtoError>> {
    let resource = state.core.config().resources.first()?.clone();
    let client = client(state, session);
    Some(
        async {
            let token = client.get_access_token(Some(&resource)).await?;
            let claims = logto::access_token_claims(&token)?;
            Ok((resource, token, claims))
        }
        .await,
    )
}

async fn api_token(State(state): State<AppState>, session: Session) -> Response {
    match api_token_data(&state, session).await {
        None => pages::no_api_resource(),
        Some(Ok((resource, token, claims))) => page(
            StatusCode::OK,
            &pages::ApiToken {
                // Logto leaves `scope` out when the user's roles grant none of those asked.
                scope: claims
                    .get("scope")
                    .and_then(Value::as_str)
                    .unwrap_or("(none)")
                    .to_owned(),
                claims: pretty(&claims),
                resource,
                token,
            },
        ),
        Some(Err(error)) => error_page(&error),
    }
}

async fn api_token_json(State(state): State<AppState>, session: Session) -> Response {
    match api_token_data(&state, session).await {
        None => pages::no_api_resource_json(),
        Some(Ok((resource, token, claims))) => Json(json!({
            "resource": resource,
            "access_token": token,
            "claims": claims,
        }))
        .into_response(),
        Some(Err(error)) => error_json(&error),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

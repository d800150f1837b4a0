//! `/api/users/{id}/roles`: a user's roles, as Logto's Management API lists, assigns and
//! removes them. Only `User` roles go to users (422 `user.invalid_role_type` for a
//! machine-to-machine one); assigning a role the user has is a no-op (201 all the same);
//! an unknown role id is 404 `entity.not_exists_with_id`; removing a role the user has not is
//! 404 `entity.not_found`. The roles' names are the `roles` claim of the next tokens, their
//! scopes those of the next API access tokens.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::users::find;
use super::{answer, error, invalid_body, json, not_found};
use crate::guard::{self, Shape, required};
use crate::state::IdpState;
use crate::tenant::Role;

const ASSIGN: Shape = Shape::Object(&[required("roleIds", Shape::Array(&Shape::NonEmptyStr))]);

/// A role as Logto's Management API shows it.
fn role_json(role: &Role) -> Value {
    json!({
        "tenantId": "default",
        "id": role.id,
        "name": role.name,
        "description": role.description,
        "type": role.role_type,
        "isDefault": false,
    })
}

/// `GET /api/users/{id}/roles`.
pub(crate) async fn list(
    State(state): State<IdpState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let listed = (|| {
        find(&state, &id)?;
        let params = super::query_params(query);
        let page = super::search::Page::from_params(&params)?;
        let tenant = state.tenant();
        let roles: Vec<&Role> = tenant
            .roles
            .iter()
            .filter(|r| r.role_type == "User" && r.user_ids.contains(&id))
            .collect();
        let items: Vec<Value> = page.slice(&roles).iter().map(|r| role_json(r)).collect();
        let mut response = json(Value::Array(items));
        page.headers(
            response.headers_mut(),
            &format!("{}/api/users/{id}/roles", state.origin),
            &params,
            roles.len(),
        );
        Ok(response)
    })();
    answer(&state, listed)
}

/// `POST /api/users/{id}/roles` `{"roleIds": […]}`.
pub(crate) async fn assign(
    State(state): State<IdpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let assigned = (|| {
        find(&state, &id)?;
        let body = guard::check(&headers, &bytes, &ASSIGN).map_err(invalid_body)?;
        let role_ids: Vec<String> = body["roleIds"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut tenant = state.tenant_mut();
        // Logto checks the type of the roles it found first, then that it found them all.
        let found: Vec<&Role> = tenant
            .roles
            .iter()
            .filter(|r| role_ids.contains(&r.id))
            .collect();
        if found.iter().any(|r| r.role_type != "User") {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "user.invalid_role_type",
                "Invalid role type, can not assign machine-to-machine role to user.",
            ));
        }
        if let Some(missing) = role_ids
            .iter()
            .find(|id| !found.iter().any(|r| &r.id == *id))
        {
            return Err(error(
                StatusCode::NOT_FOUND,
                "entity.not_exists_with_id",
                &format!("The roles with ID `{missing}` does not exist."),
            ));
        }
        for role in tenant.roles.iter_mut().filter(|r| role_ids.contains(&r.id)) {
            if !role.user_ids.contains(&id) {
                role.user_ids.push(id.clone());
            }
        }
        drop(tenant);
        state.events.push(
            "user.roles_assigned",
            json!({"account_id": id, "role_ids": role_ids}),
        );
        Ok(StatusCode::CREATED.into_response())
    })();
    answer(&state, assigned)
}

/// `DELETE /api/users/{id}/roles/{role_id}`.
pub(crate) async fn remove(
    State(state): State<IdpState>,
    Path((id, role_id)): Path<(String, String)>,
) -> Response {
    let removed = (|| {
        find(&state, &id)?;
        let mut tenant = state.tenant_mut();
        let role = tenant
            .roles
            .iter_mut()
            .find(|r| r.id == role_id && r.user_ids.contains(&id))
            .ok_or_else(not_found)?;
        role.user_ids.retain(|u| *u != id);
        drop(tenant);
        state.events.push(
            "user.role_removed",
            json!({"account_id": id, "role_id": role_id}),
        );
        Ok(StatusCode::NO_CONTENT.into_response())
    })();
    answer(&state, removed)
}

//! Organizations in Logto's Management API, the routes apps use: a user's organizations with
//! their roles there, an organization's members (paged, `q` searching them), adding and
//! removing members. An organization is `{tenantId, id, name, description, customData,
//! isMfaRequired, createdAt}`; each answer adds `organizationRoles: [{id, name}]`, sorted by
//! name.
//!
//! - `GET /api/users/{id}/organizations`: not paged; an unknown user is 404.
//! - `GET /api/organizations/{id}/users`: the members (user objects without `hasPassword`),
//!   paged; Logto does not look the organization up, so an unknown one has no members.
//! - `POST /api/organizations/{id}/users` `{"userIds": […]}`: 201; members already there stay
//!   as they are; an unknown user or organization is 422
//!   `entity.relation_foreign_key_not_found`.
//! - `DELETE /api/organizations/{id}/users/{userId}`: 204; not a member, 404.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::users::{find, user_json};
use super::{answer, error, invalid_body, json, not_found};
use crate::guard::{self, Shape, required};
use crate::state::IdpState;
use crate::tenant::{Organization, Tenant};

const ADD_MEMBERS: Shape = Shape::Object(&[required("userIds", Shape::Array(&Shape::NonEmptyStr))]);

fn organization_json(organization: &Organization) -> Value {
    json!({
        "tenantId": "default",
        "id": organization.id,
        "name": organization.name,
        "description": organization.description,
        "customData": organization.custom_data,
        "isMfaRequired": organization.is_mfa_required,
        "createdAt": organization.created_at,
    })
}

/// The user's roles in the organization as `[{id, name}]`, by name.
fn roles_json(tenant: &Tenant, organization: &Organization, user_id: &str) -> Value {
    Value::Array(
        tenant
            .organization_roles_of(organization, user_id)
            .iter()
            .map(|r| json!({"id": r.id, "name": r.name}))
            .collect(),
    )
}

/// `object` with `organizationRoles` added.
fn with_roles(mut object: Value, roles: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.insert("organizationRoles".into(), roles);
    }
    object
}

/// `GET /api/users/{id}/organizations`.
pub(crate) async fn of_user(State(state): State<IdpState>, Path(id): Path<String>) -> Response {
    let listed = (|| {
        find(&state, &id)?;
        let tenant = state.tenant();
        let organizations: Vec<Value> = tenant
            .organizations_of(&id)
            .into_iter()
            .map(|o| with_roles(organization_json(o), roles_json(&tenant, o, &id)))
            .collect();
        Ok(json(Value::Array(organizations)))
    })();
    answer(&state, listed)
}

/// `GET /api/organizations/{id}/users`.
pub(crate) async fn members(
    State(state): State<IdpState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let listed = (|| {
        let params = super::query_params(query);
        let page = super::search::Page::from_params(&params)?;
        let q = params
            .iter()
            .find(|(k, _)| k == "q")
            .map(|(_, v)| v.to_lowercase());
        let tenant = state.tenant();
        // Logto does not look the organization up: an unknown one has no members.
        let members = tenant
            .organization(&id)
            .into_iter()
            .flat_map(|organization| {
                organization
                    .members
                    .iter()
                    .filter_map(|m| tenant.user(&m.user_id))
                    .map(move |u| (organization, u))
            });
        let users: Vec<Value> = members
            .filter(|(_, u)| {
                q.as_deref().is_none_or(|q| {
                    [
                        Some(u.id.as_str()),
                        u.primary_email.as_deref(),
                        u.primary_phone.as_deref(),
                        u.username.as_deref(),
                        u.name.as_deref(),
                    ]
                    .into_iter()
                    .flatten()
                    .any(|field| field.to_lowercase().contains(q))
                })
            })
            .map(|(organization, u)| {
                with_roles(
                    user_json(u, false),
                    roles_json(&tenant, organization, &u.id),
                )
            })
            .collect();
        let mut response = json(Value::Array(page.slice(&users).to_vec()));
        page.headers(
            response.headers_mut(),
            &format!("{}/api/organizations/{id}/users", state.origin),
            &params,
            users.len(),
        );
        Ok(response)
    })();
    answer(&state, listed)
}

/// `POST /api/organizations/{id}/users`.
pub(crate) async fn add_members(
    State(state): State<IdpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let added = (|| {
        let body = guard::check(&headers, &bytes, &ADD_MEMBERS).map_err(invalid_body)?;
        let user_ids: Vec<String> = body["userIds"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut tenant = state.tenant_mut();
        let unknown_user = user_ids.iter().any(|u| tenant.user(u).is_none());
        let Some(organization) = tenant
            .organizations
            .iter_mut()
            .find(|o| o.id == id)
            .filter(|_| !unknown_user)
        else {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "entity.relation_foreign_key_not_found",
                "Cannot find one or more foreign keys. Please check the input and try again.",
            ));
        };
        for user_id in &user_ids {
            if organization.member_of(user_id).is_none() {
                organization.members.push(crate::tenant::Member {
                    user_id: user_id.clone(),
                    organization_roles: Vec::new(),
                });
            }
        }
        drop(tenant);
        state.events.push(
            "organization.members_added",
            json!({"organization_id": id, "user_ids": user_ids}),
        );
        Ok(StatusCode::CREATED.into_response())
    })();
    answer(&state, added)
}

/// `DELETE /api/organizations/{id}/users/{user_id}`.
pub(crate) async fn remove_member(
    State(state): State<IdpState>,
    Path((id, user_id)): Path<(String, String)>,
) -> Response {
    let removed = (|| {
        let mut tenant = state.tenant_mut();
        let organization = tenant
            .organizations
            .iter_mut()
            .find(|o| o.id == id && o.member_of(&user_id).is_some())
            .ok_or_else(not_found)?;
        organization.members.retain(|m| m.user_id != user_id);
        drop(tenant);
        state.events.push(
            "organization.member_removed",
            json!({"organization_id": id, "user_id": user_id}),
        );
        Ok(StatusCode::NO_CONTENT.into_response())
    })();
    answer(&state, removed)
}

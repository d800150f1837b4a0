//! Which claims each scope releases, and their values, as Logto maps a user to claims
//! (packages/toolkit/core-kit/src/openid.ts, packages/core/src/oidc/scope.ts).
//!
//! `name`, `picture`, `username` and `email` are present as `null` when unset; profile claims
//! from `user.profile` are omitted when unset; `created_at` / `updated_at` are epoch
//! milliseconds; `email_verified` is whether the user has a primary email; `roles` is the names
//! of the user's roles; `urn:logto:scope:organizations` gives `organizations` (ids) and, at
//! userinfo only, `organization_data`; `urn:logto:scope:organization_roles` gives
//! `organization_roles`. The ID token carries `roles`, `organizations` and
//! `organization_roles` as a tenant seeded with Logto's default
//! `idToken.enabledExtendedClaims` does.

use serde_json::{Map, Value};

use crate::tenant::User;

/// The scopes this mock releases claims for (and advertises).
pub(crate) const SCOPES: &[&str] = &[
    "openid",
    "offline_access",
    "profile",
    "email",
    "phone",
    "custom_data",
    "identities",
    "roles",
    ORGANIZATIONS_SCOPE,
    ORGANIZATION_ROLES_SCOPE,
];

/// Logto's organizations scope: `organizations` (and, at userinfo, `organization_data`).
pub(crate) const ORGANIZATIONS_SCOPE: &str = "urn:logto:scope:organizations";
/// Logto's organization roles scope: `organization_roles` (`"<orgId>:<roleName>"`).
pub(crate) const ORGANIZATION_ROLES_SCOPE: &str = "urn:logto:scope:organization_roles";

/// Every claim this mock can release (discovery's `claims_supported`).
pub(crate) const CLAIMS: &[&str] = &[
    "sub",
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
    "username",
    "created_at",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "custom_data",
    "identities",
    "roles",
    "organizations",
    "organization_data",
    "organization_roles",
    "iss",
];

/// The claims that come from the tenant rather than the user row: roles and organizations.
#[derive(Clone, Debug, Default)]
pub(crate) struct Extended {
    /// Names of the user's roles.
    pub roles: Vec<String>,
    /// Ids of the user's organizations.
    pub organizations: Vec<String>,
    /// `{id, name, description}` of each.
    pub organization_data: Vec<Value>,
    /// `"<orgId>:<roleName>"`, role names sorted within each organization.
    pub organization_roles: Vec<String>,
}

impl Extended {
    /// What the tenant says of user `user_id`.
    pub(crate) fn of(tenant: &crate::tenant::Tenant, user_id: &str) -> Self {
        let organizations = tenant.organizations_of(user_id);
        Self {
            roles: tenant.role_names(user_id),
            organizations: organizations.iter().map(|o| o.id.clone()).collect(),
            organization_data: organizations
                .iter()
                .map(|o| serde_json::json!({"id": o.id, "name": o.name, "description": o.description}))
                .collect(),
            organization_roles: organizations
                .iter()
                .flat_map(|o| {
                    tenant
                        .organization_roles_of(o, user_id)
                        .into_iter()
                        .map(|r| format!("{}:{}", o.id, r.name))
                })
                .collect(),
        }
    }
}

/// Where the claim is going: the ID token, or the userinfo endpoint (which also releases
/// `custom_data` and `identities`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Audience {
    IdToken,
    Userinfo,
}

/// The user's claims for `scopes`, `sub` first; `extended` is what the tenant says of them.
pub(crate) fn for_scopes(
    user: &User,
    extended: &Extended,
    scopes: &[String],
    audience: Audience,
) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::String(user.id.clone()));
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    let text = |value: &Option<String>| value.clone().map_or(Value::Null, Value::String);
    if has("profile") {
        claims.insert("name".into(), text(&user.name));
        for (claim, key) in [
            ("family_name", "familyName"),
            ("given_name", "givenName"),
            ("middle_name", "middleName"),
            ("nickname", "nickname"),
        ] {
            profile_claim(&mut claims, user, claim, key);
        }
        let preferred = user
            .profile
            .get("preferredUsername")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| user.username.clone());
        if let Some(preferred) = preferred {
            claims.insert("preferred_username".into(), Value::String(preferred));
        }
        for (claim, key) in [
            ("profile", "profile"),
            ("website", "website"),
            ("gender", "gender"),
            ("birthdate", "birthdate"),
            ("zoneinfo", "zoneinfo"),
            ("locale", "locale"),
        ] {
            profile_claim(&mut claims, user, claim, key);
        }
        claims.insert("picture".into(), text(&user.avatar));
        claims.insert("updated_at".into(), Value::from(user.updated_at));
        claims.insert("username".into(), text(&user.username));
        claims.insert("created_at".into(), Value::from(user.created_at));
    }
    if has("email") {
        claims.insert("email".into(), text(&user.primary_email));
        claims.insert(
            "email_verified".into(),
            Value::Bool(user.primary_email.is_some()),
        );
    }
    if has("phone") {
        claims.insert("phone_number".into(), text(&user.primary_phone));
        claims.insert(
            "phone_number_verified".into(),
            Value::Bool(user.primary_phone.is_some()),
        );
    }
    if has("roles") {
        claims.insert("roles".into(), Value::from(extended.roles.clone()));
    }
    if has(ORGANIZATIONS_SCOPE) {
        claims.insert(
            "organizations".into(),
            Value::from(extended.organizations.clone()),
        );
        if audience == Audience::Userinfo {
            claims.insert(
                "organization_data".into(),
                Value::from(extended.organization_data.clone()),
            );
        }
    }
    if has(ORGANIZATION_ROLES_SCOPE) {
        claims.insert(
            "organization_roles".into(),
            Value::from(extended.organization_roles.clone()),
        );
    }
    if audience == Audience::Userinfo {
        if has("custom_data") {
            claims.insert("custom_data".into(), user.custom_data.clone());
        }
        if has("identities") {
            claims.insert("identities".into(), user.identities.clone());
        }
    }
    claims
}

fn profile_claim(claims: &mut Map<String, Value>, user: &User, claim: &str, key: &str) {
    if let Some(value) = user.profile.get(key).filter(|v| !v.is_null()) {
        claims.insert(claim.to_owned(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_roles_scope_releases_role_names_to_both_audiences() {
        let user = User::email("a@example.com").id("abcdefghijkl");
        let roles = Extended {
            roles: vec!["reader".to_owned(), "writer".to_owned()],
            ..Extended::default()
        };
        for audience in [Audience::IdToken, Audience::Userinfo] {
            let claims = for_scopes(&user, &roles, &scopes(&["openid", "roles"]), audience);
            assert_eq!(claims["roles"], json!(["reader", "writer"]));
            let none = for_scopes(
                &user,
                &Extended::default(),
                &scopes(&["openid", "roles"]),
                audience,
            );
            assert_eq!(
                none["roles"],
                json!([]),
                "an empty list, not a missing claim"
            );
        }
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn profile_and_email_claims_follow_logto() {
        let mut user = User::email("alice@example.com").id("abcdefghijkl");
        user.created_at = 1_650_969_000_000;
        user.updated_at = 1_650_969_000_001;
        user.profile = json!({"givenName": "Alice"});
        let claims = for_scopes(
            &user,
            &Extended::default(),
            &scopes(&["openid", "profile", "email"]),
            Audience::IdToken,
        );
        assert_eq!(
            Value::Object(claims),
            json!({
                "sub": "abcdefghijkl", "name": null, "given_name": "Alice", "picture": null,
                "updated_at": 1_650_969_000_001_i64, "username": null,
                "created_at": 1_650_969_000_000_i64, "email": "alice@example.com",
                "email_verified": true,
            })
        );
    }

    #[test]
    fn only_sub_without_claim_scopes_and_custom_data_only_at_userinfo() {
        let user = User::email("a@example.com").id("abcdefghijkl");
        let reader = Extended {
            roles: vec!["reader".to_owned()],
            ..Extended::default()
        };
        let claims = for_scopes(&user, &reader, &scopes(&["openid"]), Audience::IdToken);
        assert_eq!(Value::Object(claims), json!({"sub": "abcdefghijkl"}));
        let scopes = scopes(&["openid", "custom_data"]);
        let none = Extended::default();
        assert!(!for_scopes(&user, &none, &scopes, Audience::IdToken).contains_key("custom_data"));
        assert!(for_scopes(&user, &none, &scopes, Audience::Userinfo).contains_key("custom_data"));
    }
}

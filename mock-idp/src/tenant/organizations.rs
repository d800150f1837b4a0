//! Organizations, as a Logto tenant keeps them: organizations and their members, the
//! tenant-wide organization roles (the organization template) and organization scopes.
//!
//! Logto keeps memberships and members' roles in relation tables
//! (`organization_user_relations`, `organization_role_user_relations`); the tenant JSON
//! keeps them on the organization, as `members: [{"userId", "organizationRoles": [names]}]`,
//! the way roles keep `userIds`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Tenant, TenantError};

/// An organization (Logto's `organizations` row) and its members.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// Id (21 characters in Logto).
    #[serde(default)]
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Free-form data.
    #[serde(default = "empty_object")]
    pub custom_data: Value,
    /// Whether members need MFA (the mock has no MFA: a member of such an organization gets
    /// no organization token).
    #[serde(default)]
    pub is_mfa_required: bool,
    /// Epoch milliseconds.
    #[serde(default)]
    pub created_at: i64,
    /// Who belongs, with their organization roles.
    #[serde(default)]
    pub members: Vec<Member>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// A member of an organization and the names of their organization roles there.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The user's id.
    pub user_id: String,
    /// Names of organization roles (of the tenant's `organizationRoles`).
    #[serde(default)]
    pub organization_roles: Vec<String>,
}

/// An organization role (the organization template): organization scopes it grants.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationRole {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Name, unique in the tenant.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// `User` (the mock has no machine-to-machine organization roles yet).
    #[serde(rename = "type", default = "user_type")]
    pub role_type: String,
    /// Names of the organization scopes it grants.
    #[serde(default)]
    pub scopes: Vec<String>,
}

fn user_type() -> String {
    "User".to_owned()
}

/// An organization scope (a permission of the organization template).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationScope {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Name, unique in the tenant (e.g. `read:members`).
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

impl Organization {
    /// An organization named `name` with no members yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            id: String::new(),
            name: name.into(),
            description: None,
            custom_data: empty_object(),
            is_mfa_required: false,
            created_at: 0,
            members: Vec::new(),
        }
    }

    /// With this id (else one is drawn from the seeded generator).
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Adds a member (by user id or email; an email is looked up when the mock starts) with
    /// these organization roles.
    #[must_use]
    pub fn member(mut self, user: impl Into<String>, roles: &[&str]) -> Self {
        self.members.push(Member {
            user_id: user.into(),
            organization_roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        });
        self
    }

    /// The member with this user id.
    pub fn member_of(&self, user_id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.user_id == user_id)
    }
}

impl OrganizationRole {
    /// An organization role named `name`, granting no scopes yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            id: String::new(),
            name: name.into(),
            description: None,
            role_type: user_type(),
            scopes: Vec::new(),
        }
    }

    /// Grants this organization scope (added to the tenant's organization scopes when the
    /// mock starts, if it has not got it).
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }
}

impl Tenant {
    /// The organization with this id.
    pub fn organization(&self, id: &str) -> Option<&Organization> {
        self.organizations.iter().find(|o| o.id == id)
    }

    /// The organizations the user belongs to, in the tenant's order.
    pub fn organizations_of(&self, user_id: &str) -> Vec<&Organization> {
        self.organizations
            .iter()
            .filter(|o| o.member_of(user_id).is_some())
            .collect()
    }

    /// The user's organization roles in `organization`, sorted by name as Logto sorts them.
    pub fn organization_roles_of(
        &self,
        organization: &Organization,
        user_id: &str,
    ) -> Vec<&OrganizationRole> {
        let mut roles: Vec<&OrganizationRole> = organization
            .member_of(user_id)
            .map(|m| {
                self.organization_roles
                    .iter()
                    .filter(|r| m.organization_roles.contains(&r.name))
                    .collect()
            })
            .unwrap_or_default();
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        roles
    }

    /// The organization scopes the user's roles in `organization` grant, in the order of the
    /// tenant's organization scopes.
    pub fn organization_scopes_of(
        &self,
        organization: &Organization,
        user_id: &str,
    ) -> Vec<String> {
        let roles = self.organization_roles_of(organization, user_id);
        self.organization_scopes
            .iter()
            .filter(|s| roles.iter().any(|r| r.scopes.contains(&s.name)))
            .map(|s| s.name.clone())
            .collect()
    }

    /// Whether `name` is an organization scope of the tenant.
    pub fn is_organization_scope(&self, name: &str) -> bool {
        self.organization_scopes.iter().any(|s| s.name == name)
    }

    /// Checks organizations against the tenant: roles and scopes exist, names are unique.
    /// (Members who are not users are checked for what a builder adds; a tenant section that
    /// replaces the users leaves them matching no one, as Logto's cascade would remove them.)
    pub(crate) fn validate_organizations(&self) -> Result<(), TenantError> {
        for role in &self.organization_roles {
            if let Some(scope) = role.scopes.iter().find(|s| !self.is_organization_scope(s)) {
                return Err(TenantError(format!(
                    "the organization role {:?} grants {scope:?}, which is not one of the \
                     tenant's organizationScopes",
                    role.name
                )));
            }
            if role.role_type != "User" {
                return Err(TenantError(format!(
                    "the organization role {:?} has type {:?}; this mock serves User \
                     organization roles only",
                    role.name, role.role_type
                )));
            }
        }
        let mut ids = std::collections::HashSet::new();
        for organization in &self.organizations {
            if !ids.insert(&organization.id) {
                return Err(TenantError(format!(
                    "two organizations have the id {:?}",
                    organization.id
                )));
            }
        }
        let mut names = std::collections::HashSet::new();
        for role in &self.organization_roles {
            if !names.insert(&role.name) {
                return Err(TenantError(format!(
                    "two organization roles are named {:?}",
                    role.name
                )));
            }
        }
        for organization in &self.organizations {
            for member in &organization.members {
                let unknown = member
                    .organization_roles
                    .iter()
                    .find(|r| !self.organization_roles.iter().any(|o| &o.name == *r));
                if let Some(role) = unknown {
                    return Err(TenantError(format!(
                        "the organization {:?} gives {:?} the organization role {role:?}, which \
                         is not one of the tenant's organizationRoles",
                        organization.name, member.user_id
                    )));
                }
            }
        }
        Ok(())
    }
}

//! Webhooks as a Logto tenant keeps them (the `hooks` table, the Management API's shape):
//! which events go to which URL, signed with which key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A webhook.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    /// Id (21 characters in Logto).
    #[serde(default)]
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// The events it gets: `PostRegister`, `PostSignIn`, `PostResetPassword` are the ones this
    /// mock sends.
    #[serde(default)]
    pub events: Vec<String>,
    /// Where and how.
    pub config: HookConfig,
    /// The HMAC-SHA256 key of `logto-signature-sha-256` (no header when empty).
    #[serde(default)]
    pub signing_key: String,
    /// A disabled hook gets nothing.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Epoch milliseconds.
    #[serde(default)]
    pub created_at: i64,
}

fn enabled() -> bool {
    true
}

/// `config`: the URL, extra headers, and (deprecated in Logto, fixed at 3) retries.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookConfig {
    /// Where the events are POSTed.
    pub url: String,
    /// Headers added to each delivery (they may replace `user-agent` and `content-type`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Retries after a 5xx answer, 0 to 3 (Logto's default and maximum: 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u8>,
}

/// Logto's hook events (its `HookEvent`: interaction, data and exception hooks).
pub const EVENTS: &[&str] = &[
    "PostRegister",
    "PostSignIn",
    "PostResetPassword",
    "PostSignInAdaptiveMfaTriggered",
    "User.Created",
    "User.Deleted",
    "User.Data.Updated",
    "User.SuspensionStatus.Updated",
    "Role.Created",
    "Role.Deleted",
    "Role.Data.Updated",
    "Role.Scopes.Updated",
    "Scope.Created",
    "Scope.Deleted",
    "Scope.Data.Updated",
    "Organization.Created",
    "Organization.Deleted",
    "Organization.Data.Updated",
    "Organization.Membership.Updated",
    "OrganizationRole.Created",
    "OrganizationRole.Deleted",
    "OrganizationRole.Data.Updated",
    "OrganizationRole.Scopes.Updated",
    "OrganizationScope.Created",
    "OrganizationScope.Deleted",
    "OrganizationScope.Data.Updated",
    "Identifier.Lockout",
    "Message.RateLimited",
];

/// The events this mock sends.
pub const SENT: &[&str] = &["PostRegister", "PostSignIn", "PostResetPassword"];

impl Hook {
    /// A hook POSTing `events` to `url`, signed with `signing_key`.
    pub fn new(url: impl Into<String>, events: &[&str], signing_key: impl Into<String>) -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            config: HookConfig {
                url: url.into(),
                ..HookConfig::default()
            },
            signing_key: signing_key.into(),
            enabled: true,
            created_at: 0,
        }
    }

    /// Whether it gets `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.enabled && self.events.iter().any(|e| e == event)
    }
}

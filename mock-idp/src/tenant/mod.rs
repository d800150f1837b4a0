//! The tenant: applications, users, API resources, roles, sign-in experience, connectors and
//! signing keys, in Logto's own JSON shapes (the Management API's objects), so a tenant can be
//! described the way Logto describes it.
//!
//! The default tenant is `fixtures/logto/tenant.json`, embedded at compile time. A config file
//! (`--config FILE`, [`Tenant::from_json_over_fixtures`]) replaces the fixture's top-level
//! sections it contains and keeps the others; the builder adds to or replaces what it is given.

mod hooks;
mod organizations;

pub use hooks::{Hook, HookConfig};
pub use organizations::{Member, Organization, OrganizationRole, OrganizationScope};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fixtures;

pub use crate::experience::password_policy::{
    CharacterTypesPolicy, LengthPolicy, PasswordPolicy, RejectsPolicy,
};

/// A Logto tenant's configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// OIDC clients.
    #[serde(default)]
    pub applications: Vec<Application>,
    /// Accounts that can sign in.
    #[serde(default)]
    pub users: Vec<User>,
    /// API resources (RFC 8707 resource indicators) and their scopes.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// Roles: which API scopes which users get.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Organizations and their members.
    #[serde(default)]
    pub organizations: Vec<Organization>,
    /// The organization template's roles.
    #[serde(default)]
    pub organization_roles: Vec<OrganizationRole>,
    /// The organization template's scopes.
    #[serde(default)]
    pub organization_scopes: Vec<OrganizationScope>,
    /// Webhooks.
    #[serde(default)]
    pub hooks: Vec<Hook>,
    /// How users sign up and sign in.
    pub sign_in_experience: SignInExperience,
    /// Connectors (the Postmark email connector).
    #[serde(default)]
    pub connectors: Vec<Connector>,
    /// Logto's `logto_configs` rows that matter here (the OIDC signing keys).
    #[serde(default)]
    pub logto_configs: LogtoConfigs,
}

/// Logto's application types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplicationType {
    /// A native app: public client, PKCE required.
    Native,
    /// A single-page app: public client, PKCE required.
    #[serde(rename = "SPA")]
    Spa,
    /// A traditional web app: confidential client with a secret.
    Traditional,
    /// Machine to machine: a confidential client of the `client_credentials` grant only.
    MachineToMachine,
    /// A protected app (not served by this mock).
    Protected,
    /// A SAML app (not served by this mock).
    #[serde(rename = "SAML")]
    Saml,
}

/// An application (OIDC client), as Logto's Management API returns it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// Client id: 21 characters `[0-9a-z]` in Logto.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Application type.
    #[serde(rename = "type")]
    pub app_type: ApplicationType,
    /// Client secret (traditional web apps): 32 characters `[0-9A-Za-z]` in Logto.
    #[serde(default)]
    pub secret: Option<String>,
    /// Redirect URIs and post sign-out redirect URIs.
    pub oidc_client_metadata: OidcClientMetadata,
    /// Token lifetimes and refresh-token behaviour.
    #[serde(default)]
    pub custom_client_metadata: CustomClientMetadata,
    /// Third-party apps need explicit consent; first-party apps are auto-consented.
    #[serde(default)]
    pub is_third_party: bool,
    /// Epoch milliseconds.
    #[serde(default)]
    pub created_at: i64,
}

/// `oidcClientMetadata`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OidcClientMetadata {
    /// Registered redirect URIs (matched exactly).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Registered post sign-out redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
}

/// `customClientMetadata`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomClientMetadata {
    /// ID token lifetime in seconds (Logto's default: 3600).
    #[serde(default)]
    pub id_token_ttl: Option<u64>,
    /// Refresh token lifetime in days (Logto's default: 14).
    #[serde(default)]
    pub refresh_token_ttl_in_days: Option<u64>,
    /// Rotate refresh tokens (Logto's default: true).
    #[serde(default)]
    pub rotate_refresh_token: Option<bool>,
    /// Issue a refresh token even without `offline_access`.
    #[serde(default)]
    pub always_issue_refresh_token: Option<bool>,
}

impl Application {
    /// A machine-to-machine application (`client_credentials`) with this id and secret; give
    /// it scopes through a `MachineToMachine` role ([`Role::machine_to_machine`]).
    pub fn machine_to_machine(id: impl Into<String>, secret: impl Into<String>) -> Self {
        let id = id.into();
        Self {
            name: format!("Machine-to-machine app {id}"),
            id,
            description: None,
            app_type: ApplicationType::MachineToMachine,
            secret: Some(secret.into()),
            oidc_client_metadata: OidcClientMetadata::default(),
            custom_client_metadata: CustomClientMetadata::default(),
            is_third_party: false,
            created_at: 0,
        }
    }

    /// Whether the client authenticates with a secret (traditional web and machine-to-machine
    /// apps, `client_secret_basic` in Logto's metadata).
    pub fn is_confidential(&self) -> bool {
        matches!(
            self.app_type,
            ApplicationType::Traditional | ApplicationType::MachineToMachine
        )
    }

    /// The grant types Logto gives this type of application: `client_credentials` for
    /// machine-to-machine apps, the code and refresh grants for the others.
    pub fn grant_types(&self) -> &'static [&'static str] {
        match self.app_type {
            ApplicationType::MachineToMachine => &["client_credentials"],
            _ => &["authorization_code", "refresh_token"],
        }
    }

    /// ID token lifetime, seconds.
    pub fn id_token_ttl(&self) -> u64 {
        self.custom_client_metadata.id_token_ttl.unwrap_or(3600)
    }
}

/// A user, as Logto's Management API returns it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// 12 characters `[0-9a-z]`; left empty, the mock draws one from the seeded generator.
    #[serde(default)]
    pub id: String,
    /// Username.
    #[serde(default)]
    pub username: Option<String>,
    /// Primary email: what email sign-in uses.
    #[serde(default)]
    pub primary_email: Option<String>,
    /// Primary phone.
    #[serde(default)]
    pub primary_phone: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Avatar URL (`picture` claim).
    #[serde(default)]
    pub avatar: Option<String>,
    /// `custom_data` claim.
    #[serde(default = "empty_object")]
    pub custom_data: Value,
    /// Social identities.
    #[serde(default = "empty_object")]
    pub identities: Value,
    /// OIDC standard profile claims (`givenName`, `familyName`, `preferredUsername`, ...).
    #[serde(default = "empty_object")]
    pub profile: Value,
    /// The application the user registered through.
    #[serde(default)]
    pub application_id: Option<String>,
    /// Suspended users cannot sign in.
    #[serde(default)]
    pub is_suspended: bool,
    /// Epoch milliseconds.
    #[serde(default)]
    pub last_sign_in_at: Option<i64>,
    /// Epoch milliseconds.
    #[serde(default)]
    pub created_at: i64,
    /// Epoch milliseconds.
    #[serde(default)]
    pub updated_at: i64,
    /// The password's digest (`password_encrypted` in Logto's users table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_encrypted: Option<String>,
    /// How [`password_encrypted`](Self::password_encrypted) was made: `SHA256` is the one
    /// this mock verifies (Logto's Argon2i, Argon2id, Argon2d, Bcrypt, MD5, SHA1 and Legacy
    /// digests are refused when the tenant loads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_encryption_method: Option<String>,
    /// A password in clear, as Logto's `POST /api/users` takes it: replaced by its digest when
    /// the tenant loads (never written out).
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

impl User {
    /// A user who signs in with this email (id drawn at start, timestamps from the clock).
    ///
    /// ```
    /// use mock_idp::User;
    /// let alice = User::email("alice@example.com").name("Alice");
    /// assert_eq!(alice.primary_email.as_deref(), Some("alice@example.com"));
    /// ```
    pub fn email(address: impl Into<String>) -> Self {
        Self {
            primary_email: Some(address.into()),
            custom_data: empty_object(),
            identities: empty_object(),
            profile: empty_object(),
            ..Self::default()
        }
    }

    /// Sets the display name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the username.
    #[must_use]
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Gives the user a password (stored as its digest when the IdP starts).
    ///
    /// ```
    /// use mock_idp::User;
    /// let bob = User::email("bob@example.com").username("bob").password("correct horse 9");
    /// assert_eq!(bob.password.as_deref(), Some("correct horse 9"));
    /// ```
    #[must_use]
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Whether the user can sign in with a password.
    pub fn has_password(&self) -> bool {
        self.password.is_some() || self.password_encrypted.is_some()
    }

    /// Sets a fixed id (12 characters `[0-9a-z]` to look like Logto's).
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }
}

/// An API resource, with its scopes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The resource indicator (an absolute URI): `aud` of its access tokens.
    pub indicator: String,
    /// Whether a `client_credentials` request without `resource` gets this audience.
    #[serde(default)]
    pub is_default: bool,
    /// Access token lifetime, seconds (Logto's default: 3600).
    #[serde(default = "default_access_token_ttl")]
    pub access_token_ttl: u64,
    /// The resource's permissions.
    #[serde(default)]
    pub scopes: Vec<ResourceScope>,
}

fn default_access_token_ttl() -> u64 {
    3600
}

impl Resource {
    /// An API resource named `name` with this indicator (an absolute URI), Logto's default
    /// access-token lifetime (3600 s) and no scopes yet.
    pub fn new(name: impl Into<String>, indicator: impl Into<String>) -> Self {
        Self {
            id: String::new(),
            name: name.into(),
            indicator: indicator.into(),
            is_default: false,
            access_token_ttl: default_access_token_ttl(),
            scopes: Vec::new(),
        }
    }

    /// Adds a permission.
    #[must_use]
    pub fn scope(mut self, name: impl Into<String>) -> Self {
        self.scopes.push(ResourceScope {
            id: String::new(),
            name: name.into(),
            description: None,
        });
        self
    }

    /// Makes it the tenant's default API resource (a `client_credentials` request without
    /// `resource` gets it).
    #[must_use]
    pub fn default_resource(mut self) -> Self {
        self.is_default = true;
        self
    }

    /// Its access tokens' lifetime, seconds.
    #[must_use]
    pub fn access_token_ttl(mut self, secs: u64) -> Self {
        self.access_token_ttl = secs;
        self
    }
}

/// A permission of an API resource.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceScope {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// The scope value, e.g. `read:messages`.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A role: API scopes granted to the users who have it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// `User` or `MachineToMachine`.
    #[serde(rename = "type", default = "user_role")]
    pub role_type: String,
    /// The scopes the role grants, by resource indicator and scope name.
    #[serde(default)]
    pub scopes: Vec<RoleScope>,
    /// The users who have the role (Logto keeps this in `users_roles`; `User` roles only).
    #[serde(default)]
    pub user_ids: Vec<String>,
    /// The machine-to-machine apps that have the role (Logto's `applications_roles`;
    /// `MachineToMachine` roles only).
    #[serde(default)]
    pub application_ids: Vec<String>,
}

fn user_role() -> String {
    "User".to_owned()
}

impl Role {
    /// Whether the role makes sense in `tenant`: a type Logto has, members who are users, and
    /// scopes of the tenant's API resources (checked for roles a builder adds).
    pub fn check(&self, tenant: &Tenant) -> Result<(), TenantError> {
        if self.role_type != "User" && self.role_type != "MachineToMachine" {
            return Err(TenantError(format!(
                "the role {:?} has type {:?}; Logto's are User and MachineToMachine",
                self.name, self.role_type
            )));
        }
        if self.role_type == "User" && !self.application_ids.is_empty() {
            return Err(TenantError(format!(
                "the role {:?} is a User role; only MachineToMachine roles go to applications",
                self.name
            )));
        }
        if self.role_type == "MachineToMachine" && !self.user_ids.is_empty() {
            return Err(TenantError(format!(
                "the role {:?} is a MachineToMachine role; Logto gives those to applications, \
                 not users",
                self.name
            )));
        }
        let not_m2m = self.application_ids.iter().find(|id| {
            tenant
                .application(id)
                .is_none_or(|app| app.app_type != ApplicationType::MachineToMachine)
        });
        if let Some(id) = not_m2m {
            return Err(TenantError(format!(
                "the role {:?} is given to {id:?}, which is not a machine-to-machine application \
                 of the tenant",
                self.name
            )));
        }
        if let Some(id) = self.user_ids.iter().find(|id| tenant.user(id).is_none()) {
            return Err(TenantError(format!(
                "the role {:?} is given to {id:?}, who is not a user of the tenant",
                self.name
            )));
        }
        for scope in &self.scopes {
            let known = tenant
                .resource(&scope.resource_indicator)
                .is_some_and(|r| r.scopes.iter().any(|s| s.name == scope.name));
            if !known {
                return Err(TenantError(format!(
                    "the role {:?} grants {:?} of {:?}, which is not a scope of an API resource \
                     of the tenant",
                    self.name, scope.name, scope.resource_indicator
                )));
            }
        }
        Ok(())
    }

    /// A user role named `name`, with no scopes and no members yet.
    pub fn user(name: impl Into<String>) -> Self {
        Self {
            id: String::new(),
            name: name.into(),
            description: None,
            role_type: user_role(),
            scopes: Vec::new(),
            user_ids: Vec::new(),
            application_ids: Vec::new(),
        }
    }

    /// A machine-to-machine role named `name`, for applications ([`Role::application`]).
    pub fn machine_to_machine(name: impl Into<String>) -> Self {
        Self {
            role_type: "MachineToMachine".to_owned(),
            ..Self::user(name)
        }
    }

    /// Gives the (machine-to-machine) role to the application with this id.
    #[must_use]
    pub fn application(mut self, app_id: impl Into<String>) -> Self {
        self.application_ids.push(app_id.into());
        self
    }

    /// Grants `scope` of the API resource `indicator`.
    #[must_use]
    pub fn scope(mut self, indicator: impl Into<String>, scope: impl Into<String>) -> Self {
        self.scopes.push(RoleScope {
            resource_indicator: indicator.into(),
            name: scope.into(),
        });
        self
    }

    /// Gives the role to a user, by id or by email (an email is looked up when the mock
    /// starts; an unknown one stops the start).
    #[must_use]
    pub fn member(mut self, user: impl Into<String>) -> Self {
        self.user_ids.push(user.into());
        self
    }
}

/// One scope granted by a role.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleScope {
    /// The resource's indicator.
    pub resource_indicator: String,
    /// The scope name.
    pub name: String,
}

/// The sign-in experience (`GET /api/sign-in-exp`): what sign-up and sign-in ask for.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInExperience {
    /// Sign-up: identifiers, password, verification.
    pub sign_up: SignUp,
    /// Sign-in methods.
    pub sign_in: SignIn,
    /// Whether users may sign in, register, or both (default both).
    #[serde(default)]
    pub sign_in_mode: SignInMode,
    /// Failed password and code attempts before an identifier is locked out.
    #[serde(default)]
    pub sentinel_policy: SentinelPolicy,
    /// What new passwords must be (Logto's defaults when left out).
    #[serde(default)]
    pub password_policy: PasswordPolicy,
    /// How a forgotten password is reset: `["EmailVerificationCode"]`; left out (`null`),
    /// every method with a connector.
    #[serde(default)]
    pub forgot_password_methods: Option<Vec<String>>,
}

/// `signInMode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInMode {
    /// Sign-in only: registration answers `auth.forbidden`.
    SignIn,
    /// Registration only: sign-in answers `auth.forbidden`.
    Register,
    /// Both (Logto's default).
    #[default]
    SignInAndRegister,
}

/// `sentinelPolicy`: Logto locks an identifier out after `maxAttempts` failed verifications
/// (passwords and codes together) within an hour, for `lockoutDuration` minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentinelPolicy {
    /// Failures within an hour that lock the identifier (Logto's default: 100).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Minutes the lockout lasts (Logto's default: 60).
    #[serde(default = "default_lockout_minutes")]
    pub lockout_duration: u32,
}

fn default_max_attempts() -> u32 {
    100
}

fn default_lockout_minutes() -> u32 {
    60
}

impl Default for SentinelPolicy {
    fn default() -> Self {
        Self {
            max_attempts: default_max_attempts(),
            lockout_duration: default_lockout_minutes(),
        }
    }
}

/// `signUp`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignUp {
    /// e.g. `["email"]`.
    pub identifiers: Vec<String>,
    /// Whether sign-up asks for a password.
    pub password: bool,
    /// Whether the identifier is verified at sign-up.
    pub verify: bool,
}

/// `signIn`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    /// The enabled methods.
    pub methods: Vec<SignInMethod>,
}

/// One sign-in method.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInMethod {
    /// `email`, `phone` or `username`.
    pub identifier: String,
    /// Password sign-in.
    pub password: bool,
    /// Verification-code sign-in.
    pub verification_code: bool,
    /// Whether the password comes first in the UI.
    pub is_password_primary: bool,
}

/// A connector, as Logto's Management API returns it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Which connector: `postmark-mail` for Logto's Postmark connector.
    pub connector_id: String,
    /// The connector's own configuration.
    pub config: Value,
}

/// The `logto_configs` rows the mock reads.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LogtoConfigs {
    /// OIDC signing keys, all published; the first signs, unless
    /// [`MockIdpBuilder::signing_alg`](crate::MockIdpBuilder::signing_alg) (`--signing-alg`) picks
    /// the first key of another algorithm.
    #[serde(rename = "oidc.privateKeys", default)]
    pub oidc_private_keys: Vec<PrivateKey>,
}

/// One OIDC signing key (`oidc.privateKeys`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateKey {
    /// Id.
    pub id: String,
    /// PKCS#8 PEM (EC P-384 → ES384, RSA → RS256).
    pub value: String,
    /// Epoch milliseconds.
    #[serde(default)]
    pub created_at: i64,
}

/// Why a tenant could not be loaded.
#[derive(Debug)]
pub struct TenantError(pub String);

impl std::fmt::Display for TenantError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TenantError {}

impl From<TenantError> for std::io::Error {
    fn from(error: TenantError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, error.0)
    }
}

/// The longest refresh-token lifetime Logto accepts, days (`refreshTokenTtlInDays`: 1 to 730).
const MAX_REFRESH_TOKEN_TTL_DAYS: u64 = 730;
/// The longest ID or access token lifetime the mock accepts, seconds (ten years: far beyond any
/// real setting, far below where an expiry stops being a date).
const MAX_TOKEN_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

impl Tenant {
    /// The fixture tenant (`fixtures/logto/tenant.json`).
    pub fn fixture() -> Result<Self, TenantError> {
        serde_json::from_str(fixtures::LOGTO_TENANT)
            .map_err(|e| TenantError(format!("fixtures/logto/tenant.json: {e}")))
    }

    /// A config file's JSON over the fixture: each top-level section the file has replaces the
    /// fixture's; the others stay.
    pub fn from_json_over_fixtures(json: &str) -> Result<Self, TenantError> {
        let overrides: Value = serde_json::from_str(json)
            .map_err(|e| TenantError(format!("the tenant config is not valid JSON: {e}")))?;
        Self::fixture()?.with_sections(overrides)
    }

    /// This tenant with each top-level section of `sections` (a JSON object in Logto's
    /// shapes) replacing its own.
    pub fn with_sections(&self, sections: Value) -> Result<Self, TenantError> {
        let Value::Object(sections) = sections else {
            return Err(TenantError(
                "the tenant config must be a JSON object".into(),
            ));
        };
        let mut base = serde_json::to_value(self)
            .map_err(|e| TenantError(format!("the tenant does not serialise: {e}")))?;
        if let Value::Object(base) = &mut base {
            for (key, value) in sections {
                // A misspelt section would silently leave the fixture's in place.
                if !base.contains_key(&key) {
                    let known: Vec<&str> = base.keys().map(String::as_str).collect();
                    return Err(TenantError(format!(
                        "the tenant has no section {key:?}; its sections are {}",
                        known.join(", ")
                    )));
                }
                base.insert(key, value);
            }
        }
        serde_json::from_value(base).map_err(|e| {
            TenantError(format!(
                "the tenant config does not have Logto's shape: {e}"
            ))
        })
    }

    /// The application with this client id.
    pub fn application(&self, client_id: &str) -> Option<&Application> {
        self.applications.iter().find(|a| a.id == client_id)
    }

    /// The user with this id.
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The user whose primary email is `email` (any case).
    pub fn user_by_email(&self, email: &str) -> Option<&User> {
        self.users.iter().find(|u| {
            u.primary_email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
        })
    }

    /// The API resource with this indicator.
    pub fn resource(&self, indicator: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.indicator == indicator)
    }

    /// The names of the user's roles (the `roles` claim), in the tenant's order.
    pub fn role_names(&self, user_id: &str) -> Vec<String> {
        self.roles
            .iter()
            .filter(|r| r.role_type == "User" && r.user_ids.iter().any(|u| u == user_id))
            .map(|r| r.name.clone())
            .collect()
    }

    /// The scopes of API resource `indicator` that the application's machine-to-machine roles
    /// grant.
    pub fn application_scopes(&self, app_id: &str, indicator: &str) -> Vec<String> {
        let mut scopes: Vec<String> = Vec::new();
        let roles = self
            .roles
            .iter()
            .filter(|r| r.application_ids.iter().any(|a| a == app_id));
        for scope in roles
            .flat_map(|r| &r.scopes)
            .filter(|s| s.resource_indicator == indicator)
        {
            if !scopes.contains(&scope.name) {
                scopes.push(scope.name.clone());
            }
        }
        scopes
    }

    /// The tenant's default API resource (`isDefault`), if it has one.
    pub fn default_resource(&self) -> Option<&Resource> {
        self.resources.iter().find(|r| r.is_default)
    }

    /// The scopes of API resource `indicator` that the user's roles grant.
    pub fn granted_scopes(&self, user_id: &str, indicator: &str) -> Vec<String> {
        let mut scopes: Vec<String> = Vec::new();
        for role in self
            .roles
            .iter()
            .filter(|r| r.user_ids.iter().any(|u| u == user_id))
        {
            for scope in role
                .scopes
                .iter()
                .filter(|s| s.resource_indicator == indicator)
            {
                if !scopes.contains(&scope.name) {
                    scopes.push(scope.name.clone());
                }
            }
        }
        scopes
    }

    /// Replaces every clear `password` by its digest (what loading a tenant does).
    pub fn seal_passwords(&mut self) {
        for user in &mut self.users {
            crate::experience::password::seal(user);
        }
    }

    /// Checks what the mock relies on: unique ids and user emails, secrets for confidential apps, token
    /// lifetimes within bounds (refresh tokens 1 to 730 days, as Logto; ID and access tokens at
    /// most ten years), keys.
    pub fn validate(&self) -> Result<(), TenantError> {
        self.validate_organizations()?;
        for hook in &self.hooks {
            let url = &hook.config.url;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(TenantError(format!(
                    "the hook {:?} has the url {url:?}; Logto takes an http or https URL",
                    hook.id
                )));
            }
            if let Some(event) = hook
                .events
                .iter()
                .find(|e| !hooks::EVENTS.contains(&e.as_str()))
            {
                return Err(TenantError(format!(
                    "the hook {:?} wants {event:?}, which is not one of Logto's hook events \
                     (this mock sends {})",
                    hook.id,
                    hooks::SENT.join(", ")
                )));
            }
            if hook.events.is_empty() {
                return Err(TenantError(format!(
                    "the hook {:?} wants no event (Logto: hook.missing_events)",
                    hook.id
                )));
            }
            if hook.config.retries.is_some_and(|r| r > 3) {
                return Err(TenantError(format!(
                    "the hook {:?} has retries {:?}; Logto takes 0 to 3",
                    hook.id, hook.config.retries
                )));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for app in &self.applications {
            if !seen.insert(&app.id) {
                return Err(TenantError(format!(
                    "two applications have the id {:?}",
                    app.id
                )));
            }
            if app.is_confidential() && app.secret.as_deref().is_none_or(str::is_empty) {
                let kind = if app.app_type == ApplicationType::MachineToMachine {
                    "machine-to-machine"
                } else {
                    "traditional web"
                };
                return Err(TenantError(format!(
                    "the {kind} app {:?} needs a secret",
                    app.id
                )));
            }
            let metadata = &app.custom_client_metadata;
            if let Some(days) = metadata.refresh_token_ttl_in_days
                && !(1..=MAX_REFRESH_TOKEN_TTL_DAYS).contains(&days)
            {
                return Err(TenantError(format!(
                    "the application {:?} has refreshTokenTtlInDays {days}; Logto accepts 1 to \
                     {MAX_REFRESH_TOKEN_TTL_DAYS}",
                    app.id
                )));
            }
            if let Some(secs) = metadata.id_token_ttl
                && secs > MAX_TOKEN_TTL_SECS
            {
                return Err(TenantError(format!(
                    "the application {:?} has idTokenTtl {secs}; at most {MAX_TOKEN_TTL_SECS} \
                     seconds (ten years)",
                    app.id
                )));
            }
        }
        for resource in &self.resources {
            if resource.access_token_ttl > MAX_TOKEN_TTL_SECS {
                return Err(TenantError(format!(
                    "the API resource {:?} has accessTokenTtl {}; at most {MAX_TOKEN_TTL_SECS} \
                     seconds (ten years)",
                    resource.indicator, resource.access_token_ttl
                )));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for user in self.users.iter().filter(|u| !u.id.is_empty()) {
            if !seen.insert(&user.id) {
                return Err(TenantError(format!("two users have the id {:?}", user.id)));
            }
        }
        for user in &self.users {
            if let Some(reason) = crate::experience::password::unusable(user) {
                return Err(TenantError(format!("the user {:?}: {reason}", user.id)));
            }
        }
        // Sign-in finds a user by email, so two users with one email would hide one of them.
        let mut emails = std::collections::HashSet::new();
        for email in self.users.iter().filter_map(|u| u.primary_email.as_deref()) {
            if !emails.insert(email.trim().to_ascii_lowercase()) {
                return Err(TenantError(format!("two users have the email {email:?}")));
            }
        }
        if self.logto_configs.oidc_private_keys.is_empty() {
            return Err(TenantError("the tenant has no OIDC signing key".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_tenant_loads_and_validates() {
        let tenant = Tenant::fixture().unwrap();
        tenant.validate().unwrap();
        let app = &tenant.applications[0];
        assert_eq!(app.app_type, ApplicationType::Traditional);
        assert_eq!(app.id.len(), 21);
        assert_eq!(app.secret.as_deref().map(str::len), Some(32));
        assert_eq!(
            app.oidc_client_metadata.redirect_uris,
            ["http://localhost:3000/callback"]
        );
        let alice = tenant.user_by_email("Alice@Example.com").unwrap();
        assert_eq!(alice.id.len(), 12);
        assert!(
            alice
                .id
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        );
        assert_eq!(tenant.sign_in_experience.sign_up.identifiers, ["email"]);
        assert!(tenant.sign_in_experience.sign_in.methods[0].verification_code);
        assert_eq!(tenant.connectors[0].connector_id, "postmark-mail");
        assert_eq!(tenant.logto_configs.oidc_private_keys.len(), 2);
    }

    #[test]
    fn a_config_file_replaces_only_the_sections_it_has() {
        let tenant = Tenant::from_json_over_fixtures(
            r#"{"users": [{"id": "abcdefghijkl", "primaryEmail": "zoe@example.com"}]}"#,
        )
        .unwrap();
        assert_eq!(tenant.users.len(), 1);
        assert_eq!(
            tenant.users[0].primary_email.as_deref(),
            Some("zoe@example.com")
        );
        assert_eq!(tenant.applications.len(), 2, "kept from the fixture");
        assert!(Tenant::from_json_over_fixtures("[]").is_err());
        assert!(Tenant::from_json_over_fixtures(r#"{"users": 1}"#).is_err());
    }

    #[test]
    fn validation_catches_what_the_mock_relies_on() {
        let mut tenant = Tenant::fixture().unwrap();
        tenant.applications[0].secret = None;
        assert!(tenant.validate().is_err());
        let mut tenant = Tenant::fixture().unwrap();
        tenant.logto_configs.oidc_private_keys.clear();
        assert!(tenant.validate().is_err());
    }

    #[test]
    fn two_users_with_one_email_are_refused() {
        let mut tenant = Tenant::fixture().unwrap();
        tenant
            .users
            .push(User::email(" ALICE@example.com").id("another0user"));
        let error = tenant.validate().unwrap_err().0;
        assert!(error.contains("two users have the email"), "{error}");
    }

    #[test]
    fn absurd_token_lifetimes_are_refused_with_a_clear_error() {
        let refused = |edit: &dyn Fn(&mut Tenant)| {
            let mut tenant = Tenant::fixture().unwrap();
            edit(&mut tenant);
            tenant.validate().unwrap_err().0
        };
        let error = refused(&|t| {
            t.applications[0]
                .custom_client_metadata
                .refresh_token_ttl_in_days = Some(u64::MAX);
        });
        assert!(error.contains("refreshTokenTtlInDays"), "{error}");
        let error = refused(&|t| {
            t.applications[0]
                .custom_client_metadata
                .refresh_token_ttl_in_days = Some(0);
        });
        assert!(error.contains("1 to 730"), "{error}");
        let error =
            refused(&|t| t.applications[0].custom_client_metadata.id_token_ttl = Some(u64::MAX));
        assert!(error.contains("idTokenTtl"), "{error}");
        let error = refused(&|t| t.resources[0].access_token_ttl = u64::MAX);
        assert!(error.contains("accessTokenTtl"), "{error}");

        let mut tenant = Tenant::fixture().unwrap();
        let metadata = &mut tenant.applications[0].custom_client_metadata;
        metadata.refresh_token_ttl_in_days = Some(730);
        metadata.id_token_ttl = Some(MAX_TOKEN_TTL_SECS);
        tenant.validate().unwrap();
    }
}

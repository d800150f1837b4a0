//! The workspace's `fixtures/`, embedded at compile time so the library and the binary work
//! from any directory, with no file I/O at start-up.

/// `fixtures/postmark/server.json`: the fake Postmark's default server (name, tokens, streams).
pub(crate) const POSTMARK_SERVER: &str = include_str!("../../fixtures/postmark/server.json");

/// `fixtures/postmark/templates/*.json`: Logto's default template aliases, in Postmark's shape.
pub(crate) const POSTMARK_TEMPLATES: &[(&str, &str)] = &[
    (
        "logto-sign-in.json",
        include_str!("../../fixtures/postmark/templates/logto-sign-in.json"),
    ),
    (
        "logto-register.json",
        include_str!("../../fixtures/postmark/templates/logto-register.json"),
    ),
    (
        "logto-forgot-password.json",
        include_str!("../../fixtures/postmark/templates/logto-forgot-password.json"),
    ),
    (
        "logto-generic.json",
        include_str!("../../fixtures/postmark/templates/logto-generic.json"),
    ),
];

/// `fixtures/logto/spare-keys.json`: keys in Logto's `oidc.privateKeys` shape that a key
/// rotation switches to (nothing is generated at run time, so rotations replay).
pub(crate) const LOGTO_SPARE_KEYS: &str = include_str!("../../fixtures/logto/spare-keys.json");

/// `fixtures/logto/tenant.json`: the mock Logto's default tenant, in Logto's JSON shapes.
pub(crate) const LOGTO_TENANT: &str = include_str!("../../fixtures/logto/tenant.json");

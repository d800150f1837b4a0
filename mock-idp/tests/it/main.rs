//! Integration tests of `mock-idp`, in one binary (each test binary costs a link).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod idp_authorize;
mod idp_connector;
mod idp_discovery;
mod idp_experience_api;
mod idp_openidconnect;
mod idp_pages;
mod idp_refresh;
mod idp_sign_out;
mod idp_support;
mod idp_token;
mod idp_userinfo;
mod postmark_clients;
mod postmark_errors;
mod postmark_faults;
mod postmark_inbox;
mod postmark_messages;
mod postmark_page;
mod postmark_robustness;
mod postmark_send;
mod postmark_templates;
mod postmark_test_api;
mod readme;
mod support;

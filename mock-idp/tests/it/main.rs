//! Integration tests of `mock-idp`, in one binary (each test binary costs a link).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod postmark_clients;
mod postmark_errors;
mod postmark_inbox;
mod postmark_robustness;
mod postmark_send;
mod support;

//! The end-to-end tests, in one binary (each test binary costs a link): the sample app's flows
//! over HTTP (`http_flows`) and in a headless Chromium (`browser`). Filter with the module:
//! `cargo test -p e2e -- browser::` or `-- http_flows::`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod http_flows;

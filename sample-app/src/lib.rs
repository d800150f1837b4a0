//! The Rust twin of Logto's Flask sample app.
//!
//! Not built yet: this crate is a placeholder in the workspace so the layout is fixed from the
//! start. It gains its routes (`/`, `/sign-in`, `/sign-up`, `/callback`, `/sign-out`) and its
//! Logto-style client once the mock Logto exists. Until then it exports nothing.

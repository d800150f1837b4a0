//! Connectors: how the IdP reaches out. Today Logto's Postmark email connector
//! (`postmark-mail`), which sends every verification code.

pub(crate) mod postmark;

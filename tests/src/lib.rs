//! End-to-end flow tests: HTTP-level and browser (fantoccini + chromedriver + headless Chromium).
//!
//! Not built yet: the flows need the mock Logto and the sample app. This crate holds its place
//! in the workspace and exports nothing.

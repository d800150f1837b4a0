//! Browser tests: a headless Chromium clicks through the sample app, Logto's sign-in
//! experience and the fake Postmark's inbox, one stack and one browser per test. A failing
//! test leaves a screenshot, the page, the URL, the IdP's events and the emails under
//! `target/tmp/browser-artifacts/{module}-{test}/`.

mod codes;
mod harness;
mod inbox_page;
mod outage;
mod profile;
mod sign_in;
mod sign_out;
mod sign_up;
mod support;

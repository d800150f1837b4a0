//! One browser test of the sample app: a [`Stack`] of its own and a [`Browser`] of its own,
//! run with [`Browser::run`], so a failure leaves its artifacts in
//! `target/mock-idp-artifacts/{test}/`: the screenshot, page and URL (the browser's) beside the
//! event log and the mail (the mock's, written when the panic drops it).
//!
//! ```no_run
//! # async fn demo() {
//! e2e::journey::run(mock_idp::MockIdp::builder(), |j| async move {
//!     j.sign_in("alice@example.com").await; // #sign-in, then Logto's flow with the emailed code
//!     j.browser.click("#sign-out").await;
//!     j.browser.confirm_sign_out(&j.stack.idp).await;
//!     j.browser.wait_for_text("#status", "Not authenticated").await;
//! })
//! .await;
//! # }
//! ```

use std::future::Future;
use std::sync::Arc;

use mock_idp::MockIdpBuilder;
use mock_idp::browser::{Browser, Failure};

use crate::{Stack, spawn_stack_with};

/// What a browser test of the sample app works with.
#[derive(Clone, Debug)]
pub struct Journey {
    /// The mock Logto, fake Postmark and sample app of this test.
    pub stack: Arc<Stack>,
    /// This test's browser.
    pub browser: Browser,
}

impl Journey {
    /// Opens the app signed out and clicks `link` (`#sign-in` or `#sign-up`); waits for
    /// Logto's first screen, whose heading is `heading` ("Sign in", "Create your account").
    pub async fn open_logto(&self, link: &str, heading: &str) {
        self.browser.goto(&self.stack.app_url("/")).await;
        self.browser
            .wait_for_text("#status", "Not authenticated")
            .await;
        self.browser.click(link).await;
        self.browser.wait_for_text("h1", heading).await;
        let url = self.browser.url().await;
        assert!(
            url.starts_with(self.stack.idp.base_url()),
            "not on Logto: {url}"
        );
    }

    /// Types `email` on Logto's first screen and submits; waits for the code page. Returns
    /// the inbox cursor from before the submit (for [`Stack::code_after`]).
    pub async fn submit_email(&self, email: &str) -> u64 {
        let cursor = self.stack.inbox().cursor();
        self.browser.fill("#identifier", email).await;
        self.browser.click("#submit").await;
        self.browser
            .wait_for_text("h1", "Enter verification code")
            .await;
        self.browser.wait_for_text("#address", email).await;
        cursor
    }

    /// The code in the first email to `email` after `cursor`.
    pub async fn code_after(&self, email: &str, cursor: u64) -> String {
        self.stack.code_after(email, cursor).await
    }

    /// Types `code` on Logto's code page and submits.
    pub async fn submit_code(&self, code: &str) {
        self.browser.fill("#code", code).await;
        self.browser.click("#submit").await;
    }

    /// Waits until the app's home page says "Authenticated" as `email`.
    pub async fn assert_signed_in(&self, email: &str) {
        self.browser.wait_for_text("#status", "Authenticated").await;
        assert_eq!(self.browser.url().await, self.stack.app_url("/"));
        assert_eq!(self.browser.text("#email").await, email);
    }

    /// The whole sign-in of an existing user: the app's `#sign-in`, then Logto's flow with the
    /// emailed code ([`Browser::sign_in_with_email_code`]), back on the app signed in.
    pub async fn sign_in(&self, email: &str) {
        self.browser.goto(&self.stack.app_url("/")).await;
        self.browser.click("#sign-in").await;
        self.browser
            .sign_in_with_email_code(&self.stack.idp, email)
            .await;
        self.assert_signed_in(email).await;
    }
}

/// Runs `test` with a fresh stack and browser ([`Browser::run`]): a failure leaves its
/// artifacts and fails with the test's own panic. A missing browser fails too, saying what to
/// install.
pub async fn run<F, Fut>(idp: MockIdpBuilder, test: F)
where
    F: FnOnce(Journey) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (browser, stack) = start(idp).await;
    browser
        .run(move |browser| test(Journey { stack, browser }))
        .await;
}

/// [`run`], returning the failure instead of failing (to test the harness itself).
pub async fn try_run<F, Fut>(idp: MockIdpBuilder, test: F) -> Result<(), Failure>
where
    F: FnOnce(Journey) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (browser, stack) = start(idp).await;
    browser
        .try_run(move |browser| test(Journey { stack, browser }))
        .await
}

/// The browser first (it empties the test's artifacts folder), then the stack, whose only
/// reference goes into the test: dropped by a panic, the mock writes its report.
async fn start(idp: MockIdpBuilder) -> (Browser, Arc<Stack>) {
    let browser = match Browser::start().await {
        Ok(browser) => browser,
        Err(error) => panic!("{error}"),
    };
    (browser, Arc::new(spawn_stack_with(idp).await))
}

//! One browser test: a [`Stack`] of its own, a [`Browser`] of its own, and artifacts when it
//! fails.
//!
//! [`run`] starts both, runs the test body as a task, and if the body panics or outlives
//! [`JOURNEY_TIMEOUT`], writes into `{artifacts}/{test name}/`: `screenshot.png`, `page.html`,
//! `url.txt`, `events.json` (the mock Logto's event log) and `emails.json` (every message the
//! fake Postmark kept), prints where, and fails the test with the original panic. The folder of
//! a test is emptied when it starts, so what is there is from its last failure.
//!
//! ```no_run
//! # async fn demo() {
//! e2e::journey::run("target/browser-artifacts", mock_idp::MockIdp::builder(), |j| async move {
//!     j.sign_in("alice@example.com").await; // #sign-in, the email, the code from the inbox
//!     j.browser.click("#sign-out").await;
//!     j.browser.wait_for_text("#status", "Not authenticated").await;
//! })
//! .await;
//! # }
//! ```

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mock_idp::MockIdpBuilder;

use crate::browser::Browser;
use crate::{Stack, spawn_stack_with};

/// How long one journey may take before it is failed (with artifacts).
pub const JOURNEY_TIMEOUT: Duration = Duration::from_secs(120);

/// What a browser test works with.
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
    /// the inbox cursor from before the submit (for [`code_after`](Self::code_after)).
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

    /// The code in the first email to `email` after `cursor` ([`Stack::code_after`]).
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

    /// The whole sign-in of an existing user: the app's `#sign-in`, the email, the code from
    /// the inbox, back on the app signed in.
    pub async fn sign_in(&self, email: &str) {
        self.open_logto("#sign-in", "Sign in").await;
        let cursor = self.submit_email(email).await;
        let code = self.code_after(email, cursor).await;
        self.submit_code(&code).await;
        self.assert_signed_in(email).await;
    }
}

/// A journey that failed.
#[derive(Debug)]
pub struct Failure {
    /// Where its artifacts are.
    pub artifacts: PathBuf,
    /// The panic (or the timeout) that failed it.
    pub panic: Box<dyn std::any::Any + Send>,
}

/// Runs `test` with a fresh stack and browser; on failure saves the artifacts under
/// `artifacts_root` and fails with the test's own panic. A missing browser fails too, saying
/// what to install.
pub async fn run<F, Fut>(artifacts_root: impl AsRef<Path>, idp: MockIdpBuilder, test: F)
where
    F: FnOnce(Journey) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if let Err(failure) = try_run(artifacts_root, idp, test).await {
        eprintln!(
            "browser test failed; artifacts in {}",
            failure.artifacts.display()
        );
        std::panic::resume_unwind(failure.panic);
    }
}

/// [`run`], returning the test's failure instead of failing (to test the harness itself).
/// A browser that cannot start still panics: there is no journey to report on.
pub async fn try_run<F, Fut>(
    artifacts_root: impl AsRef<Path>,
    idp: MockIdpBuilder,
    test: F,
) -> Result<(), Failure>
where
    F: FnOnce(Journey) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = artifacts_root.as_ref().join(test_name());
    let _ = std::fs::remove_dir_all(&dir);
    let browser = match Browser::start().await {
        Ok(browser) => browser,
        Err(error) => panic!("{error}"),
    };
    let journey = Journey {
        stack: Arc::new(spawn_stack_with(idp).await),
        browser,
    };
    let task = tokio::spawn(test(journey.clone()));
    let abort = task.abort_handle();
    let outcome = match tokio::time::timeout(JOURNEY_TIMEOUT, task).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) if error.is_panic() => Err(error.into_panic()),
        Ok(Err(error)) => Err(Box::new(format!("the journey did not finish: {error}")) as _),
        Err(_) => {
            abort.abort();
            Err(Box::new(format!("the journey took longer than {JOURNEY_TIMEOUT:?}")) as _)
        }
    };
    let result = match outcome {
        Ok(()) => Ok(()),
        Err(panic) => {
            save_artifacts(&dir, &journey).await;
            Err(Failure {
                artifacts: dir,
                panic,
            })
        }
    };
    let Journey { stack, browser } = journey;
    browser.close().await;
    drop(stack);
    result
}

/// The running test's name (libtest names the thread after it), as a folder name.
fn test_name() -> String {
    let name = std::thread::current()
        .name()
        .unwrap_or("unnamed-test")
        .to_owned();
    name.replace("::", "-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes what explains a failure; each part on its own, so one that cannot be had (a dead
/// browser) does not hide the others.
async fn save_artifacts(dir: &Path, journey: &Journey) {
    if let Err(error) = std::fs::create_dir_all(dir) {
        eprintln!("cannot create {}: {error}", dir.display());
        return;
    }
    let write = |name: &str, bytes: &[u8]| {
        if let Err(error) = std::fs::write(dir.join(name), bytes) {
            eprintln!("cannot write {name}: {error}");
        }
    };
    let client = journey.browser.client();
    match client.screenshot().await {
        Ok(png) => write("screenshot.png", &png),
        Err(error) => write("screenshot.error.txt", error.to_string().as_bytes()),
    }
    match client.source().await {
        Ok(html) => write("page.html", html.as_bytes()),
        Err(error) => write("page.error.txt", error.to_string().as_bytes()),
    }
    write("url.txt", journey.browser.url().await.as_bytes());
    let events = serde_json::to_string_pretty(&journey.stack.idp.events()).unwrap_or_default();
    write("events.json", events.as_bytes());
    let emails: Vec<_> = journey
        .stack
        .inbox()
        .messages()
        .iter()
        .map(mock_idp::Email::to_json)
        .collect();
    let emails = serde_json::to_string_pretty(&emails).unwrap_or_default();
    write("emails.json", emails.as_bytes());
}

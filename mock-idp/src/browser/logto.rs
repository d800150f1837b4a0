//! Logto's flows as a user walks them in the browser: the email, the code from the mock's
//! inbox, the way back to the app; and the sign-out confirmation. Each starts from wherever
//! the app sent the browser and fails the test, with artifacts, saying what Logto showed.

use std::time::Instant;

use super::{Browser, POLL, WAIT};
use crate::MockIdp;

/// Which of Logto's first screens a flow needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    SignIn,
    Register,
}

impl Browser {
    /// Signs an existing user in on Logto's pages with the emailed code, from wherever the app
    /// sent the browser (its redirect to Logto, or Logto's first screen): types `email`, reads
    /// the code from `idp`'s inbox, types it, and waits until Logto has sent the browser back
    /// to the app (the URL has left the IdP).
    ///
    /// # Panics
    ///
    /// With artifacts, when Logto's sign-in page does not show (an IdP session still alive
    /// sends the browser straight back: sign out first), when Logto shows an error, when it
    /// has no account for `email` (use [`sign_up_with_email_code`](Self::sign_up_with_email_code)),
    /// or when the mail does not come.
    pub async fn sign_in_with_email_code(&self, idp: &MockIdp, email: &str) {
        self.email_code(idp, email, Flow::SignIn).await;
    }

    /// Registers a new user on Logto's pages with the emailed code, as
    /// [`sign_in_with_email_code`](Self::sign_in_with_email_code) does; from Logto's sign-in
    /// screen it first follows "Create account", as a user would.
    ///
    /// # Panics
    ///
    /// As `sign_in_with_email_code`, and when an account with `email` exists.
    pub async fn sign_up_with_email_code(&self, idp: &MockIdp, email: &str) {
        self.email_code(idp, email, Flow::Register).await;
    }

    async fn email_code(&self, idp: &MockIdp, email: &str, flow: Flow) {
        let base = idp.base_url();
        self.wait_for_url(
            |url| url.starts_with(base),
            &format!("to reach Logto at {base} (an IdP session still alive sends the browser straight back: sign out first)"),
        )
        .await;
        self.wait_for("#identifier").await;
        let path = self.url().await;
        let on_register = path.contains("/register") || path.contains("/identifier-register");
        if (flow == Flow::Register) != on_register {
            // "Create account" / "Sign in" under the form switches screens.
            self.click("#switch").await;
            let heading = match flow {
                Flow::SignIn => "Sign in",
                Flow::Register => "Create your account",
            };
            self.wait_for_text("h1", heading).await;
        }
        let cursor = idp.inbox().cursor();
        self.fill("#identifier", email).await;
        self.click("#submit").await;
        self.wait_for_step(
            idp,
            "#code",
            &format!("Logto did not send a code to {email}"),
        )
        .await;
        let code = match idp.code_for(email).after(cursor).await {
            Ok(code) => code,
            Err(error) => self.fail(error.to_string()).await,
        };
        self.fill("#code", &code).await;
        self.click("#submit").await;
        self.wait_until_back(idp, &format!("Logto did not sign {email} in"))
            .await;
    }

    /// Waits until `css` shows on Logto's page; fails with Logto's alert or offer if one
    /// shows instead.
    async fn wait_for_step(&self, idp: &MockIdp, css: &str, failed: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.exists(css).await {
                return;
            }
            if let Some(said) = self.logto_says().await {
                self.fail(format!("{failed}: {said}")).await;
            }
            if Instant::now() >= deadline {
                let url = self.url().await;
                self.fail(format!(
                    "{failed}: waited {WAIT:?} for `{css}` on {url} (Logto at {})",
                    idp.base_url()
                ))
                .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the browser has left the IdP; fails with what Logto says if it stays.
    async fn wait_until_back(&self, idp: &MockIdp, failed: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.url().await;
            if !url.starts_with(idp.base_url()) {
                return;
            }
            if let Some(said) = self.logto_says().await {
                self.fail(format!("{failed}: {said}")).await;
            }
            if Instant::now() >= deadline {
                self.fail(format!(
                    "{failed}: after {WAIT:?} the browser is still on Logto, at {url}"
                ))
                .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// What Logto's page says to the user, if it says something: its error (`[role=alert]`)
    /// or its offer (`#offer`: no account / account exists).
    async fn logto_says(&self) -> Option<String> {
        for css in ["[role=alert]", "#offer"] {
            if let Ok(element) = self.client.find(fantoccini::Locator::Css(css)).await
                && let Ok(text) = element.text().await
                && !text.trim().is_empty()
            {
                return Some(text.trim().to_owned());
            }
        }
        None
    }

    /// Completes Logto's sign-out after the app sent the browser to Logto's end-session
    /// endpoint: Logto's page confirms itself when scripts run (its `#confirm` button is
    /// clicked if they do not), and the browser goes on to the post sign-out URI. Waits until
    /// Logto has ended its session (its `end_session.success` event) and the browser has left
    /// the sign-out page.
    ///
    /// # Panics
    ///
    /// With artifacts, when Logto's sign-out does not happen within the wait, or Logto refuses
    /// it (an unregistered post sign-out URI: its error is in the page).
    pub async fn confirm_sign_out(&self, idp: &MockIdp) {
        let end_session = idp.end_session_endpoint();
        let confirmed = || {
            let events = idp.events();
            let last = events
                .iter()
                .rev()
                .find(|e| e.kind.starts_with("end_session."));
            last.map(|e| e.kind.as_str()) == Some("end_session.success")
        };
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.url().await;
            let on_confirm_page =
                url.starts_with(&end_session) && !url.contains("/session/end/success");
            if confirmed() && !on_confirm_page {
                return;
            }
            if on_confirm_page && self.exists("#confirm").await {
                // Scripts normally submit the form; a page that lingers gets the click.
                if Instant::now() + WAIT / 2 > deadline {
                    self.click("#confirm").await;
                }
            } else if on_confirm_page
                && let Ok(body) = self.client.source().await
                && body.contains("\"error\"")
            {
                self.fail(format!("Logto refused the sign-out: {body}"))
                    .await;
            }
            if Instant::now() >= deadline {
                self.fail(format!(
                    "Logto's sign-out was not confirmed within {WAIT:?}; the browser is at {url}"
                ))
                .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

//! Logto's flows as a user walks them in the browser: the email, the code from the mock's
//! inbox, the way back to the app; and the sign-out confirmation. Each starts from wherever
//! the app sent the browser and fails the test, with artifacts and the test's line, saying
//! what Logto showed.

use std::future::Future;
use std::panic::Location;
use std::time::Instant;

use fantoccini::Locator;

use super::{At, Browser, POLL, WAIT};
use crate::MockIdp;

/// Which of Logto's first screens a flow needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    SignIn,
    Register,
}

/// What Logto's page tells the user instead of going on.
enum Said {
    /// An error in `[role=alert]`.
    Alert(String),
    /// An offer in `#offer`: no account for the email (sign-in), or one exists (sign-up).
    Offer(String),
    /// An OIDC error answered instead of a page (`{"error_description": …}`).
    Refused(String),
}

impl Browser {
    /// Signs an existing user in on Logto's pages with the emailed code, from wherever the app
    /// sent the browser (its redirect to Logto, or Logto's first screen): types `email`, reads
    /// the code from `idp`'s inbox, types it, and waits until Logto has sent the browser back
    /// to the app (the URL has left the IdP).
    ///
    /// # Panics
    ///
    /// With artifacts and the calling line, when Logto refuses the authorization request (an
    /// unregistered redirect URI: register it with `MockIdp::builder().redirect_uri(…)`), when
    /// its sign-in page does not show (an IdP session still alive sends the browser straight
    /// back: sign out first), when it shows an error, when it has no account for `email` (use
    /// [`sign_up_with_email_code`](Self::sign_up_with_email_code)), or when the mail does not
    /// come.
    #[track_caller]
    pub fn sign_in_with_email_code<'a>(
        &'a self,
        idp: &'a MockIdp,
        email: &'a str,
    ) -> impl Future<Output = ()> + Send + 'a {
        let at = Location::caller();
        async move { self.email_code(at, idp, email, Flow::SignIn).await }
    }

    /// Registers a new user on Logto's pages with the emailed code, as
    /// [`sign_in_with_email_code`](Self::sign_in_with_email_code) does; from Logto's sign-in
    /// screen it first follows "Create account", as a user would.
    ///
    /// # Panics
    ///
    /// As `sign_in_with_email_code`, and when an account with `email` exists.
    #[track_caller]
    pub fn sign_up_with_email_code<'a>(
        &'a self,
        idp: &'a MockIdp,
        email: &'a str,
    ) -> impl Future<Output = ()> + Send + 'a {
        let at = Location::caller();
        async move { self.email_code(at, idp, email, Flow::Register).await }
    }

    /// Signs an existing user in on Logto's pages with a password, from wherever the app sent
    /// the browser: types `identifier` (an email or a username), then the password (on the same
    /// page when the tenant signs in by password only; through "Sign in with password" when
    /// emails sign in by code first), and waits until Logto has sent the browser back to the
    /// app.
    ///
    /// # Panics
    ///
    /// As [`sign_in_with_email_code`](Self::sign_in_with_email_code), and with Logto's message
    /// when it refuses the password ("Incorrect account or password…", a lockout).
    #[track_caller]
    pub fn sign_in_with_password<'a>(
        &'a self,
        idp: &'a MockIdp,
        identifier: &'a str,
        password: &'a str,
    ) -> impl Future<Output = ()> + Send + 'a {
        let at = Location::caller();
        async move { self.password_at(at, idp, identifier, password).await }
    }

    async fn password_at(&self, at: At, idp: &MockIdp, identifier: &str, password: &str) {
        self.to_first_screen(at, idp, Flow::SignIn).await;
        self.fill_at(at, "#identifier", identifier).await;
        if !self.exists("#password").await {
            self.click_at(at, "#submit").await;
            let failed = format!("Logto did not ask for the password of {identifier}");
            self.wait_for_logto_step(at, idp, "#password, #switch-to-password", &failed)
                .await;
            if !self.exists("#password").await {
                // The code page of an email signed in by code first.
                self.click_at(at, "#switch-to-password").await;
                self.wait_for_logto_step(at, idp, "#password", &failed)
                    .await;
            }
        }
        self.fill_at(at, "#password", password).await;
        self.click_at(at, "#submit").await;
        self.wait_until_back(at, idp, identifier, Flow::SignIn)
            .await;
    }

    /// Waits for Logto's first screen and, if it is the other one, switches to `flow`'s.
    async fn to_first_screen(&self, at: At, idp: &MockIdp, flow: Flow) {
        self.wait_for_logto_step(at, idp, "#identifier", "Logto's sign-in page did not show")
            .await;
        let url = self.url().await;
        let on_register = url.contains("/register") || url.contains("/identifier-register");
        if (flow == Flow::Register) != on_register {
            // "Create account" / "Sign in" under the form switches screens.
            self.click_at(at, "#switch").await;
            let heading = match flow {
                Flow::SignIn => "Sign in",
                Flow::Register => "Create your account",
            };
            let what = format!("to read {heading:?}");
            self.wait_until(at, "h1", |text| text.trim() == heading, &what)
                .await;
        }
    }

    async fn email_code(&self, at: At, idp: &MockIdp, email: &str, flow: Flow) {
        self.to_first_screen(at, idp, flow).await;
        let cursor = idp.inbox().cursor();
        self.fill_at(at, "#identifier", email).await;
        self.click_at(at, "#submit").await;
        let failed = format!("Logto did not send a code to {email}");
        self.wait_for_logto_step(at, idp, "#code", &failed).await;
        let code = match idp.code_for(email).after(cursor).await {
            Ok(code) => code,
            Err(error) => self.fail_at(at, error.to_string()).await,
        };
        self.fill_at(at, "#code", &code).await;
        self.click_at(at, "#submit").await;
        self.wait_until_back(at, idp, email, flow).await;
    }

    /// Waits until `css` shows on Logto's page; fails with what Logto says if it says
    /// something instead.
    async fn wait_for_logto_step(&self, at: At, idp: &MockIdp, css: &str, failed: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.url().await.starts_with(idp.base_url()) && self.exists(css).await {
                return;
            }
            if let Some(said) = self.logto_says().await {
                let why = match said {
                    Said::Alert(text) | Said::Offer(text) => text,
                    Said::Refused(description) => refused(&description),
                };
                self.fail_at(at, format!("{failed}: {why}")).await;
            }
            if Instant::now() >= deadline {
                let url = self.url().await;
                let why = if url.starts_with(idp.base_url()) {
                    format!("waited {WAIT:?} for `{css}` on {url}")
                } else {
                    format!(
                        "after {WAIT:?} the browser is at {url}, not on Logto ({}); if Logto sent \
                         it straight back, an IdP session is still alive: sign out first",
                        idp.base_url()
                    )
                };
                self.fail_at(at, format!("{failed}: {why}")).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the browser has left the IdP; fails with what Logto says if it stays.
    async fn wait_until_back(&self, at: At, idp: &MockIdp, email: &str, flow: Flow) {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.url().await;
            if !url.starts_with(idp.base_url()) {
                return;
            }
            let why = match (self.logto_says().await, flow) {
                (None, _) => None,
                (Some(Said::Offer(offer)), Flow::SignIn) => Some(format!(
                    "Logto has no account for {email} ({offer}); sign up with \
                     sign_up_with_email_code, or add the user with MockIdp::builder().user(…)"
                )),
                (Some(Said::Offer(offer)), Flow::Register) => Some(format!(
                    "an account with {email} exists ({offer}); sign in with \
                     sign_in_with_email_code"
                )),
                (Some(Said::Alert(text)), _) => {
                    Some(format!("Logto did not sign {email} in: {text}"))
                }
                (Some(Said::Refused(description)), _) => Some(format!(
                    "Logto did not sign {email} in: {}",
                    refused(&description)
                )),
            };
            if let Some(why) = why {
                self.fail_at(at, why).await;
            }
            if Instant::now() >= deadline {
                self.fail_at(
                    at,
                    format!("Logto did not sign {email} in: after {WAIT:?} the browser is still on Logto, at {url}"),
                )
                .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// What Logto's page tells the user, if it tells something: its error, its offer, or an
    /// OIDC error answered instead of a page.
    async fn logto_says(&self) -> Option<Said> {
        let text_of = |css: &'static str| async move {
            let element = self.client.find(Locator::Css(css)).await.ok()?;
            let text = element.text().await.ok()?;
            let text = text.trim().to_owned();
            (!text.is_empty()).then_some(text)
        };
        if let Some(alert) = text_of("[role=alert]").await {
            return Some(Said::Alert(alert));
        }
        if let Some(offer) = text_of("#offer").await {
            return Some(Said::Offer(offer));
        }
        // Chromium shows a JSON answer as the text of the page.
        let body = text_of("body").await?;
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        let description = json.get("error_description")?.as_str()?;
        Some(Said::Refused(description.to_owned()))
    }

    /// Completes Logto's sign-out after the app sent the browser to Logto's end-session
    /// endpoint: Logto's page confirms itself when scripts run (its `#confirm` button is
    /// clicked if they do not), and the browser goes on to the post sign-out URI. Waits until
    /// the latest sign-out Logto saw is confirmed (its `end_session.success` event) and the
    /// browser has left the sign-out page.
    ///
    /// # Panics
    ///
    /// With artifacts and the calling line, when Logto's sign-out does not happen within the
    /// wait, or Logto refuses it (an unregistered post sign-out URI).
    #[track_caller]
    pub fn confirm_sign_out<'a>(
        &'a self,
        idp: &'a MockIdp,
    ) -> impl Future<Output = ()> + Send + 'a {
        let at = Location::caller();
        async move { self.confirm_sign_out_at(at, idp).await }
    }

    async fn confirm_sign_out_at(&self, at: At, idp: &MockIdp) {
        let end_session = idp.end_session_endpoint();
        let confirmed = || {
            let events = idp.events();
            let last = events
                .iter()
                .rev()
                .find(|e| e.kind.starts_with("end_session."));
            last.map(|e| e.kind.as_str()) == Some("end_session.success")
        };
        let started = Instant::now();
        loop {
            let url = self.url().await;
            let on_confirm_page =
                url.starts_with(&end_session) && !url.contains("/session/end/success");
            if confirmed() && !on_confirm_page {
                return;
            }
            if on_confirm_page {
                if let Some(Said::Refused(description)) = self.logto_says().await {
                    self.fail_at(at, format!("Logto refused the sign-out: {description}"))
                        .await;
                }
                // Scripts normally submit the form; a page that lingers gets the click.
                if started.elapsed() > WAIT / 2 && self.exists("#confirm").await {
                    self.click_at(at, "#confirm").await;
                }
            }
            if started.elapsed() >= WAIT {
                self.fail_at(
                    at,
                    format!("Logto's sign-out was not confirmed within {WAIT:?}; the browser is at {url}"),
                )
                .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Logto's refusal of an authorization request, with the fix when it is the usual one.
fn refused(description: &str) -> String {
    if description.contains("redirect_uri") {
        format!(
            "Logto refused the authorization request: {description} (register your app's \
             callback with MockIdp::builder().redirect_uri(…))"
        )
    } else {
        format!("Logto refused the authorization request: {description}")
    }
}

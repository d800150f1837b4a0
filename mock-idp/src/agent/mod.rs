//! [`Agent`]: a browser without JavaScript, for HTTP-level tests of an app that signs in with
//! Logto. It keeps cookies per host and never follows a redirect by itself, so a test sees and
//! asserts every hop: the app's redirect to Logto, Logto's pages, Logto's redirect back, the
//! app's callback. [`Page`] is what each request answers.
//!
//! The flows Logto's sign-in experience asks of a user are written once, here:
//! [`sign_in_with_email_code`](Agent::sign_in_with_email_code) and
//! [`sign_up_with_email_code`](Agent::sign_up_with_email_code) continue from wherever the app
//! sent the agent (its redirect to `/oidc/auth`, or Logto's first screen), type the email, read
//! the code from the mock's inbox, type it, and return Logto's redirect back to the app;
//! [`confirm_sign_out`](Agent::confirm_sign_out) answers Logto's sign-out page.
//!
//! ```no_run
//! # async fn demo() {
//! use mock_idp::{Agent, MockIdp};
//!
//! let idp = MockIdp::start().await.unwrap();
//! let agent = Agent::new();
//! let to_logto = agent.get(&idp.sign_in_url()).await; // what an app's sign-in link answers
//! let back = agent
//!     .sign_in_with_email_code(&idp, &to_logto, "alice@example.com")
//!     .await;
//! assert!(back.location().starts_with(&idp.client().redirect_uris[0]));
//! assert!(back.location_param("code").is_some());
//! // agent.follow(&back).await hands the code to your app's callback.
//! # }
//! ```
//!
//! Like the assertions of a test, the agent panics when it cannot go on (a connection refused,
//! a flow Logto does not complete), saying what it saw; HTTP errors are answers, returned as
//! pages for the test to assert.

mod page;

use std::sync::Arc;

use reqwest::cookie::CookieStore as _;

pub use page::Page;

use crate::MockIdp;

/// A browser without JavaScript: cookies kept per host, redirects never followed.
#[derive(Clone, Debug)]
pub struct Agent {
    http: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
}

impl Default for Agent {
    fn default() -> Self {
        Self::new()
    }
}

/// Which of Logto's flows a helper walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    SignIn,
    Register,
}

impl Flow {
    /// Where the email is posted, whatever the first screen was (both forms live in the same
    /// interaction).
    fn root(self) -> &'static str {
        match self {
            Self::SignIn => "/sign-in",
            Self::Register => "/register",
        }
    }
}

impl Agent {
    /// An agent with an empty cookie jar, saying who it is in `User-Agent` as a browser does
    /// (`mock-idp-agent/<version>`; Logto's webhooks report it as `userAgent`).
    ///
    /// # Panics
    ///
    /// When the HTTP client cannot be built (no TLS is involved, so only if the system cannot
    /// create sockets).
    pub fn new() -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mock-idp-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|e| panic!("an HTTP client: {e}"));
        Self { http, jar }
    }

    /// The underlying client (cookies included, redirects off), for requests the helpers do
    /// not cover; send them with [`send`](Self::send).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The value of cookie `name` this agent would send to `url`.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(url).ok()?;
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split("; ").find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }

    /// Sends a request built on [`http`](Self::http) and reads the answer.
    ///
    /// # Panics
    ///
    /// When the request cannot be built or sent (a refused connection, a bad URL).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let request = request
            .build()
            .unwrap_or_else(|e| panic!("building a request: {e}"));
        let url = request.url().to_string();
        let method = request.method().clone();
        let response = self
            .http
            .execute(request)
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        Page::read(&url, response).await
    }

    /// `GET url`.
    pub async fn get(&self, url: &str) -> Page {
        self.send(self.http.get(url)).await
    }

    /// `POST url` with a form body.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Page {
        self.send(self.http.post(url).form(form)).await
    }

    /// `POST url` with a JSON body.
    pub async fn post_json(&self, url: &str, body: &serde_json::Value) -> Page {
        self.send(self.http.post(url).json(body)).await
    }

    /// `GET` the `Location` of a redirect (one hop).
    ///
    /// # Panics
    ///
    /// When `redirect` is not a redirect.
    pub async fn follow(&self, redirect: &Page) -> Page {
        assert!(
            redirect.is_redirect(),
            "expected a redirect from {}, got {redirect:?}",
            redirect.url
        );
        self.get(redirect.location()).await
    }

    /// Follows redirects while they stay under `origin`; returns the first answer that is not
    /// such a redirect (a page, or a redirect elsewhere).
    pub async fn follow_within(&self, origin: &str, mut page: Page) -> Page {
        for _ in 0..20 {
            match &page.location {
                Some(next) if page.is_redirect() && next.starts_with(origin) => {
                    page = self.get(&next.clone()).await;
                }
                _ => return page,
            }
        }
        panic!("more than 20 redirects within {origin}, the last: {page:?}")
    }

    /// Signs an existing user in on Logto's pages with the code Logto emails: from `from` (the
    /// app's redirect to Logto, or a page of Logto's first screen), types `email`, reads the
    /// code from the mock's inbox, types it, and returns Logto's last answer: the 303 back to
    /// the app's redirect URI (`?code=…&state=…&iss=…`). [`follow`](Self::follow) it to hand
    /// the code to the app.
    ///
    /// # Panics
    ///
    /// When Logto does not complete the sign-in, saying why: it sent the agent straight back
    /// (an IdP session is alive: single sign-on), refused the email (its message), has no
    /// account for it (use [`sign_up_with_email_code`](Self::sign_up_with_email_code)), or
    /// the mail did not come.
    pub async fn sign_in_with_email_code(&self, idp: &MockIdp, from: &Page, email: &str) -> Page {
        self.email_code(idp, from, email, Flow::SignIn).await
    }

    /// Registers a new user on Logto's pages with the code Logto emails, from `from` (the app's
    /// redirect to Logto with `interaction_mode=signUp`, or any first screen), and returns
    /// Logto's 303 back to the app, as [`sign_in_with_email_code`](Self::sign_in_with_email_code)
    /// does.
    ///
    /// # Panics
    ///
    /// As `sign_in_with_email_code`, and when an account with this email exists.
    pub async fn sign_up_with_email_code(&self, idp: &MockIdp, from: &Page, email: &str) -> Page {
        self.email_code(idp, from, email, Flow::Register).await
    }

    /// Signs an existing user in on Logto's pages with a password: from `from` (the app's
    /// redirect to Logto, or a first screen), types `identifier` (an email or a username),
    /// then the password (on the same page when the tenant signs in by password only; after
    /// "Sign in with password" on the code page when emails sign in by code first, which has
    /// mailed a code as Logto does), and returns Logto's 303 back to the app, as
    /// [`sign_in_with_email_code`](Self::sign_in_with_email_code) does.
    ///
    /// # Panics
    ///
    /// When Logto does not complete the sign-in, with its message ("Incorrect account or
    /// password…", a lockout, a suspended account, a method the tenant has not enabled).
    pub async fn sign_in_with_password(
        &self,
        idp: &MockIdp,
        from: &Page,
        identifier: &str,
        password: &str,
    ) -> Page {
        let base = idp.base_url();
        let first = self.first_screen(idp, from).await;
        let sign_in = format!("{base}/sign-in");
        let one_page = first.has(r#"id="password""#);
        let mut form = vec![("identifier", identifier)];
        if one_page {
            form.push(("password", password));
        }
        let mut answer = self.post_form(&sign_in, &form).await;
        if !one_page {
            // An email signed in by code first: Logto mails a code, and its page offers the
            // password instead, as a person would click it.
            if answer.status == 303 && answer.location().ends_with("/sign-in/verification-code") {
                let code_page = self.follow(&answer).await;
                assert!(
                    code_page.has(r#"id="switch-to-password""#),
                    "Logto signs {identifier} in with a code only: the tenant has no password \
                     sign-in for emails"
                );
            } else {
                assert!(
                    answer.status == 303 && answer.location().ends_with("/sign-in/password"),
                    "Logto did not ask for the password of {identifier}: {}",
                    answer.alert().unwrap_or_else(|| format!("{answer:?}"))
                );
            }
            answer = self
                .post_form(&format!("{sign_in}/password"), &[("password", password)])
                .await;
        }
        assert!(
            answer.status == 303,
            "Logto did not sign {identifier} in with the password: {}",
            answer.alert().unwrap_or_else(|| format!("{answer:?}"))
        );
        let back = self.follow_within(base, answer).await;
        assert!(
            back.is_redirect(),
            "expected Logto's redirect back to the app, got {back:?}"
        );
        back
    }

    /// Registers a new user with a password on Logto's pages, as a tenant that signs up with
    /// one asks (Logto's default): from `from` (the app's redirect to Logto with
    /// `interaction_mode=signUp`, or any first screen), types `identifier` on `/register` (a
    /// username, or an email whose mailed code it enters when the tenant verifies emails),
    /// then the password twice, and returns Logto's 303 back to the app.
    ///
    /// # Panics
    ///
    /// When Logto does not register them, with its message: a taken username or email, a
    /// password the policy refuses, or a tenant whose sign-up asks for no password.
    pub async fn sign_up_with_password(
        &self,
        idp: &MockIdp,
        from: &Page,
        identifier: &str,
        password: &str,
    ) -> Page {
        let base = idp.base_url();
        self.first_screen(idp, from).await;
        let cursor = idp.inbox().cursor();
        let mut answer = self
            .post_form(&format!("{base}/register"), &[("identifier", identifier)])
            .await;
        let refused = |page: &Page| {
            page.alert()
                .or_else(|| page.offer())
                .unwrap_or_else(|| format!("{page:?}"))
        };
        assert!(
            answer.status == 303,
            "Logto did not register {identifier}: {}",
            refused(&answer)
        );
        if answer.location().ends_with("/register/verification-code") {
            let code = idp
                .code_for(identifier)
                .after(cursor)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            answer = self
                .post_form(
                    &format!("{base}/register/verification-code"),
                    &[("code", &code)],
                )
                .await;
            assert!(
                answer.status == 303,
                "Logto did not accept the code for {identifier}: {}",
                refused(&answer)
            );
        }
        let asks = answer.location().ends_with("/register/password")
            || answer.location().ends_with("/continue/password");
        assert!(
            asks,
            "Logto did not ask {identifier} for a password (the tenant's signUp has no \
             password): {answer:?}"
        );
        let password_page = answer.location().to_owned();
        let answer = self
            .post_form(
                &password_page,
                &[("password", password), ("confirm-password", password)],
            )
            .await;
        assert!(
            answer.status == 303,
            "Logto did not take the password of {identifier}: {}",
            refused(&answer)
        );
        let back = self.follow_within(base, answer).await;
        assert!(
            back.is_redirect(),
            "expected Logto's redirect back to the app, got {back:?}"
        );
        back
    }

    /// Resets a forgotten password on Logto's pages: from `from` (the app's redirect to Logto,
    /// or a first screen), "Forgot your password?" with `email`, the code Logto mails with its
    /// `ForgotPassword` template, then `new_password` twice. Returns Logto's sign-in page,
    /// which says "Password changed", to sign in from with
    /// [`sign_in_with_password`](Self::sign_in_with_password).
    ///
    /// # Panics
    ///
    /// When Logto does not reset it, with its message: no account for the email (Logto mails
    /// nothing then), a refused code, a password the tenant's policy refuses or the old one.
    pub async fn reset_password(
        &self,
        idp: &MockIdp,
        from: &Page,
        email: &str,
        new_password: &str,
    ) -> Page {
        let base = idp.base_url();
        self.first_screen(idp, from).await;
        let cursor = idp.inbox().cursor();
        let sent = self
            .post_form(&format!("{base}/forgot-password"), &[("identifier", email)])
            .await;
        assert!(
            sent.status == 303,
            "Logto did not send a reset code to {email}: {}",
            sent.alert().unwrap_or_else(|| format!("{sent:?}"))
        );
        let code = idp.code_for(email).after(cursor).await.unwrap_or_else(|e| {
            panic!("{e} (Logto mails no reset code to an email without an account)")
        });
        let verified = self
            .post_form(
                &format!("{base}/forgot-password/verification-code"),
                &[("code", &code)],
            )
            .await;
        assert!(
            verified.status == 303 && verified.location().ends_with("/forgot-password/reset"),
            "Logto did not accept the reset code for {email}: {}",
            verified.alert().unwrap_or_else(|| format!("{verified:?}"))
        );
        let reset = self
            .post_form(
                &format!("{base}/forgot-password/reset"),
                &[
                    ("password", new_password),
                    ("confirm-password", new_password),
                ],
            )
            .await;
        assert!(
            reset.status == 303,
            "Logto did not take the new password of {email}: {}",
            reset.alert().unwrap_or_else(|| format!("{reset:?}"))
        );
        self.follow_within(base, reset).await
    }

    /// Follows `from` to Logto's first screen, or panics saying why there is none.
    async fn first_screen(&self, idp: &MockIdp, from: &Page) -> Page {
        let base = idp.base_url();
        let first = self.follow_within(base, from.clone()).await;
        if first.is_redirect() {
            panic!(
                "Logto did not ask who is signing in: it sent the agent to {} (an IdP session of this \
                 agent is still alive: sign out first, or ask with prompt=login)",
                first.location()
            );
        }
        if let Some(description) = serde_json::from_str::<serde_json::Value>(&first.body)
            .ok()
            .and_then(|json| json["error_description"].as_str().map(str::to_owned))
        {
            let hint = if description.contains("redirect_uri") {
                " (register your app's callback with MockIdp::builder().redirect_uri(…))"
            } else {
                ""
            };
            panic!("Logto refused the authorization request: {description}{hint}");
        }
        assert!(
            first.status == 200 && first.has(r#"id="identifier""#),
            "expected Logto's first screen, got {first:?}"
        );
        first
    }

    async fn email_code(&self, idp: &MockIdp, from: &Page, email: &str, flow: Flow) -> Page {
        let base = idp.base_url();
        self.first_screen(idp, from).await;
        let cursor = idp.inbox().cursor();
        let root = flow.root();
        let sent = self
            .post_form(&format!("{base}{root}"), &[("identifier", email)])
            .await;
        assert!(
            sent.status == 303,
            "Logto did not send a code to {email}: {}",
            sent.alert().unwrap_or_else(|| format!("{sent:?}"))
        );
        let code = idp
            .code_for(email)
            .after(cursor)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let verified = self
            .post_form(
                &format!("{base}{root}/verification-code"),
                &[("code", &code)],
            )
            .await;
        if verified.status != 303 {
            match (verified.offer(), flow) {
                (Some(offer), Flow::SignIn) => panic!(
                    "Logto has no account for {email} ({offer}); sign up with \
                     sign_up_with_email_code, or add the user with MockIdp::builder().user(…)"
                ),
                (Some(offer), Flow::Register) => panic!(
                    "an account with {email} exists ({offer}); sign in with \
                     sign_in_with_email_code"
                ),
                (None, _) => panic!(
                    "Logto did not accept the code for {email}: {}",
                    verified.alert().unwrap_or_else(|| format!("{verified:?}"))
                ),
            }
        }
        let back = self.follow_within(base, verified).await;
        assert!(
            back.is_redirect(),
            "expected Logto's redirect back to the app, got {back:?}"
        );
        back
    }

    /// Answers Logto's sign-out page: from `from` (the app's redirect to Logto's end-session
    /// endpoint, or that page), confirms, and returns Logto's 303 to the post sign-out
    /// redirect URI (or to Logto's "signed out" page when the app named none).
    ///
    /// # Panics
    ///
    /// When Logto refuses the sign-out (an unregistered post sign-out URI), with its message.
    pub async fn confirm_sign_out(&self, idp: &MockIdp, from: &Page) -> Page {
        let page = self.follow_within(idp.base_url(), from.clone()).await;
        let xsrf = page
            .form_value("xsrf")
            .unwrap_or_else(|| panic!("expected Logto's sign-out page, got {page:?}"));
        let confirm = format!("{}/session/end/confirm", idp.issuer());
        let done = self
            .post_form(&confirm, &[("xsrf", &xsrf), ("logout", "yes")])
            .await;
        assert!(
            done.is_redirect(),
            "Logto did not confirm the sign-out: {done:?}"
        );
        done
    }
}

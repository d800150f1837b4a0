//! A forgotten password, as Logto resets it: the code through the connector's ForgotPassword
//! template, identification by that code, `PUT /api/experience/profile/password`, the submit,
//! and the pages from "Forgot your password?" back to signing in with the new password.

use mock_idp::{Agent, MockIdp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::idp_support::{Browser, Idp};

const ALICE: &str = "alice-Secret-1";

async fn begin<'a>(idp: &'a Idp, event: &str) -> Browser<'a> {
    let browser = Browser::new(idp);
    browser.start(&[]).await;
    let started = browser
        .api(
            Method::PUT,
            "/api/experience",
            Some(json!({"interactionEvent": event})),
        )
        .await;
    assert_eq!(started.status, 204, "{started:?}");
    browser
}

fn email(value: &str) -> Value {
    json!({"type": "email", "value": value})
}

fn assert_logto_error(answer: &mock_idp::Page, status: u16, code: &str) -> Value {
    assert_eq!(answer.status, status, "{answer:?}");
    let body = answer.json();
    assert_eq!(body["code"], code, "{answer:?}");
    body
}

/// Sends a reset code to `to`; its verification id.
async fn send(browser: &Browser<'_>, to: &str) -> String {
    let sent = browser
        .api(
            Method::POST,
            "/api/experience/verification/verification-code",
            Some(json!({"identifier": email(to), "interactionEvent": "ForgotPassword"})),
        )
        .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    sent.json()["verificationId"].as_str().unwrap().to_owned()
}

async fn new_password(browser: &Browser<'_>, password: &str) -> mock_idp::Page {
    browser
        .api(
            Method::PUT,
            "/api/experience/profile/password",
            Some(json!({"password": password})),
        )
        .await
}

async fn signs_in(idp: &MockIdp, identifier: &str, password: &str) -> bool {
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_in_url()).await;
    let first = agent.follow_within(idp.base_url(), to_logto).await;
    assert!(first.has(r#"id="identifier""#));
    agent
        .post_form(
            &format!("{}/sign-in", idp.base_url()),
            &[("identifier", identifier)],
        )
        .await;
    let answer = agent
        .post_form(
            &format!("{}/sign-in/password", idp.base_url()),
            &[("password", password)],
        )
        .await;
    answer.status == 303
}

#[tokio::test]
async fn a_reset_by_email_code_replaces_the_password() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "ForgotPassword").await;
    let cursor = idp.idp.inbox().cursor();
    let verification_id = send(&browser, "alice@example.com").await;
    let mail = idp
        .idp
        .inbox()
        .wait_for("alice@example.com")
        .after(cursor)
        .await
        .unwrap();
    assert_eq!(mail.to_json()["TemplateAlias"], "logto-forgot-password");
    let verified = browser
        .api(
            Method::POST,
            "/api/experience/verification/verification-code/verify",
            Some(json!({"identifier": email("alice@example.com"),
                        "verificationId": verification_id, "code": mail.code().unwrap()})),
        )
        .await;
    assert_eq!(verified.status, 200, "{verified:?}");
    let identified = browser
        .api(
            Method::POST,
            "/api/experience/identification",
            Some(json!({"verificationId": verification_id})),
        )
        .await;
    assert_eq!(identified.status, 204, "{identified:?}");

    let early = browser
        .api(Method::POST, "/api/experience/submit", None)
        .await;
    let body = assert_logto_error(&early, 422, "user.new_password_required_in_profile");
    assert_eq!(body["message"], "You need to set a new password.");
    assert_logto_error(
        &new_password(&browser, ALICE).await,
        422,
        "user.same_password",
    );
    assert_logto_error(
        &new_password(&browser, "short").await,
        422,
        "password.rejected",
    );
    assert_eq!(new_password(&browser, "alice-Secret-2").await.status, 204);
    let submitted = browser
        .api(Method::POST, "/api/experience/submit", None)
        .await;
    assert_eq!(submitted.status, 204, "{submitted:?}");
    assert!(submitted.body.is_empty(), "no redirectTo after a reset");

    assert!(signs_in(&idp.idp, "alice@example.com", "alice-Secret-2").await);
    assert!(!signs_in(&idp.idp, "alice@example.com", ALICE).await);
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_answer_and_no_mail() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "ForgotPassword").await;
    let mails = idp.idp.inbox().messages().len();
    send(&browser, "nobody@example.com").await;
    assert_eq!(
        idp.idp.inbox().messages().len(),
        mails,
        "nothing was mailed"
    );
    assert_eq!(
        idp.last_event("verification_code.not_sent").data["to"],
        "nobody@example.com"
    );
}

#[tokio::test]
async fn reset_steps_refuse_what_logto_refuses() {
    let idp = Idp::start().await;
    let sign_in = begin(&idp, "SignIn").await;
    let message = assert_logto_error(
        &new_password(&sign_in, "alice-Secret-2").await,
        400,
        "session.invalid_interaction_type",
    );
    assert_eq!(
        message["message"],
        "This operation is not supported for the current interaction. Please initiate a new session."
    );
    let reset = begin(&idp, "ForgotPassword").await;
    assert_logto_error(
        &new_password(&reset, "alice-Secret-2").await,
        404,
        "session.identifier_not_found",
    );
    let profile = reset
        .api(
            Method::POST,
            "/api/experience/profile",
            Some(json!({"type": "password", "value": "alice-Secret-2"})),
        )
        .await;
    assert_logto_error(&profile, 400, "session.not_supported_for_forgot_password");
    // A password proves nothing to a reset.
    let verified = reset
        .api(
            Method::POST,
            "/api/experience/verification/password",
            Some(json!({"identifier": email("alice@example.com"), "password": ALICE})),
        )
        .await;
    let verification_id = verified.json()["verificationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let identified = reset
        .api(
            Method::POST,
            "/api/experience/identification",
            Some(json!({"verificationId": verification_id})),
        )
        .await;
    assert_logto_error(
        &identified,
        422,
        "session.not_supported_for_forgot_password",
    );
}

#[tokio::test]
async fn a_tenant_without_email_resets_refuses_to_send_a_reset_code() {
    let mut tenant = mock_idp::tenant::Tenant::fixture().unwrap();
    tenant.sign_in_experience.forgot_password_methods = Some(Vec::new());
    let idp = Idp::start_with(MockIdp::builder().tenant(tenant)).await;
    let browser = begin(&idp, "ForgotPassword").await;
    let sent = browser
        .api(
            Method::POST,
            "/api/experience/verification/verification-code",
            Some(json!({"identifier": email("alice@example.com"), "interactionEvent": "ForgotPassword"})),
        )
        .await;
    assert_logto_error(&sent, 422, "user.sign_in_method_not_enabled");
}

#[tokio::test]
async fn on_the_pages_a_forgotten_password_is_reset_and_signs_in() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    browser.start(&[]).await;
    browser
        .post_form("/sign-in", &[("identifier", "bob")])
        .await;
    let password_page = browser.get("/sign-in/password").await;
    assert!(password_page.has(r#"id="forgot-password" href="/forgot-password""#));
    let forgot = browser.get("/forgot-password").await;
    assert_eq!(
        forgot
            .text_of("description")
            .as_deref()
            .map(|d| d.starts_with("Enter the email")),
        Some(true)
    );
    let cursor = idp.idp.inbox().cursor();
    let sent = browser
        .post_form("/forgot-password", &[("identifier", "bob@example.com")])
        .await;
    assert!(
        sent.location()
            .ends_with("/forgot-password/verification-code"),
        "{sent:?}"
    );
    let code = idp
        .idp
        .code_for("bob@example.com")
        .after(cursor)
        .await
        .unwrap();
    let verified = browser
        .post_form("/forgot-password/verification-code", &[("code", &code)])
        .await;
    assert!(
        verified.location().ends_with("/forgot-password/reset"),
        "{verified:?}"
    );
    let mismatch = browser
        .post_form(
            "/forgot-password/reset",
            &[
                ("password", "bob-Secret-2"),
                ("confirm-password", "bob-Secret-3"),
            ],
        )
        .await;
    assert_eq!(
        mismatch.alert().as_deref(),
        Some("Your passwords don’t match. Please try again.")
    );
    let same = browser
        .post_form(
            "/forgot-password/reset",
            &[
                ("password", "bob-Secret-1"),
                ("confirm-password", "bob-Secret-1"),
            ],
        )
        .await;
    assert_eq!(
        same.alert().as_deref(),
        Some("New password cannot be the same as your old password.")
    );
    let changed = browser
        .post_form(
            "/forgot-password/reset",
            &[
                ("password", "bob-Secret-2"),
                ("confirm-password", "bob-Secret-2"),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{changed:?}");
    let sign_in = browser.follow(changed).await;
    assert!(
        sign_in.has(r#"<div id="notice" role="status">Password changed</div>"#),
        "{sign_in:?}"
    );
    browser
        .post_form("/sign-in", &[("identifier", "bob")])
        .await;
    let signed_in = browser
        .post_form("/sign-in/password", &[("password", "bob-Secret-2")])
        .await;
    assert_eq!(signed_in.status, 303, "{signed_in:?}");
}

#[tokio::test]
async fn the_reset_password_first_screen_starts_a_reset() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    let first = browser.start(&[("first_screen", "reset_password")]).await;
    assert!(first.has("<h1>Reset password</h1>"), "{first:?}");
    assert!(first.has(r#"action="/forgot-password""#), "{first:?}");
}

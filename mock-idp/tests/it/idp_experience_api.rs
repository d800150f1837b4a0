//! The Experience API, driven as Logto's experience app drives it: every rule, and full flows
//! from `/oidc/auth` to the app's callback and the token exchange.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::idp_support::{Browser, Idp, jwt_part};

const PUT: Method = Method::PUT;
const POST: Method = Method::POST;
const GET: Method = Method::GET;

fn email(value: &str) -> Value {
    json!({"type": "email", "value": value})
}

/// Starts an interaction and the experience for `event`.
async fn begin<'a>(idp: &'a Idp, event: &str) -> Browser<'a> {
    let browser = Browser::new(idp);
    browser.start(&[]).await;
    let started = browser
        .api(
            PUT,
            "/api/experience",
            Some(json!({"interactionEvent": event})),
        )
        .await;
    assert_eq!(started.status, 204, "{started:?}");
    browser
}

/// Sends a code to `to` and reads it from the inbox; returns (verificationId, code).
async fn send(browser: &Browser<'_>, to: &str, event: &str) -> (String, String) {
    let cursor = browser.idp.idp.inbox().cursor();
    let sent = browser
        .api(
            POST,
            "/api/experience/verification/verification-code",
            Some(json!({"identifier": email(to), "interactionEvent": event})),
        )
        .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    let id = sent.json()["verificationId"].as_str().unwrap().to_owned();
    let mail = browser
        .idp
        .idp
        .inbox()
        .wait_for(to)
        .after(cursor)
        .await
        .unwrap();
    (id, mail.code().unwrap().to_owned())
}

async fn verify(browser: &Browser<'_>, to: &str, id: &str, code: &str) -> mock_idp::Page {
    browser
        .api(
            POST,
            "/api/experience/verification/verification-code/verify",
            Some(json!({"identifier": email(to), "verificationId": id, "code": code})),
        )
        .await
}

async fn identify(browser: &Browser<'_>, id: &str) -> mock_idp::Page {
    browser
        .api(
            POST,
            "/api/experience/identification",
            Some(json!({"verificationId": id})),
        )
        .await
}

fn assert_logto_error(answer: &mock_idp::Page, status: u16, code: &str) -> String {
    assert_eq!(answer.status, status, "{answer:?}");
    let body = answer.json();
    assert_eq!(body["code"], code, "{answer:?}");
    body["message"].as_str().unwrap().to_owned()
}

/// Submits, follows `redirectTo` and exchanges the code; returns the ID token's claims.
async fn finish(browser: &Browser<'_>) -> Value {
    let submitted = browser.api(POST, "/api/experience/submit", None).await;
    assert_eq!(submitted.status, 200, "{submitted:?}");
    let redirect_to = submitted.json()["redirectTo"].as_str().unwrap().to_owned();
    assert!(redirect_to.starts_with(&format!("{}/auth/", browser.idp.idp.issuer())));
    let back = browser.get(&redirect_to).await;
    let code = back.location_param("code").expect("a code for the app");
    let tokens = browser.idp.exchange(&code).await.json();
    jwt_part(tokens["id_token"].as_str().unwrap(), 1)
}

#[tokio::test]
async fn an_existing_user_signs_in_with_the_emailed_code() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "SignIn").await;
    let (id, code) = send(&browser, "alice@example.com", "SignIn").await;
    let verified = verify(&browser, "alice@example.com", &id, &code).await;
    assert_eq!(verified.status, 200);
    assert_eq!(verified.json()["verificationId"], id);
    assert_eq!(identify(&browser, &id).await.status, 204);
    let claims = finish(&browser).await;
    assert_eq!(claims["sub"], idp.idp.user("alice@example.com").unwrap().id);
    assert_eq!(claims["email_verified"], true);
}

#[tokio::test]
async fn a_new_user_registers_with_the_emailed_code() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "Register").await;
    let (id, code) = send(&browser, "New.User@Example.com", "Register").await;
    assert_eq!(
        verify(&browser, "New.User@Example.com", &id, &code)
            .await
            .status,
        200
    );
    assert_eq!(identify(&browser, &id).await.status, 201, "created");
    let user = idp
        .idp
        .user("new.user@example.com")
        .expect("the user exists");
    assert_eq!(user.id.len(), 12);
    assert!(
        user.id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    );
    assert_eq!(user.primary_email.as_deref(), Some("New.User@Example.com"));
    let claims = finish(&browser).await;
    assert_eq!(claims["sub"], user.id);
    assert_eq!(claims["email"], "New.User@Example.com");
}

#[tokio::test]
async fn an_unknown_email_at_sign_in_can_switch_to_registration() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "SignIn").await;
    let (id, code) = send(&browser, "carol@example.com", "SignIn").await;
    verify(&browser, "carol@example.com", &id, &code).await;
    let unknown = identify(&browser, &id).await;
    let message = assert_logto_error(&unknown, 404, "user.user_not_exist");
    // Logto hands the identifier over as data; its phrase keeps the placeholder.
    assert_eq!(message, "User with {{ identifier }} does not exist.");
    assert_eq!(
        unknown.json()["data"],
        json!({"identifier": "carol@example.com"})
    );
    assert!(
        idp.idp.user("carol@example.com").is_none(),
        "nothing created yet"
    );
    let switched = browser
        .api(
            PUT,
            "/api/experience/interaction-event",
            Some(json!({"interactionEvent": "Register"})),
        )
        .await;
    assert_eq!(switched.status, 204);
    assert_eq!(identify(&browser, &id).await.status, 201);
    let claims = finish(&browser).await;
    let carol = idp.idp.user("carol@example.com").expect("registered");
    assert_eq!(claims["sub"], carol.id);
    assert_eq!(claims["email"], "carol@example.com");
}

#[tokio::test]
async fn a_known_email_cannot_register_again() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "Register").await;
    let (id, code) = send(&browser, "alice@example.com", "Register").await;
    verify(&browser, "alice@example.com", &id, &code).await;
    let message = assert_logto_error(
        &identify(&browser, &id).await,
        422,
        "user.email_already_in_use",
    );
    assert_eq!(
        message,
        "This email is associated with an existing account."
    );
}

#[tokio::test]
async fn each_event_uses_its_template_and_the_connector_sends_logtos_request() {
    let idp = Idp::start().await;
    for (event, alias) in [("SignIn", "logto-sign-in"), ("Register", "logto-register")] {
        let browser = begin(&idp, event).await;
        send(&browser, "alice@example.com", event).await;
        let mail = idp.idp.inbox().latest_to("alice@example.com").unwrap();
        assert_eq!(mail.template_alias(), Some(alias));
        let sent = mail.sent_json();
        let sent = sent.as_object().unwrap();
        assert_eq!(
            sent.keys().collect::<Vec<_>>(),
            ["From", "TemplateAlias", "To", "TemplateModel"]
        );
        assert_eq!(sent["From"], "noreply@example.com");
        let model = mail.template_model().unwrap();
        assert_eq!(
            model.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["code", "locale", "application"]
        );
        assert_eq!(model["locale"], "en");
        assert_eq!(model["application"]["name"], "Sample app");
        let request_headers = mail.request_headers();
        let headers: Vec<(&str, &str)> = request_headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_str()))
            .collect();
        assert!(headers.contains(&("x-postmark-server-token", "[redacted]")));
        assert!(headers.contains(&("accept", "application/json")));
        assert!(headers.contains(&("content-type", "application/json")));
        assert!(headers.contains(&("user-agent", "Postmark.JS - 4.0.7")));
    }
}

#[tokio::test]
async fn a_wrong_code_is_code_mismatch_and_ten_misses_kill_the_code() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "SignIn").await;
    let (id, code) = send(&browser, "alice@example.com", "SignIn").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..10 {
        let message = assert_logto_error(
            &verify(&browser, "alice@example.com", &id, wrong).await,
            400,
            "verification_code.code_mismatch",
        );
        assert_eq!(message, "Invalid verification code.");
    }
    let message = assert_logto_error(
        &verify(&browser, "alice@example.com", &id, &code).await,
        400,
        "verification_code.exceed_max_try",
    );
    assert_eq!(
        message,
        "Verification code retries limitation exceeded. Please request a new verification code."
    );
}

#[tokio::test]
async fn a_code_expires_after_600_seconds_of_mock_time() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "SignIn").await;
    let (id, code) = send(&browser, "alice@example.com", "SignIn").await;
    idp.idp.clock().advance(Duration::from_secs(601));
    assert_logto_error(
        &verify(&browser, "alice@example.com", &id, &code).await,
        400,
        "verification_code.expired",
    );
}

#[tokio::test]
async fn a_new_send_replaces_the_previous_verification() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "SignIn").await;
    let (old_id, old_code) = send(&browser, "alice@example.com", "SignIn").await;
    let (new_id, new_code) = send(&browser, "alice@example.com", "SignIn").await;
    assert_ne!(old_id, new_id);
    // Logto keeps one record per verification type: the old id is gone.
    assert_logto_error(
        &verify(&browser, "alice@example.com", &old_id, &old_code).await,
        404,
        "session.verification_session_not_found",
    );
    assert_eq!(
        verify(&browser, "alice@example.com", &new_id, &new_code)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_verified_code_is_consumed_and_cannot_be_verified_again() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "SignIn").await;
    let (id, code) = send(&browser, "alice@example.com", "SignIn").await;
    assert_eq!(
        verify(&browser, "alice@example.com", &id, &code)
            .await
            .status,
        200
    );
    let message = assert_logto_error(
        &verify(&browser, "alice@example.com", &id, &code).await,
        400,
        "verification_code.not_found",
    );
    assert_eq!(
        message,
        "Verification code not found. Please send verification code first."
    );
    // The verification itself stands: the email is still identified and signs in.
    assert_eq!(identify(&browser, &id).await.status, 204);
    finish(&browser).await;
}

#[tokio::test]
async fn other_verification_errors() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "SignIn").await;
    let (id, code) = send(&browser, "alice@example.com", "SignIn").await;
    assert_logto_error(
        &verify(&browser, "bob@example.com", &id, &code).await,
        400,
        "verification_code.email_mismatch",
    );
    assert_logto_error(
        &verify(&browser, "alice@example.com", "nope", &code).await,
        404,
        "session.verification_session_not_found",
    );
    assert_logto_error(
        &identify(&browser, &id).await,
        400,
        "session.verification_failed",
    );
    assert_logto_error(
        &browser.api(POST, "/api/experience/submit", None).await,
        404,
        "session.identifier_not_found",
    );
}

#[tokio::test]
async fn ten_sends_per_recipient_per_ten_minutes() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "SignIn").await;
    for _ in 0..10 {
        send(&browser, "alice@example.com", "SignIn").await;
    }
    let body = json!({"identifier": email("alice@example.com"), "interactionEvent": "SignIn"});
    let limited = browser
        .api(
            POST,
            "/api/experience/verification/verification-code",
            Some(body.clone()),
        )
        .await;
    let message = assert_logto_error(&limited, 429, "request.message_rate_limited");
    assert_eq!(
        message,
        "Too many messages sent to this recipient. Please try again later."
    );
    idp.idp.clock().advance(Duration::from_secs(601));
    let again = browser
        .api(
            POST,
            "/api/experience/verification/verification-code",
            Some(body),
        )
        .await;
    assert_eq!(again.status, 200, "the window moved on");
}

#[tokio::test]
async fn concurrent_sends_never_exceed_the_limit() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "SignIn").await;
    let body = json!({"identifier": email("alice@example.com"), "interactionEvent": "SignIn"});
    let answers = futures_util::future::join_all((0..15).map(|_| {
        browser.api(
            POST,
            "/api/experience/verification/verification-code",
            Some(body.clone()),
        )
    }))
    .await;
    let sent = answers.iter().filter(|a| a.status == 200).count();
    let limited = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!((sent, limited), (10, 5), "{answers:?}");
}

#[tokio::test]
async fn requests_without_an_interaction_or_with_bad_bodies() {
    let idp = Idp::start().await;
    let stranger = Browser::new(&idp);
    let answer = stranger
        .api(
            PUT,
            "/api/experience",
            Some(json!({"interactionEvent": "SignIn"})),
        )
        .await;
    let message = assert_logto_error(&answer, 400, "session.not_found");
    assert_eq!(
        message,
        "Session not found. Please go back and sign in again."
    );

    let browser = begin(&idp, "SignIn").await;
    assert_logto_error(
        &browser
            .api(
                PUT,
                "/api/experience",
                Some(json!({"interactionEvent": "Nope"})),
            )
            .await,
        400,
        "guard.invalid_input",
    );
    assert_logto_error(
        &browser.api(PUT, "/api/experience", Some(json!([]))).await,
        400,
        "guard.invalid_input",
    );
    let phone = json!({"identifier": {"type": "phone", "value": "+15551234567"}, "interactionEvent": "SignIn"});
    assert_logto_error(
        &browser
            .api(
                POST,
                "/api/experience/verification/verification-code",
                Some(phone),
            )
            .await,
        501,
        "connector.not_found",
    );
    let bad = json!({"identifier": email("not-an-email"), "interactionEvent": "SignIn"});
    assert_logto_error(
        &browser
            .api(
                POST,
                "/api/experience/verification/verification-code",
                Some(bad),
            )
            .await,
        400,
        "guard.invalid_input",
    );
}

#[tokio::test]
async fn the_interaction_can_be_read_without_its_codes() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "SignIn").await;
    let (id, _) = send(&browser, "alice@example.com", "SignIn").await;
    let read = browser.api(GET, "/api/experience/interaction", None).await;
    assert_eq!(read.status, 200);
    let body = read.json();
    assert_eq!(body["interactionEvent"], "SignIn");
    assert_eq!(body["verificationRecords"][0]["id"], id);
    assert_eq!(body["verificationRecords"][0]["verified"], false);
    assert!(
        !read.body.contains(
            &idp.idp
                .inbox()
                .latest_to("alice@example.com")
                .unwrap()
                .code()
                .unwrap()
                .to_owned()
        )
    );
}

#[tokio::test]
async fn a_postmark_outage_is_connector_general_creates_nothing_and_a_retry_works() {
    let idp = Idp::start().await;
    let browser = begin(&idp, "Register").await;
    idp.idp.postmark().unwrap().fail_next(1, 503, 100);
    let body = json!({"identifier": email("dora@example.com"), "interactionEvent": "Register"});
    let failed = browser
        .api(
            POST,
            "/api/experience/verification/verification-code",
            Some(body),
        )
        .await;
    let message = assert_logto_error(&failed, 400, "connector.general");
    assert_eq!(
        message,
        r#"Error occurred in connector: {"message":"The Postmark API is offline for maintenance. Please retry later."}"#
    );
    assert_eq!(
        failed.json()["data"]["message"],
        "The Postmark API is offline for maintenance. Please retry later."
    );
    let read = browser
        .api(GET, "/api/experience/interaction", None)
        .await
        .json();
    assert_eq!(
        read["verificationRecords"],
        json!([]),
        "nothing half-created"
    );
    assert!(idp.idp.user("dora@example.com").is_none());

    let (id, code) = send(&browser, "dora@example.com", "Register").await;
    verify(&browser, "dora@example.com", &id, &code).await;
    assert_eq!(identify(&browser, &id).await.status, 201);
    finish(&browser).await;
}

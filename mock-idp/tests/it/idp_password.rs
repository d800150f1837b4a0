//! Password sign-in, as Logto does it: the Experience API's `verification/password`, the
//! pages' identifier-first and one-page forms, Logto's answers to wrong passwords, suspended
//! users, methods the tenant has not enabled, the sign-in mode, and the sentinel's lockout.

use std::time::Duration;

use mock_idp::tenant::{SentinelPolicy, SignInMethod, SignInMode, Tenant};
use mock_idp::{Agent, MockIdp, User};
use reqwest::Method;
use serde_json::{Value, json};

use crate::idp_support::{Browser, Idp, jwt_part};

/// The fixture's clear passwords (fixtures/README.md).
const ALICE: &str = "alice-Secret-1";
const BOB: &str = "bob-Secret-1";

fn id(kind: &str, value: &str) -> Value {
    json!({"type": kind, "value": value})
}

async fn begin<'a>(idp: &'a Idp) -> Browser<'a> {
    let browser = Browser::new(idp);
    browser.start(&[]).await;
    let started = browser
        .api(
            Method::PUT,
            "/api/experience",
            Some(json!({"interactionEvent": "SignIn"})),
        )
        .await;
    assert_eq!(started.status, 204, "{started:?}");
    browser
}

async fn verify(browser: &Browser<'_>, identifier: Value, password: &str) -> mock_idp::Page {
    browser
        .api(
            Method::POST,
            "/api/experience/verification/password",
            Some(json!({"identifier": identifier, "password": password})),
        )
        .await
}

async fn identify(browser: &Browser<'_>, verification_id: &str) -> mock_idp::Page {
    browser
        .api(
            Method::POST,
            "/api/experience/identification",
            Some(json!({"verificationId": verification_id})),
        )
        .await
}

fn assert_logto_error(answer: &mock_idp::Page, status: u16, code: &str) -> String {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.json()["code"], code, "{answer:?}");
    answer.json()["message"].as_str().unwrap().to_owned()
}

/// Submits, follows `redirectTo` and exchanges the code; the ID token's claims.
async fn finish(browser: &Browser<'_>) -> Value {
    let submitted = browser
        .api(Method::POST, "/api/experience/submit", None)
        .await;
    assert_eq!(submitted.status, 200, "{submitted:?}");
    let redirect_to = submitted.json()["redirectTo"].as_str().unwrap().to_owned();
    let back = browser.get(&redirect_to).await;
    let code = back.location_param("code").expect("a code for the app");
    let tokens = browser.idp.exchange(&code).await.json();
    jwt_part(tokens["id_token"].as_str().unwrap(), 1)
}

/// The fixture tenant with other sign-in methods, mode or sentinel policy.
fn tenant(change: impl FnOnce(&mut Tenant)) -> Tenant {
    let mut tenant = Tenant::fixture().unwrap();
    change(&mut tenant);
    tenant
}

fn method(identifier: &str, password: bool, code: bool) -> SignInMethod {
    SignInMethod {
        identifier: identifier.into(),
        password,
        verification_code: code,
        is_password_primary: password,
    }
}

#[tokio::test]
async fn a_user_signs_in_with_a_username_or_an_email_and_their_password() {
    let idp = Idp::start().await;
    for (identifier, password, sub_of) in [
        (id("username", "bob"), BOB, "bob@example.com"),
        (id("email", "ALICE@example.com"), ALICE, "alice@example.com"),
    ] {
        let browser = begin(&idp).await;
        let verified = verify(&browser, identifier, password).await;
        assert_eq!(verified.status, 200, "{verified:?}");
        let verification_id = verified.json()["verificationId"]
            .as_str()
            .unwrap()
            .to_owned();
        let read = browser
            .api(Method::GET, "/api/experience/interaction", None)
            .await
            .json();
        let records = read["verificationRecords"].as_array().unwrap();
        assert_eq!(records[0]["type"], "Password", "{read}");
        assert_eq!(identify(&browser, &verification_id).await.status, 204);
        let claims = finish(&browser).await;
        assert_eq!(claims["sub"], idp.idp.user(sub_of).unwrap().id);
    }
}

#[tokio::test]
async fn a_wrong_password_an_unknown_user_and_no_password_answer_alike() {
    let idp = Idp::start_with(MockIdp::builder().user(User::email("carol@example.com"))).await;
    let browser = begin(&idp).await;
    let mut bodies = Vec::new();
    for (identifier, password) in [
        (id("username", "bob"), "bob-Secret-2"),
        (id("username", "nobody"), BOB),
        (id("email", "carol@example.com"), "anything"),
    ] {
        let refused = verify(&browser, identifier, password).await;
        let message = assert_logto_error(&refused, 422, "session.invalid_credentials");
        assert_eq!(
            message,
            "Incorrect account or password. Please check your input."
        );
        bodies.push(refused.body);
    }
    bodies.dedup();
    assert_eq!(bodies.len(), 1, "nothing tells the three apart");
    let empty = verify(&browser, id("username", "bob"), "").await;
    assert_logto_error(&empty, 400, "guard.invalid_input");
    let unknown_type = verify(&browser, id("nickname", "bob"), BOB).await;
    assert_logto_error(&unknown_type, 400, "guard.invalid_input");
}

#[tokio::test]
async fn a_suspended_user_learns_it_only_with_the_right_password() {
    let idp = Idp::start().await;
    idp.idp
        .update_user("bob", json!({"isSuspended": true}))
        .unwrap();
    let browser = begin(&idp).await;
    let wrong = verify(&browser, id("username", "bob"), "wrong").await;
    assert_logto_error(&wrong, 422, "session.invalid_credentials");
    let right = verify(&browser, id("username", "bob"), BOB).await;
    assert_logto_error(&right, 401, "user.suspended");
}

#[tokio::test]
async fn identification_refuses_a_method_the_tenant_has_not_enabled() {
    let idp = Idp::start_with(MockIdp::builder().tenant(tenant(|t| {
        t.sign_in_experience.sign_in.methods = vec![method("email", false, true)];
    })))
    .await;
    let browser = begin(&idp).await;
    // Logto checks the password first and the method at identification.
    let verified = verify(&browser, id("email", "alice@example.com"), ALICE).await;
    assert_eq!(verified.status, 200, "{verified:?}");
    let verification_id = verified.json()["verificationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = identify(&browser, &verification_id).await;
    assert_logto_error(&refused, 422, "user.sign_in_method_not_enabled");
}

#[tokio::test]
async fn the_sign_in_mode_and_password_resets_bound_the_interaction_event() {
    let idp = Idp::start_with(MockIdp::builder().tenant(tenant(|t| {
        t.sign_in_experience.sign_in_mode = SignInMode::SignIn;
    })))
    .await;
    let browser = begin(&idp).await;
    let to_register = browser
        .api(
            Method::PUT,
            "/api/experience/interaction-event",
            Some(json!({"interactionEvent": "Register"})),
        )
        .await;
    assert_logto_error(&to_register, 403, "auth.forbidden");
    let to_reset = browser
        .api(
            Method::PUT,
            "/api/experience/interaction-event",
            Some(json!({"interactionEvent": "ForgotPassword"})),
        )
        .await;
    let message = assert_logto_error(&to_reset, 400, "session.not_supported_for_forgot_password");
    assert_eq!(
        message,
        "This operation is not supported for forgot password."
    );

    let register_only = Idp::start_with(MockIdp::builder().tenant(tenant(|t| {
        t.sign_in_experience.sign_in_mode = SignInMode::Register;
    })))
    .await;
    let browser = begin(&register_only).await;
    let verified = verify(&browser, id("username", "bob"), BOB).await;
    let verification_id = verified.json()["verificationId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_logto_error(
        &identify(&browser, &verification_id).await,
        403,
        "auth.forbidden",
    );
}

#[tokio::test]
async fn the_sentinel_locks_an_identifier_out_after_too_many_failures_even_for_the_right_password()
{
    let policy = SentinelPolicy {
        max_attempts: 5,
        lockout_duration: 10,
    };
    let idp = Idp::start_with(
        MockIdp::builder().tenant(tenant(|t| t.sign_in_experience.sentinel_policy = policy)),
    )
    .await;
    let browser = begin(&idp).await;
    for _ in 0..4 {
        let wrong = verify(&browser, id("username", "bob"), "wrong").await;
        assert_logto_error(&wrong, 422, "session.invalid_credentials");
    }
    let fifth = verify(&browser, id("username", "bob"), "wrong").await;
    let message = assert_logto_error(
        &fifth,
        400,
        "session.verification_blocked_too_many_attempts",
    );
    assert_eq!(
        message,
        "Too many attempts in a short time. Please try again in 10 minutes."
    );
    let right = verify(&browser, id("username", "bob"), BOB).await;
    assert_logto_error(
        &right,
        400,
        "session.verification_blocked_too_many_attempts",
    );
    // Other identifiers are not locked; the lockout ends with its time.
    assert_eq!(
        verify(&browser, id("email", "alice@example.com"), ALICE)
            .await
            .status,
        200
    );
    idp.idp.clock().advance(Duration::from_secs(10 * 60));
    assert_eq!(
        verify(&browser, id("username", "bob"), BOB).await.status,
        200
    );
}

#[tokio::test]
async fn on_the_pages_a_username_goes_to_the_password_and_a_wrong_one_says_so() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    let first = browser.start(&[]).await;
    assert!(first.has(r#"<label for="identifier">Username / Email</label>"#));
    let to_password = browser
        .post_form("/sign-in", &[("identifier", "bob")])
        .await;
    assert_eq!(to_password.status, 303, "{to_password:?}");
    assert!(to_password.location().ends_with("/sign-in/password"));
    let page = browser.get("/sign-in/password").await;
    assert_eq!(page.text_of("account").as_deref(), Some("bob"));
    assert!(page.has(r#"id="password""#));
    assert!(
        !page.has(r#"id="switch-to-code""#),
        "a username has no code"
    );
    let wrong = browser
        .post_form("/sign-in/password", &[("password", "nope")])
        .await;
    assert_eq!(wrong.status, 400);
    assert_eq!(
        wrong.alert().as_deref(),
        Some("Incorrect account or password. Please check your input.")
    );
    let right = browser
        .post_form("/sign-in/password", &[("password", BOB)])
        .await;
    assert_eq!(right.status, 303, "{right:?}");
    let back = browser.follow(right).await;
    assert!(back.location_param("code").is_some(), "{back:?}");
}

#[tokio::test]
async fn an_email_gets_a_code_and_can_switch_to_its_password_and_back() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    browser.start(&[]).await;
    let sent = browser
        .post_form("/sign-in", &[("identifier", "alice@example.com")])
        .await;
    assert!(sent.location().ends_with("/sign-in/verification-code"));
    let code_page = browser.get("/sign-in/verification-code").await;
    assert!(code_page.has(r#"id="switch-to-password" href="/sign-in/password""#));
    let password_page = browser.get("/sign-in/password").await;
    assert_eq!(
        password_page.text_of("account").as_deref(),
        Some("alice@example.com")
    );
    assert!(password_page.has(r#"id="switch-to-code""#));
    let signed_in = browser
        .post_form("/sign-in/password", &[("password", ALICE)])
        .await;
    assert_eq!(signed_in.status, 303, "{signed_in:?}");
}

#[tokio::test]
async fn a_password_only_tenant_asks_for_both_on_one_page() {
    // Logto's default for a new OSS tenant: username and password.
    let idp = Idp::start_with(MockIdp::builder().tenant(tenant(|t| {
        t.sign_in_experience.sign_in.methods = vec![method("username", true, false)];
    })))
    .await;
    let agent = Agent::new();
    let to_logto = agent.get(&idp.idp.sign_in_url()).await;
    let first = agent
        .follow_within(idp.idp.base_url(), to_logto.clone())
        .await;
    assert!(first.has(r#"<label for="identifier">Username</label>"#));
    assert!(first.has(r#"id="password""#));
    let back = agent
        .sign_in_with_password(&idp.idp, &to_logto, "bob", BOB)
        .await;
    assert!(back.location_param("code").is_some(), "{back:?}");
}

#[tokio::test]
async fn the_agent_signs_in_with_a_password_and_names_logtos_reason_when_it_cannot() {
    let idp = MockIdp::builder()
        .user(User::email("dana@example.com").password("dana-Secret-1"))
        .start()
        .await
        .unwrap();
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_in_url()).await;
    let back = agent
        .sign_in_with_password(&idp, &to_logto, "dana@example.com", "dana-Secret-1")
        .await;
    assert!(back.location().starts_with(&idp.client().redirect_uris[0]));

    let refused = tokio::spawn(async move {
        let agent = Agent::new();
        let to_logto = agent.get(&idp.sign_in_url()).await;
        agent
            .sign_in_with_password(&idp, &to_logto, "bob", "wrong")
            .await;
    })
    .await
    .unwrap_err();
    let message = refused.into_panic();
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("Incorrect account or password"),
        "{message}"
    );
}

#[tokio::test]
async fn passwords_are_kept_as_digests_and_set_through_the_control_plane() {
    let idp = MockIdp::start().await.unwrap();
    let added = idp
        .add_user(User::email("erin@example.com").password("erin-Secret-1"))
        .unwrap();
    assert!(added.password.is_none(), "no clear password is kept");
    assert_eq!(added.password_encryption_method.as_deref(), Some("SHA256"));
    let listed = serde_json::to_value(idp.user("erin@example.com").unwrap()).unwrap();
    assert!(!listed.to_string().contains("erin-Secret-1"), "{listed}");
    idp.update_user("erin@example.com", json!({"password": "erin-Secret-2"}))
        .unwrap();
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_in_url()).await;
    agent
        .sign_in_with_password(&idp, &to_logto, "erin@example.com", "erin-Secret-2")
        .await;
}

#[tokio::test]
async fn a_tenant_with_digests_the_mock_cannot_check_is_refused_at_start() {
    let mut argon = User::email("frank@example.com");
    argon.password_encrypted = Some("$argon2i$v=19$m=8192,t=8,p=1$c2FsdA$aGFzaA".into());
    argon.password_encryption_method = Some("Argon2i".into());
    let error = MockIdp::builder().user(argon).start().await.unwrap_err();
    assert!(error.to_string().contains("Argon2i digest"), "{error}");
}

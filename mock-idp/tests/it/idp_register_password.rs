//! Registration with a password, as Logto does it: a username and a password (through the
//! profile, or `new-password-identity`), an email code then a password, Logto's
//! `user.missing_profile` and `password.rejected` answers, and the pages that ask.

use mock_idp::tenant::{SignUp, Tenant};
use mock_idp::{Agent, MockIdp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::idp_support::{Browser, Idp, jwt_part};

/// The fixture tenant signing up with `identifiers` and a password (Logto's OSS default is
/// `["username"]`, Cloud's `["email"]`).
async fn idp_signing_up_with(identifiers: &[&str]) -> Idp {
    let mut tenant = Tenant::fixture().unwrap();
    tenant.sign_in_experience.sign_up = SignUp {
        identifiers: identifiers.iter().map(|i| (*i).to_owned()).collect(),
        password: true,
        verify: identifiers.contains(&"email"),
    };
    Idp::start_with(MockIdp::builder().tenant(tenant)).await
}

async fn begin<'a>(idp: &'a Idp, event: &str) -> Browser<'a> {
    let browser = Browser::new(idp);
    browser.start(&[("interaction_mode", "signUp")]).await;
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

async fn post(browser: &Browser<'_>, path: &str, body: Value) -> mock_idp::Page {
    browser.api(Method::POST, path, Some(body)).await
}

fn assert_logto_error(answer: &mock_idp::Page, status: u16, code: &str) -> Value {
    assert_eq!(answer.status, status, "{answer:?}");
    let body = answer.json();
    assert_eq!(body["code"], code, "{answer:?}");
    body
}

/// Submits and exchanges the code; the ID token's claims.
async fn finish(browser: &Browser<'_>) -> Value {
    let submitted = browser
        .api(Method::POST, "/api/experience/submit", None)
        .await;
    assert_eq!(submitted.status, 200, "{submitted:?}");
    let redirect_to = submitted.json()["redirectTo"].as_str().unwrap().to_owned();
    let back = browser.get(&redirect_to).await;
    let tokens = browser
        .idp
        .exchange(&back.location_param("code").unwrap())
        .await
        .json();
    jwt_part(tokens["id_token"].as_str().unwrap(), 1)
}

#[tokio::test]
async fn a_username_and_a_password_make_an_account_that_signs_in_with_them() {
    let idp = idp_signing_up_with(&["username"]).await;
    let browser = begin(&idp, "Register").await;
    let named = post(
        &browser,
        "/api/experience/profile",
        json!({"type": "username", "value": "dana"}),
    )
    .await;
    assert_eq!(named.status, 204, "{named:?}");
    let read = browser
        .api(reqwest::Method::GET, "/api/experience/interaction", None)
        .await
        .json();
    assert_eq!(read["profile"], json!({"username": "dana"}));
    let missing = post(&browser, "/api/experience/identification", json!({})).await;
    let body = assert_logto_error(&missing, 422, "user.missing_profile");
    assert_eq!(body["data"], json!({"missingProfile": ["password"]}));

    let weak = post(
        &browser,
        "/api/experience/profile",
        json!({"type": "password", "value": "dana1"}),
    )
    .await;
    let body = assert_logto_error(&weak, 422, "password.rejected");
    assert_eq!(
        body["message"],
        "Password rejected. Please check if your password meets the requirements."
    );
    // Every issue, as Logto's checker lists them: too short, and mostly the username.
    assert_eq!(
        body["data"],
        json!([
            {"code": "password_rejected.too_short", "interpolation": {"min": 8}},
            {"code": "password_rejected.restricted.user_info"}
        ])
    );
    let strong = post(
        &browser,
        "/api/experience/profile",
        json!({"type": "password", "value": "dana-Secret-1"}),
    )
    .await;
    assert_eq!(strong.status, 204, "{strong:?}");
    let created = post(&browser, "/api/experience/identification", json!({})).await;
    assert_eq!(created.status, 201, "{created:?}");
    let claims = finish(&browser).await;
    assert_eq!(claims["username"], "dana");
    let dana = idp
        .idp
        .tenant()
        .users
        .into_iter()
        .find(|u| u.username.as_deref() == Some("dana"))
        .unwrap();
    assert_eq!(claims["sub"], dana.id.as_str());
    assert_eq!(dana.password_encryption_method.as_deref(), Some("SHA256"));

    let agent = Agent::new();
    let to_logto = agent.get(&idp.idp.sign_in_url()).await;
    agent
        .sign_in_with_password(&idp.idp, &to_logto, "dana", "dana-Secret-1")
        .await;
}

#[tokio::test]
async fn new_password_identity_takes_a_free_username_and_a_good_password_only() {
    let idp = idp_signing_up_with(&["username"]).await;
    let browser = begin(&idp, "Register").await;
    let path = "/api/experience/verification/new-password-identity";
    let with = |kind: &str, value: &str, password: &str| json!({"identifier": {"type": kind, "value": value}, "password": password});
    let email = post(
        &browser,
        path,
        with("email", "erin@example.com", "erin-Secret-1"),
    )
    .await;
    assert_logto_error(&email, 400, "guard.invalid_input");
    let taken = post(&browser, path, with("username", "bob", "bob-Secret-9")).await;
    let body = assert_logto_error(&taken, 422, "user.username_already_in_use");
    assert_eq!(body["message"], "This username is already in use.");
    let itself = post(&browser, path, with("username", "erin", "erin1234")).await;
    let body = assert_logto_error(&itself, 422, "password.rejected");
    assert_eq!(
        body["data"],
        json!([
            {"code": "password_rejected.restricted.sequence"},
            {"code": "password_rejected.restricted.user_info"}
        ]),
        "the username and a sequence are all of the password"
    );
    let verified = post(&browser, path, with("username", "erin", "erin-Secret-1")).await;
    assert_eq!(verified.status, 200, "{verified:?}");
    let verification_id = verified.json()["verificationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = browser
        .api(reqwest::Method::GET, "/api/experience/interaction", None)
        .await
        .json();
    assert_eq!(
        read["verificationRecords"][0],
        json!({"id": verification_id, "type": "NewPasswordIdentity",
               "identifier": {"type": "username", "value": "erin"}}),
        "the interaction shows the record, never the password"
    );
    let created = post(
        &browser,
        "/api/experience/identification",
        json!({"verificationId": verification_id}),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(finish(&browser).await["username"], "erin");
}

#[tokio::test]
async fn an_email_registration_with_a_password_asks_for_it_after_the_code() {
    let idp = idp_signing_up_with(&["email"]).await;
    let browser = begin(&idp, "Register").await;
    let cursor = idp.idp.inbox().cursor();
    let identifier = json!({"type": "email", "value": "fay@example.com"});
    let sent = post(
        &browser,
        "/api/experience/verification/verification-code",
        json!({"identifier": identifier, "interactionEvent": "Register"}),
    )
    .await;
    let verification_id = sent.json()["verificationId"].as_str().unwrap().to_owned();
    let code = idp
        .idp
        .code_for("fay@example.com")
        .after(cursor)
        .await
        .unwrap();
    let verified = post(
        &browser,
        "/api/experience/verification/verification-code/verify",
        json!({"identifier": identifier, "verificationId": verification_id, "code": code}),
    )
    .await;
    assert_eq!(verified.status, 200, "{verified:?}");
    let identify = json!({"verificationId": verification_id});
    let missing = post(&browser, "/api/experience/identification", identify.clone()).await;
    let body = assert_logto_error(&missing, 422, "user.missing_profile");
    assert_eq!(body["data"]["missingProfile"], json!(["password"]));
    assert!(
        idp.idp.user("fay@example.com").is_none(),
        "nothing created yet"
    );
    let set = post(
        &browser,
        "/api/experience/profile",
        json!({"type": "password", "value": "fay-Secret-1"}),
    )
    .await;
    assert_eq!(set.status, 204, "{set:?}");
    let created = post(&browser, "/api/experience/identification", identify).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(finish(&browser).await["email"], "fay@example.com");
}

#[tokio::test]
async fn the_profile_refuses_what_logto_refuses() {
    let idp = idp_signing_up_with(&["username"]).await;
    let browser = begin(&idp, "Register").await;
    for (body, status, code) in [
        (
            json!({"type": "username", "value": "bob"}),
            422,
            "user.username_already_in_use",
        ),
        (
            json!({"type": "username", "value": "2fast"}),
            400,
            "guard.invalid_input",
        ),
        (
            json!({"type": "password", "value": ""}),
            400,
            "guard.invalid_input",
        ),
        (
            json!({"type": "nickname", "value": "x"}),
            400,
            "guard.invalid_input",
        ),
    ] {
        let refused = post(&browser, "/api/experience/profile", body).await;
        assert_logto_error(&refused, status, code);
    }
    let sign_in = begin(&idp, "SignIn").await;
    let by_profile = post(&sign_in, "/api/experience/identification", json!({})).await;
    assert_logto_error(&by_profile, 400, "guard.invalid_input");
}

#[tokio::test]
async fn on_the_pages_a_username_registration_asks_for_the_password_twice() {
    let idp = idp_signing_up_with(&["username"]).await;
    let browser = Browser::new(&idp);
    let first = browser.start(&[("interaction_mode", "signUp")]).await;
    assert!(
        first.has(r#"<label for="identifier">Username</label>"#),
        "{first:?}"
    );
    let named = browser
        .post_form("/register", &[("identifier", "gus")])
        .await;
    assert_eq!(named.status, 303, "{named:?}");
    assert!(named.location().ends_with("/register/password"));
    let page = browser.get("/register/password").await;
    assert_eq!(page.text_of("account").as_deref(), Some("gus"));
    for (password, confirm, alert) in [
        (
            "gus-Secret-1",
            "gus-Secret-2",
            "Your passwords don’t match. Please try again.",
        ),
        ("gus", "gus", "Minimum length is 8."),
        (
            "gusgusgus",
            "gusgusgus",
            "Avoid overusing your personal information.",
        ),
    ] {
        let refused = browser
            .post_form(
                "/register/password",
                &[("password", password), ("confirm-password", confirm)],
            )
            .await;
        assert_eq!(refused.alert().as_deref(), Some(alert), "{refused:?}");
    }
    let created = browser
        .post_form(
            "/register/password",
            &[
                ("password", "gus-Secret-1"),
                ("confirm-password", "gus-Secret-1"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{created:?}");
    let back = browser.follow(created).await;
    assert!(back.location_param("code").is_some(), "{back:?}");
}

#[tokio::test]
async fn on_the_pages_an_email_registration_asks_for_the_password_after_the_code() {
    let idp = idp_signing_up_with(&["email"]).await;
    let browser = Browser::new(&idp);
    browser.start(&[("interaction_mode", "signUp")]).await;
    let cursor = idp.idp.inbox().cursor();
    browser
        .post_form("/register", &[("identifier", "hal@example.com")])
        .await;
    let code = idp
        .idp
        .code_for("hal@example.com")
        .after(cursor)
        .await
        .unwrap();
    let verified = browser
        .post_form("/register/verification-code", &[("code", &code)])
        .await;
    assert_eq!(verified.status, 303, "{verified:?}");
    assert!(verified.location().ends_with("/continue/password"));
    let page = browser.get("/continue/password").await;
    assert_eq!(page.text_of("account").as_deref(), Some("hal@example.com"));
    let created = browser
        .post_form(
            "/continue/password",
            &[
                ("password", "hal-Secret-1"),
                ("confirm-password", "hal-Secret-1"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{created:?}");
    assert!(idp.idp.user("hal@example.com").unwrap().has_password());
}

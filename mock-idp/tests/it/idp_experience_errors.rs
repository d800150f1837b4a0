//! The Experience API's error bodies as Logto writes them: a lost interaction, an experience
//! never started, the body guard's `guard.invalid_input` with zod's issues and Logto's
//! details, and bodies koa-body does not read as JSON.

use reqwest::Method;
use serde_json::{Value, json};

use crate::idp_support::{Browser, Idp};

/// Sends `body` as it is, with `content_type`, to `path` (with the browser's cookies).
async fn raw(
    browser: &Browser<'_>,
    method: Method,
    path: &str,
    content_type: &str,
    body: &str,
) -> mock_idp::Page {
    let request = browser
        .agent
        .http()
        .request(method, browser.absolute(path))
        .header("Content-Type", content_type)
        .body(body.to_owned());
    browser.agent.send(request).await
}

async fn started(idp: &Idp) -> Browser<'_> {
    let browser = Browser::new(idp);
    browser.start(&[]).await;
    let answer = browser
        .api(
            Method::PUT,
            "/api/experience",
            Some(json!({"interactionEvent": "SignIn"})),
        )
        .await;
    assert_eq!(answer.status, 204, "{answer:?}");
    browser
}

#[tokio::test]
async fn a_lost_interaction_is_session_not_found_with_oidc_providers_words() {
    let idp = Idp::start().await;
    let stranger = Browser::new(&idp);
    let answer = stranger
        .api(
            Method::PUT,
            "/api/experience",
            Some(json!({"interactionEvent": "SignIn"})),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json(),
        json!({"code": "session.not_found", "message": "Session not found. Please go back and sign in again.",
               "error": "invalid_request", "error_description": "interaction session id cookie not found"})
    );
    let forged = raw(
        &stranger,
        Method::GET,
        "/api/experience/interaction",
        "application/json",
        "",
    )
    .await;
    assert_eq!(forged.json()["code"], "session.not_found");
    let with_cookie = idp
        .get(
            &format!("{}/api/experience/interaction", idp.idp.base_url()),
            &[("_interaction", "no-such-interaction")],
        )
        .await;
    assert_eq!(with_cookie.status, 400);
    assert_eq!(
        with_cookie.json()["error_description"],
        "interaction session not found"
    );
}

#[tokio::test]
async fn every_step_before_put_api_experience_is_interaction_not_found() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    browser.start(&[]).await;
    let steps = [
        (Method::GET, "/api/experience/interaction", None),
        (
            Method::POST,
            "/api/experience/verification/verification-code",
            Some(
                json!({"identifier": {"type": "email", "value": "alice@example.com"}, "interactionEvent": "SignIn"}),
            ),
        ),
        (
            Method::POST,
            "/api/experience/verification/password",
            Some(json!({"identifier": {"type": "username", "value": "alice"}, "password": "x"})),
        ),
        (
            Method::POST,
            "/api/experience/identification",
            Some(json!({})),
        ),
        (
            Method::PUT,
            "/api/experience/interaction-event",
            Some(json!({"interactionEvent": "Register"})),
        ),
        (Method::POST, "/api/experience/submit", None),
        // Before the body guard, as Logto's middlewares run: a bad body gets the same answer.
        (
            Method::POST,
            "/api/experience/profile",
            Some(json!({"type": "nickname"})),
        ),
    ];
    for (method, path, body) in steps {
        let answer = browser.api(method.clone(), path, body).await;
        assert_eq!(answer.status, 404, "{method} {path}: {answer:?}");
        assert_eq!(
            answer.json(),
            json!({"message": "Interaction session not found. Please go back and start the session again.",
                   "code": "session.interaction_not_found"}),
            "{method} {path}"
        );
    }
    assert!(idp.idp.inbox().messages().is_empty(), "no code was sent");
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_names_every_issue() {
    let idp = Idp::start().await;
    let browser = started(&idp).await;
    let answer = browser
        .api(
            Method::POST,
            "/api/experience/verification/verification-code",
            Some(json!({"identifier": {"type": "username", "value": 42}})),
        )
        .await;
    assert_eq!(answer.status, 400, "{answer:?}");
    let body = answer.json();
    assert_eq!(body["code"], "guard.invalid_input");
    assert_eq!(body["message"], "The request body is invalid.");
    assert_eq!(body["data"]["name"], "ZodError");
    let paths: Vec<Value> = body["data"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| issue["path"].clone())
        .collect();
    assert_eq!(
        paths,
        vec![
            json!(["identifier", "type"]),
            json!(["identifier", "value"]),
            json!(["interactionEvent"])
        ]
    );
    assert_eq!(
        body["details"],
        "Error in key path \"identifier.type\": (invalid_enum_value) Invalid enum value. Expected 'email' | 'phone', received 'username'\n\
         Error in key path \"identifier.value\": (invalid_type) Expected string but received number.\n\
         Error in key path \"interactionEvent\": (invalid_type) Expected 'SignIn' | 'Register' | 'ForgotPassword' but received undefined."
    );
    assert!(idp.idp.inbox().messages().is_empty());
}

#[tokio::test]
async fn json_sent_as_text_plain_is_refused() {
    let idp = Idp::start().await;
    let browser = started(&idp).await;
    let json_text = r#"{"identifier":{"type":"email","value":"alice@example.com"},"interactionEvent":"SignIn"}"#;
    let answer = raw(
        &browser,
        Method::POST,
        "/api/experience/verification/verification-code",
        "text/plain;charset=UTF-8",
        json_text,
    )
    .await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(answer.json()["code"], "guard.invalid_input");
    assert_eq!(
        answer.json()["details"],
        "Error in key path \"\": (invalid_type) Expected object but received string."
    );
    assert!(idp.idp.inbox().messages().is_empty(), "nothing sent");
    // The same bytes as JSON work.
    let ok = raw(
        &browser,
        Method::POST,
        "/api/experience/verification/verification-code",
        "application/json",
        json_text,
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
}

#[tokio::test]
async fn malformed_json_and_a_sign_in_without_verification_id_are_invalid_input() {
    let idp = Idp::start().await;
    let browser = started(&idp).await;
    let broken = raw(
        &browser,
        Method::PUT,
        "/api/experience/interaction-event",
        "application/json",
        "{",
    )
    .await;
    assert_eq!(broken.status, 400, "{broken:?}");
    assert_eq!(broken.json()["code"], "guard.invalid_input");
    assert!(broken.json()["details"].is_string());
    let missing = browser
        .api(
            Method::POST,
            "/api/experience/identification",
            Some(json!({})),
        )
        .await;
    assert_eq!(missing.status, 400, "{missing:?}");
    assert_eq!(
        missing.json(),
        json!({"message": "The request {{type}} is invalid.", "code": "guard.invalid_input"})
    );
}

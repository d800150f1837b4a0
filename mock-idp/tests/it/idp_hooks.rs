//! Webhooks as Logto sends them: `PostSignIn`, `PostRegister` and `PostResetPassword` after
//! the interaction's submit, Logto's body and signature, and retries after a 5xx answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use mock_idp::tenant::Hook;
use mock_idp::{Agent, MockIdp};
use serde_json::Value;
use tokio::sync::mpsc;

const KEY: &str = "hook-signing-key";
const WAIT: Duration = Duration::from_secs(10);

/// A webhook endpoint: answers 500 to the first `failures` deliveries, then 200, and hands
/// every delivery (headers, body) to the test.
struct Receiver {
    url: String,
    deliveries: mpsc::UnboundedReceiver<(HeaderMap, String)>,
}

async fn receiver(failures: usize) -> Receiver {
    let (tx, deliveries) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let tx = tx.clone();
            let seen = seen.clone();
            async move {
                let _ = tx.send((headers, body));
                if seen.fetch_add(1, Ordering::SeqCst) < failures {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, deliveries }
}

impl Receiver {
    async fn next(&mut self) -> (HeaderMap, String) {
        tokio::time::timeout(WAIT, self.deliveries.recv())
            .await
            .expect("a delivery within 10 s")
            .expect("the receiver is open")
    }
}

fn hmac_hex(key: &str, body: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.as_bytes());
    aws_lc_rs::hmac::sign(&key, body.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_sign_in_posts_logtos_signed_post_sign_in() {
    let mut receiver = receiver(0).await;
    let idp = MockIdp::builder()
        .hook(Hook::new(
            &receiver.url,
            &["PostSignIn", "PostRegister"],
            KEY,
        ))
        .start()
        .await
        .unwrap();
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_in_url()).await;
    agent
        .sign_in_with_email_code(&idp, &to_logto, "alice@example.com")
        .await;
    let (headers, body) = receiver.next().await;
    assert_eq!(headers["user-agent"], "Logto (https://logto.io/)");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        headers["logto-signature-sha-256"].to_str().unwrap(),
        hmac_hex(KEY, &body),
        "the HMAC-SHA256 of the exact body"
    );
    let payload: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&str> = payload
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "event",
            "interactionEvent",
            "createdAt",
            "sessionId",
            "userAgent",
            "userId",
            "user",
            "application",
            "hookId"
        ]
    );
    assert_eq!(payload["event"], "PostSignIn");
    assert_eq!(payload["interactionEvent"], "SignIn");
    assert!(
        payload["userAgent"]
            .as_str()
            .unwrap()
            .starts_with("mock-idp-agent/"),
        "the browser's: {payload}"
    );
    let alice = idp.user("alice@example.com").unwrap();
    assert_eq!(payload["userId"], alice.id.as_str());
    assert_eq!(payload["user"]["primaryEmail"], "alice@example.com");
    assert!(payload["user"].get("hasPassword").is_none());
    assert_eq!(payload["application"]["id"], idp.client().id.as_str());
    assert_eq!(payload["application"]["type"], "Traditional");
    assert!(
        payload["createdAt"].as_str().unwrap().ends_with('Z'),
        "{payload}"
    );
    let delivered = idp
        .wait_for_event("hook.delivered", 0, WAIT)
        .await
        .expect("logged");
    assert_eq!(delivered.data["event"], "PostSignIn");
    assert_eq!(delivered.data["attempts"], 1);
}

#[tokio::test]
async fn registration_and_a_password_reset_post_their_events_and_others_get_nothing() {
    let mut receiver = receiver(0).await;
    let idp = MockIdp::builder()
        .hook(Hook::new(
            &receiver.url,
            &["PostRegister", "PostResetPassword"],
            KEY,
        ))
        .start()
        .await
        .unwrap();
    // A sign-in is not an event this hook wants.
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_in_url()).await;
    agent
        .sign_in_with_email_code(&idp, &to_logto, "alice@example.com")
        .await;
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_up_url()).await;
    agent
        .sign_up_with_email_code(&idp, &to_logto, "new.user@example.com")
        .await;
    let (_, body) = receiver.next().await;
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        payload["event"], "PostRegister",
        "the first delivery is the registration"
    );
    assert_eq!(payload["user"]["primaryEmail"], "new.user@example.com");

    // A password reset through the Experience API.
    let agent = Agent::new();
    let started = agent.get(&idp.sign_in_url()).await;
    agent.follow_within(idp.base_url(), started).await;
    let api = |path: &str| format!("{}/api/experience{path}", idp.base_url());
    let put = agent
        .send(
            agent
                .http()
                .put(api(""))
                .json(&serde_json::json!({"interactionEvent": "ForgotPassword"})),
        )
        .await;
    assert_eq!(put.status, 204, "{put:?}");
    let cursor = idp.inbox().cursor();
    let sent = agent
        .post_json(
            &api("/verification/verification-code"),
            &serde_json::json!({"identifier": {"type": "email", "value": "bob@example.com"}, "interactionEvent": "ForgotPassword"}),
        )
        .await;
    let id = sent.json()["verificationId"].as_str().unwrap().to_owned();
    let mail = idp
        .inbox()
        .wait_for("bob@example.com")
        .after(cursor)
        .await
        .unwrap();
    let code = mail.code().unwrap().to_owned();
    let identifier = serde_json::json!({"type": "email", "value": "bob@example.com"});
    agent
        .post_json(
            &api("/verification/verification-code/verify"),
            &serde_json::json!({"identifier": identifier, "verificationId": id, "code": code}),
        )
        .await;
    agent
        .post_json(
            &api("/identification"),
            &serde_json::json!({"verificationId": id}),
        )
        .await;
    let reset = agent
        .send(
            agent
                .http()
                .put(api("/profile/password"))
                .json(&serde_json::json!({"password": "bob-Secret-2!"})),
        )
        .await;
    assert_eq!(reset.status, 204, "{reset:?}");
    let submitted = agent
        .post_json(&api("/submit"), &serde_json::json!({}))
        .await;
    assert_eq!(submitted.status, 204, "{submitted:?}");
    let (_, body) = receiver.next().await;
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["event"], "PostResetPassword");
    assert_eq!(payload["interactionEvent"], "ForgotPassword");
    assert_eq!(payload["user"]["primaryEmail"], "bob@example.com");
    assert!(
        receiver.deliveries.try_recv().is_err(),
        "no PostSignIn went out"
    );
}

#[tokio::test]
async fn a_5xx_answer_is_retried_and_a_refused_connection_is_logged_as_failed() {
    let mut receiver = receiver(2).await;
    let idp = MockIdp::builder()
        .hook(Hook::new(&receiver.url, &["PostSignIn"], KEY))
        .hook(Hook::new("http://127.0.0.1:9/nowhere", &["PostSignIn"], ""))
        .start()
        .await
        .unwrap();
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_in_url()).await;
    agent
        .sign_in_with_email_code(&idp, &to_logto, "alice@example.com")
        .await;
    let first = receiver.next().await.1;
    let second = receiver.next().await.1;
    let third = receiver.next().await.1;
    assert_eq!(first, second, "the same body each time");
    assert_eq!(second, third);
    let delivered = idp
        .wait_for_event("hook.delivered", 0, WAIT)
        .await
        .expect("delivered in the end");
    assert_eq!(delivered.data["attempts"], 3);
    let failed = idp
        .wait_for_event("hook.failed", 0, WAIT)
        .await
        .expect("the refused one is logged");
    assert_eq!(
        failed.data["attempts"], 1,
        "a refused connection is not retried"
    );
}

#[tokio::test]
async fn a_hook_for_an_event_logto_has_not_stops_the_start() {
    let refused = MockIdp::builder()
        .hook(Hook::new("http://127.0.0.1:9/hook", &["PostSignUp"], KEY))
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("PostSignUp") && refused.contains("PostRegister"),
        "names the typo and what is sent: {refused}"
    );
}

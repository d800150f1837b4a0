//! Logto's Postmark connector on the wire, against wiremock standing in for Postmark: the exact
//! request, and what every kind of Postmark failure becomes.

use mock_idp::MockIdp;
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::idp_support::{Browser, Idp};

async fn idp_with(postmark: &MockServer) -> Idp {
    Idp::start_with(MockIdp::builder().external_postmark(postmark.uri())).await
}

async fn send_code(browser: &Browser<'_>, to: &str) -> mock_idp::Page {
    browser.start(&[]).await;
    browser
        .api(
            Method::PUT,
            "/api/experience",
            Some(json!({"interactionEvent": "SignIn"})),
        )
        .await;
    browser
        .api(
            Method::POST,
            "/api/experience/verification/verification-code",
            Some(
                json!({"identifier": {"type": "email", "value": to}, "interactionEvent": "SignIn"}),
            ),
        )
        .await
}

#[tokio::test]
async fn the_connector_sends_exactly_logtos_request() {
    let postmark = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/email/withTemplate"))
        .and(header(
            "X-Postmark-Server-Token",
            "mock-postmark-server-token",
        ))
        .and(header("Accept", "application/json"))
        .and(header("Content-Type", "application/json"))
        .and(header("User-Agent", "Postmark.JS - 4.0.7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "To": "alice@example.com", "SubmittedAt": "2026-01-01T00:00:00.0000000Z",
            "MessageID": "00000000-0000-4000-8000-000000000000", "ErrorCode": 0, "Message": "OK"})))
        .expect(1)
        .mount(&postmark)
        .await;
    let idp = idp_with(&postmark).await;
    let browser = Browser::new(&idp);
    let sent = send_code(&browser, "alice@example.com").await;
    assert_eq!(sent.status, 200, "{sent:?}");

    let requests = postmark.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["From", "TemplateAlias", "To", "TemplateModel"],
        "exactly four keys, in order"
    );
    assert_eq!(body["From"], "noreply@example.com");
    assert_eq!(body["TemplateAlias"], "logto-sign-in");
    assert_eq!(body["To"], "alice@example.com");
    let code = body["TemplateModel"]["code"].as_str().unwrap();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(body["TemplateModel"]["locale"], "en");
    assert_eq!(body["TemplateModel"]["application"]["id"], idp.client_id);
    assert!(
        idp.idp.postmark().is_none(),
        "no fake Postmark of its own when given a URL"
    );
}

#[tokio::test]
async fn every_postmark_failure_becomes_connector_general_with_postmarks_message() {
    let cases: Vec<(u16, Value, &str)> = vec![
        (
            401,
            json!({"ErrorCode": 10, "Message": "Request does not contain a valid Server token."}),
            "Request does not contain a valid Server token.",
        ),
        (
            422,
            json!({"ErrorCode": 300, "Message": "Invalid 'To' address: 'x'."}),
            "Invalid 'To' address: 'x'.",
        ),
        (
            422,
            json!({"ErrorCode": 406, "Message": "You tried to send to a recipient that has been marked as inactive."}),
            "You tried to send to a recipient that has been marked as inactive.",
        ),
        (
            429,
            json!({"ErrorCode": 429, "Message": "Rate limit exceeded"}),
            "Rate limit exceeded",
        ),
        (
            500,
            json!({"ErrorCode": 0, "Message": "Internal server error"}),
            "Internal server error",
        ),
        (
            503,
            json!({"ErrorCode": 100, "Message": "Maintenance"}),
            "Maintenance",
        ),
        (
            502,
            Value::String("<html>bad gateway</html>".into()),
            "Request failed with status code 502",
        ),
    ];
    for (status, body, expected) in cases {
        let postmark = MockServer::start().await;
        let template = match &body {
            Value::String(text) => ResponseTemplate::new(status).set_body_string(text.clone()),
            json => ResponseTemplate::new(status).set_body_json(json.clone()),
        };
        Mock::given(method("POST"))
            .respond_with(template)
            .mount(&postmark)
            .await;
        let idp = idp_with(&postmark).await;
        let browser = Browser::new(&idp);
        let answer = send_code(&browser, "alice@example.com").await;
        assert_eq!(answer.status, 400, "{status}: {answer:?}");
        let error = answer.json();
        assert_eq!(error["code"], "connector.general", "{status}");
        assert_eq!(error["data"]["message"], expected, "{status}");
        assert_eq!(
            error["message"],
            format!(
                "Error occurred in connector: {}",
                json!({"message": expected})
            )
        );
        let read = browser
            .api(Method::GET, "/api/experience/interaction", None)
            .await
            .json();
        assert_eq!(
            read["verificationRecords"],
            json!([]),
            "{status}: nothing kept"
        );
    }
}

#[tokio::test]
async fn an_unreachable_postmark_is_connector_general_too() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let idp = Idp::start_with(MockIdp::builder().external_postmark(url)).await;
    let browser = Browser::new(&idp);
    let answer = send_code(&browser, "alice@example.com").await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["code"], "connector.general");
    assert!(
        answer.json()["data"]["message"]
            .as_str()
            .unwrap()
            .contains("ECONNREFUSED")
    );
}

//! Hostile and odd input: no panic, no 500, never a non-JSON error.

use mock_idp::postmark::{TemplateSource, TemplateType};
use mock_idp::{FakePostmark, SeededRng};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Api, PostmarkAssert, plain, templated};

#[tokio::test]
async fn absolute_form_targets_route_like_plain_paths() {
    // What axios sends through an HTTP proxy: `HTTPS_PROXY=http://fake` reaches us this way.
    let api = Api::start().await;
    let body = serde_json::to_string(&plain("alice@example.com")).unwrap();
    let request = format!(
        "POST https://api.postmarkapp.com/email HTTP/1.1\r\nHost: api.postmarkapp.com\r\n\
         X-Postmark-Server-Token: {}\r\nContent-Type: application/json\r\nAccept: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        api.postmark.server_token(),
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(api.postmark.address())
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""ErrorCode":0"#), "{response}");
    assert_eq!(api.postmark.inbox().messages().len(), 1);
}

#[tokio::test]
async fn hostile_bodies_get_json_errors() {
    let api = Api::start().await;
    let deep_array = "[".repeat(100_000);
    let deep_model = format!(
        r#"{{"From":"a@example.com","To":"b@example.com","TemplateAlias":"logto-sign-in","TemplateModel":{}1{}}}"#,
        r#"{"a":"#.repeat(200),
        "}".repeat(200)
    );
    let bodies: Vec<Vec<u8>> = vec![
        deep_array.into_bytes(),
        deep_model.into_bytes(),
        br#"{"From":"a@example.com","To":"b@example.com","TextBody":"x","TemplateId":1e400}"#
            .to_vec(),
        br#"{"From":"a\u0000@example.com","To":"b@example.com","TextBody":"\u0000"}"#.to_vec(),
        br#"{"From":"\ud800","To":"b@example.com","TextBody":"x"}"#.to_vec(),
        br#"{"Messages":{"Messages":[]}}"#.to_vec(),
        br#"{"Headers":[1,2],"From":"a@example.com","To":"b@example.com","TextBody":"x"}"#.to_vec(),
        br#"{"Attachments":[null],"From":"a@example.com","To":"b@example.com","TextBody":"x"}"#
            .to_vec(),
        br#"{"To":"\"unterminated <a@example.com>","From":"a@example.com","TextBody":"x"}"#
            .to_vec(),
        b"null".to_vec(),
    ];
    let headers = [
        ("X-Postmark-Server-Token", api.postmark.server_token()),
        ("Content-Type", "application/json"),
    ];
    for body in bodies {
        for path in [
            "/email",
            "/email/batch",
            "/email/withTemplate",
            "/email/batchWithTemplates",
        ] {
            let reply = api.post_raw(path, &headers, body.clone()).await;
            assert_json_answer(&reply, path);
        }
    }
}

#[tokio::test]
async fn a_hostile_template_cannot_bloat_or_stall_the_server() {
    let bomb = TemplateSource {
        name: "Bomb".into(),
        alias: Some("bomb".into()),
        subject: Some("x".into()),
        text_body: Some(
            "{{#each a}}{{#each ../../a}}{{#each ../../../../a}}{{.}}{{/each}}{{/each}}{{/each}}"
                .into(),
        ),
        template_type: TemplateType::Standard,
        ..TemplateSource::default()
    };
    let api = Api::start_with(FakePostmark::builder().template(bomb)).await;
    let mut message = templated("a@example.com", "1");
    message["TemplateAlias"] = json!("bomb");
    message["TemplateModel"] = json!({"a": vec!["0123456789"; 1000]});
    let text = api
        .post("/email/withTemplate", &message)
        .await
        .assert_error(422, 300);
    assert!(text.contains("could not be rendered"), "{text}");
    assert!(api.postmark.inbox().messages().is_empty());
    // Still serving.
    api.post("/email", &plain("a@example.com"))
        .await
        .assert_sent();
}

#[tokio::test]
async fn mutated_requests_never_get_a_500_or_a_non_json_error() {
    let api = Api::start().await;
    let rng = SeededRng::new(2024);
    let seeds = [
        serde_json::to_vec(&plain("Alice <alice@example.com>, bob@example.com")).unwrap(),
        serde_json::to_vec(&templated("alice@example.com", "123456")).unwrap(),
        serde_json::to_vec(&json!({"Messages": [templated("a@example.com", "1")]})).unwrap(),
        serde_json::to_vec(&json!([plain("a@example.com"), plain("b@example.com")])).unwrap(),
    ];
    let paths = [
        "/email",
        "/email/withTemplate",
        "/email/batchWithTemplates",
        "/email/batch",
    ];
    let alphabet = br#"{}[]",:\0@<>. azAZ09-_#^/&!"#;
    let headers = [
        ("X-Postmark-Server-Token", api.postmark.server_token()),
        ("Content-Type", "application/json"),
    ];
    for round in 0..400 {
        let which = round % seeds.len();
        let mut body = seeds[which].clone();
        for _ in 0..=rng.below(4) {
            let at = rng.below(body.len() as u32) as usize;
            match rng.below(3) {
                0 => body[at] = alphabet[rng.below(alphabet.len() as u32) as usize],
                1 => {
                    body.remove(at);
                }
                _ => body.insert(at, alphabet[rng.below(alphabet.len() as u32) as usize]),
            }
        }
        let path = paths[(which + round / 7) % paths.len()];
        let reply = api.post_raw(path, &headers, body).await;
        assert_json_answer(&reply, path);
    }
}

fn assert_json_answer(reply: &mock_idp::Page, path: &str) {
    assert!(
        matches!(reply.status, 200 | 413 | 422),
        "{path}: unexpected status in {reply:?}"
    );
    assert!(
        reply.content_type().starts_with("application/json"),
        "{path}: {reply:?}"
    );
    let body = reply.json();
    if reply.status != 200 {
        assert!(body["ErrorCode"].is_u64(), "{path}: {reply:?}");
        assert!(body["Message"].is_string(), "{path}: {reply:?}");
    }
}

#[tokio::test]
async fn a_batch_of_hostile_templates_shares_one_rendering_budget() {
    let bomb = TemplateSource {
        name: "Nested".into(),
        alias: Some("nested".into()),
        subject: Some("x".into()),
        text_body: Some("{{#each a}}{{#each ../../a}}{{/each}}{{/each}}".into()),
        ..TemplateSource::default()
    };
    let api = Api::start_with(FakePostmark::builder().template(bomb)).await;
    let mut message = templated("a@example.com", "1");
    message["TemplateAlias"] = json!("nested");
    message["TemplateModel"] = json!({"a": vec![0; 400]});
    let messages: Vec<_> = (0..50).map(|_| message.clone()).collect();
    let results = api
        .post("/email/batchWithTemplates", &json!({"Messages": messages}))
        .await
        .json();
    let codes: Vec<u64> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ErrorCode"].as_u64().unwrap())
        .collect();
    assert_eq!(codes[0], 0, "160,000 steps fit the budget");
    assert!(
        codes.iter().skip(7).all(|c| *c == 300),
        "the request's budget runs out: {codes:?}"
    );
    api.post("/email", &plain("a@example.com"))
        .await
        .assert_sent();
}

#[tokio::test]
async fn validating_a_hostile_template_is_bounded_too() {
    let api = Api::start().await;
    let body = json!({
        "HtmlBody": "{{#each a}}{{#each ../../a}}{{/each}}{{/each}}",
        "TestRenderModel": {"a": vec![0; 3000]},
    });
    let result = api
        .call(reqwest::Method::POST, "/templates/validate", Some(&body))
        .await
        .json();
    assert_eq!(result["HtmlBody"]["ContentIsValid"], false);
    let message = result["HtmlBody"]["ValidationErrors"][0]["Message"]
        .as_str()
        .unwrap();
    assert!(message.contains("steps"), "{message}");
}

#[tokio::test]
async fn an_absurd_content_length_is_refused_before_reading() {
    let api = Api::start().await;
    let request = format!(
        "POST /email HTTP/1.1\r\nHost: x\r\nX-Postmark-Server-Token: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 99999999999\r\n\r\n{{}}",
        api.postmark.server_token()
    );
    let mut stream = tokio::net::TcpStream::connect(api.postmark.address())
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = vec![0; 4096];
    let read = stream.read(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response[..read]);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains(r#""ErrorCode":300"#), "{response}");
}

#[tokio::test]
async fn every_route_that_reads_a_body_answers_413_alike() {
    let api = Api::start().await;
    let huge = json!({"Name": "x".repeat(17 * 1024 * 1024)});
    for path in ["/templates", "/templates/validate"] {
        let message = api
            .call(reqwest::Method::POST, path, Some(&huge))
            .await
            .assert_error(413, 300);
        assert!(message.contains("too large"), "{path}: {message}");
    }
    api.post(
        "/_inbox/faults",
        &json!({"Message": "x".repeat(2 * 1024 * 1024)}),
    )
    .await
    .assert_error(413, 300);
}

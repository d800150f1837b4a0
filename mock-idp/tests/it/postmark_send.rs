//! The four send endpoints: answers, what is stored, rendering, batches.

use std::time::Duration;

use mock_idp::{Clock, FakePostmark};
use serde_json::{Value, json};
use time::macros::datetime;

use crate::support::{Api, PostmarkAssert, plain, templated};

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn a_plain_email_is_accepted_with_postmarks_answer_and_kept() {
    let api = Api::start().await;
    let mut body = plain("Alice <alice@example.com>, bob@example.com");
    body["Cc"] = json!("carol@example.com");
    body["Tag"] = json!("otp");
    body["Metadata"] = json!({"z": "last", "a": "first"});
    body["Headers"] = json!([{"Name": "X-Trace", "Value": "t1"}]);

    let reply = api.post("/email", &body).await;

    let answer = reply.assert_sent();
    assert_eq!(
        keys(&answer),
        ["To", "SubmittedAt", "MessageID", "ErrorCode", "Message"]
    );
    assert_eq!(answer["To"], "Alice <alice@example.com>, bob@example.com");
    assert_eq!(answer["Message"], "OK");
    let id = answer["MessageID"].as_str().unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(id).unwrap().to_string(),
        id,
        "lowercase UUID"
    );
    let submitted = answer["SubmittedAt"].as_str().unwrap();
    assert_eq!(
        submitted.len(),
        "2026-09-30T16:03:52.7892753Z".len(),
        "{submitted}"
    );
    assert!(submitted.ends_with('Z'));

    let mail = api
        .postmark
        .inbox()
        .wait_for("alice@example.com")
        .await
        .unwrap();
    assert_eq!(mail.message_id(), id);
    assert_eq!(mail.from(), "App <noreply@example.com>");
    let to: Vec<&str> = mail.to().iter().map(|m| m.email.as_str()).collect();
    assert_eq!(to, ["alice@example.com", "bob@example.com"]);
    assert_eq!(mail.to()[0].name.as_deref(), Some("Alice"));
    assert_eq!(mail.cc()[0].email, "carol@example.com");
    assert_eq!(mail.subject(), Some("Your code"));
    assert_eq!(mail.text_body(), Some("Your code is 482913."));
    assert_eq!(mail.code(), Some("482913"));
    assert_eq!(mail.tag(), Some("otp"));
    assert_eq!(
        keys(mail.metadata().unwrap()),
        ["z", "a"],
        "metadata untouched"
    );
    assert_eq!(
        mail.headers(),
        Some(&json!([{"Name": "X-Trace", "Value": "t1"}]))
    );
    assert_eq!(mail.message_stream(), "outbound");
    assert_eq!(mail.template_alias(), None);
    let token = mail
        .request_headers()
        .into_iter()
        .find(|header| header.name == "x-postmark-server-token")
        .map(|header| header.value);
    assert_eq!(token.as_deref(), Some("[redacted]"));
}

#[tokio::test]
async fn the_answer_keeps_postmarks_key_order_byte_for_byte() {
    let api = Api::start().await;
    let reply = api.post("/email", &plain("alice@example.com")).await;
    assert!(
        reply
            .body
            .starts_with(r#"{"To":"alice@example.com","SubmittedAt":""#),
        "{}",
        reply.body
    );
    assert!(
        reply.body.ends_with(r#"","ErrorCode":0,"Message":"OK"}"#),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_template_send_renders_logtos_template_with_the_model() {
    let api = Api::start().await;
    let reply = api
        .post(
            "/email/withTemplate",
            &templated("alice@example.com", "604211"),
        )
        .await;
    reply.assert_sent();

    let mail = api
        .postmark
        .inbox()
        .wait_for("alice@example.com")
        .await
        .unwrap();
    assert_eq!(mail.subject(), Some("604211 is your sign-in code"));
    let html = mail.html_body().unwrap();
    assert!(html.contains("604211"), "{html}");
    assert!(
        html.contains("Sent by Logto (en)."),
        "sections scope to the value: {html}"
    );
    assert!(
        html.contains("Sample &#60;App&#62;"),
        "escaped in HTML: {html}"
    );
    let text = mail.text_body().unwrap();
    assert!(
        text.contains("for Sample <App>: 604211"),
        "raw in text: {text}"
    );
    assert_eq!(mail.template_alias(), Some("logto-sign-in"));
    assert!(mail.template_id().is_some());
    assert_eq!(mail.code(), Some("604211"));
}

#[tokio::test]
async fn a_template_can_be_chosen_by_id_and_its_alias_is_recorded() {
    let api = Api::start().await;
    api.post("/email/withTemplate", &templated("a@example.com", "111111"))
        .await
        .assert_sent();
    let sign_in_id = api
        .postmark
        .inbox()
        .wait_for("a@example.com")
        .await
        .unwrap()
        .template_id()
        .unwrap();

    let mut body = templated("b@example.com", "222222");
    body.as_object_mut().unwrap().remove("TemplateAlias");
    body["TemplateId"] = json!(sign_in_id);
    api.post("/email/withTemplate", &body).await.assert_sent();

    let mail = api
        .postmark
        .inbox()
        .wait_for("b@example.com")
        .await
        .unwrap();
    assert_eq!(mail.template_alias(), Some("logto-sign-in"));
    assert_eq!(mail.subject(), Some("222222 is your sign-in code"));
}

#[tokio::test]
async fn the_template_model_passes_through_untouched() {
    let api = Api::start().await;
    let model = json!({"code": "123456", "zeta": {"b": 2, "a": [1, "x", null]}, "alpha": true});
    let mut body = templated("alice@example.com", "");
    body["TemplateModel"] = model.clone();
    api.post("/email/withTemplate", &body).await.assert_sent();

    let mail = api
        .postmark
        .inbox()
        .wait_for("alice@example.com")
        .await
        .unwrap();
    let stored = mail.template_model().unwrap();
    assert_eq!(stored, &model);
    assert_eq!(
        serde_json::to_string(stored).unwrap(),
        serde_json::to_string(&model).unwrap(),
        "same keys in the same order"
    );
}

#[tokio::test]
async fn a_batch_answers_one_result_per_message_in_order() {
    let api = Api::start().await;
    let mut bad = plain("not-an-address");
    bad["From"] = json!("noreply@example.com");
    let reply = api
        .post(
            "/email/batch",
            &json!([plain("a@example.com"), bad, plain("c@example.com")]),
        )
        .await;

    assert_eq!(reply.status, 200, "{reply:?}");
    let results = reply.json();
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["To"], "a@example.com");
    assert_eq!(results[0]["ErrorCode"], 0);
    assert_eq!(
        keys(&results[1]),
        ["ErrorCode", "Message"],
        "a failed item has no MessageID"
    );
    assert_eq!(results[1]["ErrorCode"], 300);
    assert_eq!(
        results[1]["Message"],
        "Invalid 'To' address: 'not-an-address'."
    );
    assert_eq!(results[2]["To"], "c@example.com");

    let stored: Vec<String> = api
        .postmark
        .inbox()
        .messages()
        .iter()
        .map(|m| m.to()[0].email.clone())
        .collect();
    assert_eq!(
        stored,
        ["a@example.com", "c@example.com"],
        "only the good ones are kept"
    );
}

#[tokio::test]
async fn a_batch_with_templates_takes_a_messages_wrapper_and_fails_per_item() {
    let api = Api::start().await;
    let mut unknown = templated("b@example.com", "222222");
    unknown["TemplateAlias"] = json!("no-such-template");
    let reply = api
        .post(
            "/email/batchWithTemplates",
            &json!({"Messages": [templated("a@example.com", "111111"), unknown]}),
        )
        .await;

    assert_eq!(reply.status, 200, "{reply:?}");
    let results = reply.json();
    assert_eq!(results[0]["ErrorCode"], 0);
    assert_eq!(results[1]["ErrorCode"], 1101);
    let inbox = api.postmark.inbox();
    assert_eq!(inbox.messages().len(), 1);
    assert_eq!(
        inbox.wait_for("a@example.com").await.unwrap().code(),
        Some("111111")
    );
}

#[tokio::test]
async fn trailing_slashes_route_like_the_plain_paths() {
    let api = Api::start().await;
    api.post("/email/", &plain("a@example.com"))
        .await
        .assert_sent();
    api.post(
        "/email/withTemplate/",
        &templated("b@example.com", "123456"),
    )
    .await
    .assert_sent();
    let reply = api
        .post(
            "/email/batchWithTemplates/",
            &json!({"Messages": [templated("c@example.com", "1")]}),
        )
        .await;
    assert_eq!(reply.json()[0]["ErrorCode"], 0);
    assert_eq!(api.postmark.inbox().messages().len(), 3);
}

#[tokio::test]
async fn keys_match_in_any_case_and_blank_fields_are_absent() {
    let api = Api::start().await;
    // What postmark-php sends: camelCase, nulls and empty strings.
    let body = json!({
        "from": "noreply@example.com", "to": "alice@example.com", "cc": "", "bcc": null,
        "subject": "Hi", "htmlBody": "<p>code 135790</p>", "textBody": "", "tag": null,
        "messageStream": "",
    });
    api.post("/email", &body).await.assert_sent();
    let mail = api
        .postmark
        .inbox()
        .wait_for("alice@example.com")
        .await
        .unwrap();
    assert_eq!(mail.html_body(), Some("<p>code 135790</p>"));
    assert_eq!(mail.text_body(), None);
    assert!(mail.cc().is_empty());
    assert_eq!(mail.message_stream(), "outbound");
    assert_eq!(mail.code(), Some("135790"));

    // What postmarker sends on template sends: TemplateId and Subject as null.
    let mut body = templated("bob@example.com", "246802");
    body["TemplateId"] = Value::Null;
    body["Subject"] = Value::Null;
    api.post("/email/withTemplate", &body).await.assert_sent();
    let mail = api
        .postmark
        .inbox()
        .wait_for("bob@example.com")
        .await
        .unwrap();
    assert_eq!(mail.template_alias(), Some("logto-sign-in"));
    assert_eq!(mail.code(), Some("246802"));
    assert!(
        mail.subject().is_some_and(|s| s.contains("246802")),
        "the template's subject, not the null: {:?}",
        mail.subject()
    );
}

#[tokio::test]
async fn the_test_token_validates_but_stores_nothing() {
    let api = Api::start().await;
    let headers = [
        ("X-Postmark-Server-Token", "POSTMARK_API_TEST"),
        ("Content-Type", "application/json"),
    ];
    let body = serde_json::to_vec(&plain("alice@example.com")).unwrap();
    let reply = api.post_raw("/email", &headers, body).await;
    let answer = reply.assert_sent();
    assert_eq!(answer["Message"], "Test job accepted");
    assert_eq!(
        keys(&answer),
        ["To", "SubmittedAt", "MessageID", "ErrorCode", "Message"]
    );

    let invalid = serde_json::to_vec(&plain("nope")).unwrap();
    api.post_raw("/email", &headers, invalid)
        .await
        .assert_error(422, 300);
    assert!(
        api.postmark.inbox().messages().is_empty(),
        "test sends are never kept"
    );
}

#[tokio::test]
async fn a_named_stream_is_recorded() {
    let api = Api::start().await;
    let mut body = plain("alice@example.com");
    body["MessageStream"] = json!("broadcast");
    api.post("/email", &body).await.assert_sent();
    let mail = api
        .postmark
        .inbox()
        .wait_for("alice@example.com")
        .await
        .unwrap();
    assert_eq!(mail.message_stream(), "broadcast");
}

#[tokio::test]
async fn submitted_at_comes_from_the_injected_clock() {
    let clock = Clock::fixed(datetime!(2026-05-04 03:02:01.5 UTC));
    let api = Api::start_with(FakePostmark::builder().clock(clock.clone())).await;
    let first = api
        .post("/email", &plain("a@example.com"))
        .await
        .assert_sent();
    assert_eq!(first["SubmittedAt"], "2026-05-04T03:02:01.5000000Z");

    clock.advance(Duration::from_secs(601));
    let second = api
        .post("/email", &plain("a@example.com"))
        .await
        .assert_sent();
    assert_eq!(second["SubmittedAt"], "2026-05-04T03:12:02.5000000Z");
    let mail = api.postmark.inbox().latest_to("a@example.com").unwrap();
    assert_eq!(mail.submitted_at(), datetime!(2026-05-04 03:12:02.5 UTC));
}

#[tokio::test]
async fn the_same_seed_and_clock_give_the_same_bytes() {
    async fn run(seed: u64) -> Vec<String> {
        let clock = Clock::fixed(datetime!(2026-01-01 00:00 UTC));
        let api = Api::start_with(FakePostmark::builder().seed(seed).clock(clock)).await;
        let mut answers = Vec::new();
        for to in ["a@example.com", "b@example.com"] {
            answers.push(api.post("/email", &plain(to)).await.body);
        }
        answers.push(
            api.post("/email/batch", &json!([plain("c@example.com")]))
                .await
                .body,
        );
        answers
    }
    let (first, again, other) = (run(7).await, run(7).await, run(8).await);
    assert_eq!(first, again);
    assert_ne!(first, other, "MessageIDs follow the seed");
}

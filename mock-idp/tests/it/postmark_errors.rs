//! Every row of the error table: status, ErrorCode, a JSON body, and the order of the checks.

use mock_idp::FakePostmark;
use serde_json::json;

use crate::support::{Api, PostmarkAssert, plain, templated};

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn token(api: &Api) -> (&'static str, &str) {
    ("X-Postmark-Server-Token", api.postmark.server_token())
}

fn body_of(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

#[tokio::test]
async fn a_missing_token_is_401_with_error_code_10() {
    let api = Api::start().await;
    let reply = api
        .post_raw("/email", &[JSON], body_of(&plain("a@example.com")))
        .await;
    let message = reply.assert_error(401, 10);
    assert!(message.contains("X-Postmark-Server-Token"), "{message}");
}

#[tokio::test]
async fn an_unknown_token_is_401_with_error_code_10() {
    let api = Api::start().await;
    let headers = [("X-Postmark-Server-Token", "wrong"), JSON];
    let reply = api
        .post_raw("/email", &headers, body_of(&plain("a@example.com")))
        .await;
    assert_eq!(
        reply.assert_error(401, 10),
        "Request does not contain a valid Server token."
    );
}

#[tokio::test]
async fn token_header_name_and_value_are_case_insensitive() {
    let api = Api::start().await;
    let upper = api.postmark.server_token().to_ascii_uppercase();
    let headers = [("x-postmark-server-token", upper.as_str()), JSON];
    api.post_raw("/email", &headers, body_of(&plain("a@example.com")))
        .await
        .assert_sent();
}

#[tokio::test]
async fn several_tokens_can_be_accepted() {
    let api = Api::start_with(
        FakePostmark::builder()
            .server_token("one")
            .server_token("two"),
    )
    .await;
    for good in ["one", "two"] {
        let headers = [("X-Postmark-Server-Token", good), JSON];
        api.post_raw("/email", &headers, body_of(&plain("a@example.com")))
            .await
            .assert_sent();
    }
    let default = mock_idp::postmark::default_server_token();
    let headers = [("X-Postmark-Server-Token", default.as_str()), JSON];
    let reply = api
        .post_raw("/email", &headers, body_of(&plain("a@example.com")))
        .await;
    reply.assert_error(401, 10);
}

#[tokio::test]
async fn a_body_not_declared_as_json_is_422_with_error_code_409() {
    let api = Api::start().await;
    let body = body_of(&plain("a@example.com"));
    let tok = token(&api);
    for headers in [
        vec![tok],
        vec![tok, ("Content-Type", "text/plain")],
        vec![tok, ("Content-Type", "application/x-www-form-urlencoded")],
        vec![tok, JSON, ("Accept", "text/html")],
    ] {
        let reply = api.post_raw("/email", &headers, body.clone()).await;
        reply.assert_error(422, 409);
    }
    for headers in [
        vec![tok, ("Content-Type", "application/json; charset=utf-8")],
        vec![tok, JSON, ("Accept", "*/*")],
        vec![tok, JSON, ("Accept", "text/html, application/json;q=0.9")],
    ] {
        api.post_raw("/email", &headers, body.clone())
            .await
            .assert_sent();
    }
}

#[tokio::test]
async fn a_body_over_10_mb_is_413_with_error_code_300() {
    let api = Api::start().await;
    let mut message = plain("a@example.com");
    message["TextBody"] = json!("x".repeat(10 * 1024 * 1024));
    let reply = api.post("/email", &message).await;
    let text = reply.assert_error(413, 300);
    assert!(text.contains("10 MB"), "{text}");
    assert!(api.postmark.inbox().messages().is_empty());
}

#[tokio::test]
async fn a_batch_may_be_larger_than_10_mb_but_not_than_50_mb() {
    let api = Api::start().await;
    let with_attachment = |to: &str, size: usize| {
        let mut message = plain(to);
        message["Attachments"] = json!([{
            "Name": "big.bin", "ContentType": "application/octet-stream", "Content": "A".repeat(size),
        }]);
        message
    };
    let six_mb = 6 * 1024 * 1024;
    let reply = api
        .post(
            "/email/batch",
            &json!([
                with_attachment("a@example.com", six_mb),
                with_attachment("b@example.com", six_mb)
            ]),
        )
        .await;
    assert_eq!(
        reply.status,
        200,
        "12 MB in a batch is fine: {}",
        &reply.body[..reply.body.len().min(300)]
    );

    let items: Vec<_> = (0..9)
        .map(|_| with_attachment("c@example.com", six_mb))
        .collect();
    api.post("/email/batch", &json!(items))
        .await
        .assert_error(413, 300);
}

#[tokio::test]
async fn malformed_json_is_422_with_error_code_402() {
    let api = Api::start().await;
    let headers = [token(&api), JSON];
    for body in [
        &b"{"[..],
        b"",
        b"{\"From\": }",
        b"\xff\xfe",
        b"{\"To\":\"a@example.com\"} trailing",
    ] {
        api.post_raw("/email", &headers, body.to_vec())
            .await
            .assert_error(422, 402);
    }
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_422_with_error_code_403() {
    let api = Api::start().await;
    api.post("/email", &json!([plain("a@example.com")]))
        .await
        .assert_error(422, 403);
    api.post("/email", &json!("text"))
        .await
        .assert_error(422, 403);
    api.post("/email/batch", &plain("a@example.com"))
        .await
        .assert_error(422, 403);
    api.post(
        "/email/batchWithTemplates",
        &json!([templated("a@example.com", "1")]),
    )
    .await
    .assert_error(422, 403);
    api.post("/email/batchWithTemplates", &json!({"Other": []}))
        .await
        .assert_error(422, 403);
    let mut wrong_type = plain("a@example.com");
    wrong_type["To"] = json!(["a@example.com"]);
    let message = api.post("/email", &wrong_type).await.assert_error(422, 403);
    assert!(message.contains("'To'"), "{message}");
    let mut wrong_model = templated("a@example.com", "1");
    wrong_model["TemplateModel"] = json!("code=1");
    api.post("/email/withTemplate", &wrong_model)
        .await
        .assert_error(422, 403);
}

#[tokio::test]
async fn invalid_messages_are_422_with_error_code_300() {
    let api = Api::start().await;
    let cases = [
        (
            "From",
            json!("not an address"),
            "Invalid 'From' address: 'not an address'.",
        ),
        ("From", json!(null), "Invalid 'From' value."),
        (
            "To",
            json!("a@example.com, broken@"),
            "Invalid 'To' address: 'broken@'.",
        ),
        ("To", json!(""), "Zero recipients specified"),
        (
            "Cc",
            json!("x@@example.com"),
            "Invalid 'Cc' address: 'x@@example.com'.",
        ),
    ];
    for (field, value, expected) in cases {
        let mut message = plain("a@example.com");
        message[field] = value;
        let text = api.post("/email", &message).await.assert_error(422, 300);
        assert_eq!(text, expected);
    }
    let many: Vec<String> = (0..51).map(|i| format!("user{i}@example.com")).collect();
    api.post("/email", &plain(&many.join(",")))
        .await
        .assert_error(422, 300);
    let no_body = json!({"From": "noreply@example.com", "To": "a@example.com", "Subject": "x"});
    let text = api.post("/email", &no_body).await.assert_error(422, 300);
    assert_eq!(text, "Provide either email TextBody or HtmlBody or both.");
    assert!(
        api.postmark.inbox().messages().is_empty(),
        "nothing half-created"
    );
}

#[tokio::test]
async fn a_from_that_is_no_sender_signature_is_422_with_error_code_400() {
    let api = Api::start_with(
        FakePostmark::builder()
            .sender_signature("noreply@example.com")
            .sender_signature("example.org"),
    )
    .await;
    api.post("/email", &plain("a@example.com"))
        .await
        .assert_sent();
    let mut message = plain("a@example.com");
    message["From"] = json!("Anyone <anyone@example.org>");
    api.post("/email", &message).await.assert_sent();
    message["From"] = json!("other@example.com");
    let text = api.post("/email", &message).await.assert_error(422, 400);
    assert!(
        text.contains("(other@example.com) is not a Sender Signature"),
        "{text}"
    );
}

#[tokio::test]
async fn any_from_is_accepted_without_sender_signatures() {
    let api = Api::start().await;
    let mut message = plain("a@example.com");
    message["From"] = json!("whoever@anywhere.test");
    api.post("/email", &message).await.assert_sent();
}

#[tokio::test]
async fn an_inactive_recipient_is_422_with_error_code_406_in_postmarks_words() {
    let api = Api::start_with(FakePostmark::builder().suppress("bounced@example.com")).await;
    let mut message = plain("ok@example.com");
    message["Bcc"] = json!("Bounced@Example.com");
    let text = api.post("/email", &message).await.assert_error(422, 406);
    assert_eq!(
        text,
        "You tried to send to a recipient that has been marked as inactive. Found inactive \
         addresses: Bounced@Example.com. Inactive recipients are ones that have generated a \
         hard bounce, a spam complaint, or a manual suppression."
    );
    // postmark.js reads the addresses back out with this pattern.
    let list = text
        .split("Found inactive addresses: ")
        .nth(1)
        .and_then(|rest| rest.split(" Inactive").next())
        .map(|s| s.trim_end_matches('.'));
    assert_eq!(list, Some("Bounced@Example.com"));
}

#[tokio::test]
async fn an_unknown_template_is_1101_and_a_missing_model_is_1109() {
    let api = Api::start().await;
    let mut unknown = templated("a@example.com", "1");
    unknown["TemplateAlias"] = json!("logto-nope");
    let text = api
        .post("/email/withTemplate", &unknown)
        .await
        .assert_error(422, 1101);
    assert!(text.contains("logto-nope"), "{text}");
    let mut by_id = templated("a@example.com", "1");
    by_id.as_object_mut().unwrap().remove("TemplateAlias");
    by_id["TemplateId"] = json!(42);
    api.post("/email/withTemplate", &by_id)
        .await
        .assert_error(422, 1101);
    let mut no_model = templated("a@example.com", "1");
    no_model.as_object_mut().unwrap().remove("TemplateModel");
    api.post("/email/withTemplate", &no_model)
        .await
        .assert_error(422, 1109);
}

#[tokio::test]
async fn a_batch_over_500_is_422_with_error_code_410() {
    let api = Api::start().await;
    let items: Vec<_> = (0..501)
        .map(|i| plain(&format!("u{i}@example.com")))
        .collect();
    let text = api
        .post("/email/batch", &json!(items))
        .await
        .assert_error(422, 410);
    assert_eq!(
        text,
        "You may only send up to 500 messages in a single batched request."
    );
    assert!(api.postmark.inbox().messages().is_empty());
    let items: Vec<_> = (0..500)
        .map(|i| plain(&format!("u{i}@example.com")))
        .collect();
    assert_eq!(api.post("/email/batch", &json!(items)).await.status, 200);
}

#[tokio::test]
async fn an_unknown_stream_is_1235_and_an_inbound_stream_is_1236() {
    let api = Api::start().await;
    let mut message = plain("a@example.com");
    message["MessageStream"] = json!("nope");
    let text = api.post("/email", &message).await.assert_error(422, 1235);
    assert_eq!(
        text,
        "The stream provided: 'nope' does not exist on this server."
    );
    message["MessageStream"] = json!("inbound");
    api.post("/email", &message).await.assert_error(422, 1236);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let api = Api::start().await;
    api.get("/nope").await.assert_error(404, 404);
    api.post("/email/nope", &plain("a@example.com"))
        .await
        .assert_error(404, 404);
    api.get("/email").await.assert_error(405, 405);
    let reply = api
        .http
        .delete(api.url("/email/batch"))
        .send()
        .await
        .unwrap();
    crate::support::reply(reply).await.assert_error(405, 405);
}

#[tokio::test]
async fn checks_run_in_postmarks_order() {
    let api = Api::start().await;
    let bad_everything = b"{not json".to_vec();
    // No token beats everything else.
    api.post_raw(
        "/email",
        &[("Content-Type", "text/plain")],
        bad_everything.clone(),
    )
    .await
    .assert_error(401, 10);
    // Then the content type beats a bad body.
    api.post_raw("/email", &[token(&api)], bad_everything)
        .await
        .assert_error(422, 409);
    // Then size beats syntax.
    let huge = vec![b'{'; 10 * 1024 * 1024 + 1];
    api.post_raw("/email", &[token(&api), JSON], huge)
        .await
        .assert_error(413, 300);
    // Types (403) beat content (300).
    api.post("/email", &json!({"From": "bad", "To": 1}))
        .await
        .assert_error(422, 403);
    // Content (300) beats sender, suppression, template and stream checks.
    let strict = Api::start_with(
        FakePostmark::builder()
            .sender_signature("x@example.com")
            .suppress("s@example.com"),
    )
    .await;
    let mut message = templated("s@example.com, broken", "1");
    message["TemplateAlias"] = json!("nope");
    message["MessageStream"] = json!("nope");
    strict
        .post("/email/withTemplate", &message)
        .await
        .assert_error(422, 300);
    message["To"] = json!("s@example.com");
    strict
        .post("/email/withTemplate", &message)
        .await
        .assert_error(422, 400);
    message["From"] = json!("x@example.com");
    strict
        .post("/email/withTemplate", &message)
        .await
        .assert_error(422, 406);
    message["To"] = json!("ok@example.com");
    strict
        .post("/email/withTemplate", &message)
        .await
        .assert_error(422, 1101);
    message["TemplateAlias"] = json!("logto-generic");
    strict
        .post("/email/withTemplate", &message)
        .await
        .assert_error(422, 1235);
    message["MessageStream"] = json!("outbound");
    strict
        .post("/email/withTemplate", &message)
        .await
        .assert_sent();
}

//! Injected failures: exactly n sends fail as Postmark would answer, then sends succeed.

use mock_idp::postmark::Fault;
use serde_json::json;

use crate::support::{Api, PostmarkAssert, plain, templated};

#[tokio::test]
async fn fail_next_fails_exactly_n_sends_then_recovers() {
    let api = Api::start().await;
    api.postmark.fail_next(2, 503, 100);
    for _ in 0..2 {
        let text = api
            .post("/email", &plain("a@example.com"))
            .await
            .assert_error(503, 100);
        assert!(text.contains("maintenance"), "{text}");
    }
    api.post("/email", &plain("a@example.com"))
        .await
        .assert_sent();
    assert!(api.postmark.pending_faults().is_empty());
    assert_eq!(
        api.postmark.inbox().messages().len(),
        1,
        "failed sends keep nothing"
    );
}

#[tokio::test]
async fn injected_failures_answer_as_postmark_does() {
    let api = Api::start().await;
    api.postmark.fail_next(1, 401, 10);
    api.postmark.fail_next(1, 422, 406);
    api.postmark.fail_next(1, 429, 429);
    api.postmark.fail_next(1, 500, 0);
    let text = api
        .post("/email", &plain("a@example.com"))
        .await
        .assert_error(401, 10);
    assert_eq!(text, "Request does not contain a valid Server token.");
    let text = api
        .post(
            "/email/withTemplate",
            &templated("Someone <inactive@example.com>", "1"),
        )
        .await
        .assert_error(422, 406);
    assert!(
        text.contains("Found inactive addresses: inactive@example.com."),
        "{text}"
    );
    api.post("/email/batch", &json!([plain("a@example.com")]))
        .await
        .assert_error(429, 429);
    api.post("/email", &plain("a@example.com"))
        .await
        .assert_error(500, 0);
    api.post("/email", &plain("a@example.com"))
        .await
        .assert_sent();
}

#[tokio::test]
async fn a_fault_can_carry_its_own_message() {
    let api = Api::start().await;
    api.postmark.fail_next_with(Fault {
        count: 1,
        status: 422,
        error_code: 300,
        message: Some("Custom <failure>".into()),
    });
    let text = api
        .post("/email", &plain("a@example.com"))
        .await
        .assert_error(422, 300);
    assert_eq!(text, "Custom <failure>");
}

#[tokio::test]
async fn faults_leave_bad_tokens_to_the_real_check() {
    let api = Api::start().await;
    api.postmark.fail_next(1, 503, 100);
    let body = serde_json::to_vec(&plain("a@example.com")).unwrap();
    api.post_raw("/email", &[("Content-Type", "application/json")], body)
        .await
        .assert_error(401, 10);
    assert_eq!(
        api.postmark.pending_faults().len(),
        1,
        "an unauthenticated request does not use it"
    );
}

#[tokio::test]
async fn faults_can_be_queued_listed_and_cleared_over_http() {
    let api = Api::start().await;
    let added = api
        .post(
            "/_inbox/faults",
            &json!({"Count": 2, "Status": 503, "ErrorCode": 100}),
        )
        .await
        .json();
    assert_eq!(
        added["Faults"],
        json!([{"Count": 2, "Status": 503, "ErrorCode": 100, "Message": null}])
    );
    api.post("/email", &plain("a@example.com"))
        .await
        .assert_error(503, 100);
    let listed = api.get("/_inbox/faults").await.json();
    assert_eq!(listed["Faults"][0]["Count"], 1);
    api.call(reqwest::Method::DELETE, "/_inbox/faults", None)
        .await;
    api.post("/email", &plain("a@example.com"))
        .await
        .assert_sent();

    api.post(
        "/_inbox/faults",
        &json!({"Count": 1, "Status": 200, "ErrorCode": 0}),
    )
    .await
    .assert_error(400, 400);
    api.post("/_inbox/faults", &json!({"Status": 503}))
        .await
        .assert_error(400, 400);
    api.post("/_inbox/faults", &json!("x"))
        .await
        .assert_error(400, 400);
}

#[test]
#[should_panic(expected = "fail_next: a fault's status must be an error status")]
fn fail_next_refuses_a_success_status() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let postmark = runtime.block_on(mock_idp::FakePostmark::start()).unwrap();
    postmark.fail_next(1, 200, 0);
}

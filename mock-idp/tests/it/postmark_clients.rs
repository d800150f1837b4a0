//! An independent client, the `postmark` crate from crates.io, against the fake.
//!
//! The crate's own `reqwest` feature is not used: its `Client` trait is implemented over our
//! reqwest (`support::CrateClient`), the way any user could plug in their own HTTP stack.

use postmark::api::Body;
use postmark::api::email::{
    SendEmailBatchWithTemplatesRequest, SendEmailRequest, SendEmailWithTemplateRequest,
    TemplateModel,
};
use postmark::{Query, QueryError};

use crate::support::{Api, CrateClient};

fn client(api: &Api, token: &str) -> CrateClient {
    CrateClient::new(api, token)
}

fn model(code: &str) -> TemplateModel {
    let mut model = TemplateModel::default();
    model.insert("code", code);
    model
}

#[tokio::test]
async fn the_postmark_crate_sends_plain_mail() {
    let api = Api::start().await;
    let client = client(&api, api.postmark.server_token());
    let request = SendEmailRequest::builder()
        .from("noreply@example.com")
        .to("alice@example.com")
        .subject("Hello")
        .body(Body::text("Your code is 975310".into()))
        .build();

    let response = request.execute(&client).await.unwrap();

    assert_eq!(response.error_code, 0);
    assert_eq!(response.message, "OK");
    assert_eq!(response.to.as_deref(), Some("alice@example.com"));
    let mail = api
        .postmark
        .inbox()
        .wait_for("alice@example.com")
        .await
        .unwrap();
    assert_eq!(response.message_id.as_deref(), Some(mail.message_id()));
    assert_eq!(mail.code(), Some("975310"));
}

#[tokio::test]
async fn the_postmark_crate_sends_templated_mail() {
    let api = Api::start().await;
    let client = client(&api, api.postmark.server_token());
    let request = SendEmailWithTemplateRequest::builder()
        .from("noreply@example.com")
        .to("alice@example.com")
        .template_alias("logto-register")
        .template_model(model("864200"))
        .build();

    let response = request.execute(&client).await.unwrap();

    assert_eq!(response.error_code, 0);
    let mail = api
        .postmark
        .inbox()
        .wait_for("alice@example.com")
        .await
        .unwrap();
    assert_eq!(mail.subject(), Some("864200 is your verification code"));
    assert_eq!(mail.template_alias(), Some("logto-register"));
}

#[tokio::test]
async fn the_postmark_crate_reads_per_item_batch_results() {
    let api = Api::start().await;
    let client = client(&api, api.postmark.server_token());
    let good = |to: &str| {
        SendEmailRequest::builder()
            .from("noreply@example.com")
            .to(to)
            .body(Body::text("x".into()))
            .build()
    };
    let batch = vec![good("a@example.com"), good("broken"), good("c@example.com")];

    let results = batch.execute(&client).await.unwrap();

    let codes: Vec<i64> = results.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, [0, 300, 0]);
    assert!(results[1].message_id.is_none());
}

#[tokio::test]
async fn the_postmark_crate_sends_a_batch_with_templates() {
    let api = Api::start().await;
    let client = client(&api, api.postmark.server_token());
    let message = |to: &str, code: &str| {
        SendEmailWithTemplateRequest::builder()
            .from("noreply@example.com")
            .to(to)
            .template_alias("logto-sign-in")
            .template_model(model(code))
            .build()
    };
    let request = SendEmailBatchWithTemplatesRequest {
        messages: vec![
            message("a@example.com", "111111"),
            message("b@example.com", "222222"),
        ],
    };

    let results = request.execute(&client).await.unwrap();

    assert!(results.iter().all(|r| r.error_code == 0));
    let inbox = api.postmark.inbox();
    assert_eq!(
        inbox.wait_for("b@example.com").await.unwrap().code(),
        Some("222222")
    );
}

#[tokio::test]
async fn the_postmark_crate_sees_postmarks_error_codes() {
    let api = Api::start().await;
    let request = SendEmailRequest::builder()
        .from("noreply@example.com")
        .to("alice@example.com")
        .body(Body::text("x".into()))
        .build();

    let error = request
        .clone()
        .execute(&client(&api, "wrong-token"))
        .await
        .unwrap_err();
    match error {
        QueryError::Api {
            status, error_code, ..
        } => {
            assert_eq!(status.as_u16(), 401);
            assert_eq!(error_code, Some(10));
        }
        other => panic!("expected an API error, got {other}"),
    }

    let mut bad = request;
    bad.to = "nope".into();
    match bad
        .execute(&client(&api, api.postmark.server_token()))
        .await
        .unwrap_err()
    {
        QueryError::Api {
            status,
            error_code,
            message,
            ..
        } => {
            assert_eq!(status.as_u16(), 422);
            assert_eq!(error_code, Some(300));
            assert_eq!(message.as_deref(), Some("Invalid 'To' address: 'nope'."));
        }
        other => panic!("expected an API error, got {other}"),
    }
}

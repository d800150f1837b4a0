use mock_idp::FakePostmark;

#[tokio::test]
async fn sends_the_sign_in_code() -> Result<(), Box<dyn std::error::Error>> {
    // Arrange: a fake Postmark on a free port, with Logto's default templates.
    let postmark = FakePostmark::start().await?;
    let inbox = postmark.inbox();

    // Act: your code sends through Postmark's API (here by hand).
    reqwest::Client::new()
        .post(format!("{}/email/withTemplate", postmark.base_url()))
        .header("X-Postmark-Server-Token", postmark.server_token())
        .json(&serde_json::json!({
            "From": "noreply@example.com",
            "To": "alice@example.com",
            "TemplateAlias": "logto-sign-in",
            "TemplateModel": {"code": "123456"},
        }))
        .send()
        .await?
        .error_for_status()?;

    // Assert: the mail is there, rendered, with its code. No sleep anywhere.
    let mail = inbox.wait_for("alice@example.com").await?;
    assert_eq!(mail.code(), Some("123456"));
    assert_eq!(mail.subject(), Some("123456 is your sign-in code"));
    Ok(())
}

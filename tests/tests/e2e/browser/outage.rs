//! Postmark fails while Logto sends the code: Logto's readable error, then a retry works.

use super::support::journey;

#[tokio::test]
async fn a_postmark_outage_shows_a_readable_error_and_a_retry_signs_in() {
    journey(|j| async move {
        j.open_logto("#sign-in", "Sign in").await;
        j.stack.idp.postmark().unwrap().fail_next(1, 503, 100);

        j.browser.fill("#identifier", "alice@example.com").await;
        j.browser.click("#submit").await;
        let alert = j
            .browser
            .wait_for("[role=alert]")
            .await
            .text()
            .await
            .unwrap();
        assert!(alert.starts_with("Error occurred in connector"), "{alert}");
        assert!(alert.contains("offline for maintenance"), "{alert}");
        assert_eq!(j.stack.inbox().messages().len(), 0, "nothing was sent");

        // The form kept the address: submitting again sends the code.
        let cursor = j.stack.inbox().cursor();
        j.browser.click("#submit").await;
        j.browser
            .wait_for_text("h1", "Enter verification code")
            .await;
        let code = j.code_after("alice@example.com", cursor).await;
        j.submit_code(&code).await;
        j.assert_signed_in("alice@example.com").await;
    })
    .await;
}

//! The code page: a wrong code, then the right one; a resent code replacing the old one.

use std::time::Duration;

use e2e::wrong;

use super::support::journey;

#[tokio::test]
async fn a_wrong_code_shows_logtos_message_then_the_right_code_signs_in() {
    journey(|j| async move {
        j.open_logto("#sign-in", "Sign in").await;
        let cursor = j.submit_email("alice@example.com").await;
        let code = j.code_after("alice@example.com", cursor).await;

        j.submit_code(wrong(&code)).await;
        j.browser
            .wait_for_text("[role=alert]", "Invalid verification code.")
            .await;
        j.submit_code(&code).await;
        j.assert_signed_in("alice@example.com").await;
    })
    .await;
}

#[tokio::test]
async fn a_resent_code_signs_in_and_the_old_one_is_rejected() {
    journey(|j| async move {
        j.open_logto("#sign-in", "Sign in").await;
        let cursor = j.submit_email("alice@example.com").await;
        let old = j.code_after("alice@example.com", cursor).await;
        // Resend is offered after a 59 s countdown; move the mock's clock instead of waiting,
        // and reload so the page is rendered at the new time.
        j.stack.clock().advance(Duration::from_secs(60));
        j.browser.goto(&j.browser.url().await).await;

        let cursor = j.stack.inbox().cursor();
        j.browser.click("#resend").await;
        j.browser
            .wait_for_text_containing("[role=status]", "The verification code has been resent")
            .await;
        let new = j.code_after("alice@example.com", cursor).await;
        assert_ne!(old, new, "the default seed gives two different codes");

        j.submit_code(&old).await;
        j.browser
            .wait_for_text("[role=alert]", "Invalid verification code.")
            .await;
        j.submit_code(&new).await;
        j.assert_signed_in("alice@example.com").await;
    })
    .await;
}

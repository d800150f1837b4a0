//! An existing user signs in, reading the code through the fake Postmark's HTTP wait API (what
//! a test in any language would do).

use super::support::journey;

#[tokio::test]
async fn an_existing_user_signs_in_with_the_code_from_the_inbox_api() {
    journey(|j| async move {
        j.open_logto("#sign-in", "Sign in").await;
        let cursor = j.submit_email("alice@example.com").await;

        let postmark = j.stack.idp.postmark_url().to_owned();
        let wait =
            format!("{postmark}/_inbox/wait?to=alice@example.com&after={cursor}&timeout_ms=10000");
        let mail: serde_json::Value = reqwest::get(&wait).await.unwrap().json().await.unwrap();
        assert_eq!(mail["TemplateAlias"], "logto-sign-in");
        let code = mail["Code"]
            .as_str()
            .expect("a code in the message")
            .to_owned();

        j.submit_code(&code).await;
        j.assert_signed_in("alice@example.com").await;
        assert_eq!(j.browser.text("#user").await, "Alice Example");
    })
    .await;
}

#[tokio::test]
async fn a_user_signs_in_with_a_username_and_password_after_a_wrong_one() {
    journey(|j| async move {
        j.open_logto("#sign-in", "Sign in").await;
        j.browser.fill("#identifier", "bob").await;
        j.browser.click("#submit").await;
        j.browser.wait_for_text("h1", "Enter password").await;
        j.browser.fill("#password", "not-his-password").await;
        j.browser.click("#submit").await;
        j.browser
            .wait_for_text(
                "[role=alert]",
                "Incorrect account or password. Please check your input.",
            )
            .await;
        j.browser.fill("#password", "bob-Secret-1").await;
        j.browser.click("#submit").await;
        j.assert_signed_in("bob@example.com").await;

        // The helper walks the same pages.
        j.browser.goto(&j.stack.app_url("/sign-out")).await;
        j.browser.confirm_sign_out(&j.stack.idp).await;
        j.browser.goto(&j.stack.app_url("/")).await;
        j.browser.click("#sign-in").await;
        j.browser
            .sign_in_with_password(&j.stack.idp, "alice@example.com", "alice-Secret-1")
            .await;
        j.assert_signed_in("alice@example.com").await;
    })
    .await;
}

#[tokio::test]
async fn a_user_resets_a_forgotten_password_and_signs_in_with_the_new_one() {
    journey(|j| async move {
        j.open_logto("#sign-in", "Sign in").await;
        j.browser.fill("#identifier", "bob").await;
        j.browser.click("#submit").await;
        j.browser.wait_for_text("h1", "Enter password").await;
        j.browser.click("#forgot-password").await;
        j.browser.wait_for_text("h1", "Reset password").await;
        let cursor = j.stack.inbox().cursor();
        j.browser.fill("#identifier", "bob@example.com").await;
        j.browser.click("#submit").await;
        j.browser
            .wait_for_text("h1", "Enter verification code")
            .await;
        let code = j.code_after("bob@example.com", cursor).await;
        j.submit_code(&code).await;
        j.browser.wait_for_text("h1", "New password").await;
        j.browser.fill("#password", "bob-Secret-2").await;
        j.browser.fill("#confirm-password", "bob-Secret-2").await;
        j.browser.click("#submit").await;
        j.browser.wait_for_text("#notice", "Password changed").await;
        j.browser
            .sign_in_with_password(&j.stack.idp, "bob", "bob-Secret-2")
            .await;
        j.assert_signed_in("bob@example.com").await;
    })
    .await;
}

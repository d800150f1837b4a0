//! Sign-out through Logto's confirm page, back to "Not authenticated"; the next sign-in needs
//! a code again.

use super::support::journey;

#[tokio::test]
async fn sign_out_returns_to_not_authenticated_and_the_next_sign_in_needs_a_code() {
    journey(|j| async move {
        j.sign_in("alice@example.com").await;
        j.browser.click("#sign-out").await;
        // Logto's confirm page submits itself when scripts run, as Logto's does.
        j.browser.confirm_sign_out(&j.stack.idp).await;
        j.browser
            .wait_for_text("#status", "Not authenticated")
            .await;
        assert_eq!(j.browser.url().await, j.stack.app_url("/"));
        let events = j.stack.idp.events();
        let ended = events.iter().find(|e| e.kind == "end_session.success");
        assert_eq!(
            ended.map(|e| e.data["session_ended"].clone()),
            Some(true.into()),
            "Logto's session ended: {events:#?}"
        );

        // Logto no longer knows this browser: its sign-in page, and a new code.
        j.open_logto("#sign-in", "Sign in").await;
        let cursor = j.submit_email("alice@example.com").await;
        j.code_after("alice@example.com", cursor).await;
    })
    .await;
}

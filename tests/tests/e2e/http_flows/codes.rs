//! The emailed code: a wrong one, an expired one (mock clock), a resent one.

use std::time::Duration;

use e2e::{Stack, spawn_stack, wrong};

use super::support::{land_signed_in, status, submit_code, up_to_the_code};

fn code_url(stack: &Stack) -> String {
    format!("{}/sign-in/verification-code", stack.idp.base_url())
}

#[tokio::test]
async fn a_wrong_code_is_refused_then_the_right_one_signs_in() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    let (state, code) = up_to_the_code(&stack, &agent, "alice@example.com").await;

    let refused = agent
        .post_form(&code_url(&stack), &[("code", wrong(&code))])
        .await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(
        refused.alert().as_deref(),
        Some("Invalid verification code.")
    );
    assert_eq!(status(&stack, &agent).await, "Not authenticated");

    let accepted = submit_code(&stack, &agent, "/sign-in", &code).await;
    land_signed_in(&stack, &agent, accepted, &state).await;
}

#[tokio::test]
async fn an_expired_code_is_refused_and_a_resent_one_signs_in() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    let (state, code) = up_to_the_code(&stack, &agent, "alice@example.com").await;

    // Logto's codes live 10 minutes.
    stack.clock().advance(Duration::from_secs(601));
    let expired = agent.post_form(&code_url(&stack), &[("code", &code)]).await;
    assert_eq!(expired.status, 400, "{expired:?}");
    assert_eq!(
        expired.alert().as_deref(),
        Some("Verification code has expired. Please request a new verification code.")
    );
    assert_eq!(status(&stack, &agent).await, "Not authenticated");

    let cursor = stack.inbox().cursor();
    let resent = agent
        .post_form(&format!("{}/resend", code_url(&stack)), &[])
        .await;
    assert!(
        resent.has("The verification code has been resent"),
        "{resent:?}"
    );
    let fresh = stack.code_after("alice@example.com", cursor).await;
    let accepted = submit_code(&stack, &agent, "/sign-in", &fresh).await;
    land_signed_in(&stack, &agent, accepted, &state).await;
}

#[tokio::test]
async fn a_resent_code_replaces_the_old_one() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    let (state, old) = up_to_the_code(&stack, &agent, "alice@example.com").await;

    // Logto lets the user ask again after 60 seconds.
    stack.clock().advance(Duration::from_secs(60));
    let cursor = stack.inbox().cursor();
    let resent = agent
        .post_form(&format!("{}/resend", code_url(&stack)), &[])
        .await;
    assert_eq!(resent.status, 200, "{resent:?}");
    let new = stack.code_after("alice@example.com", cursor).await;

    assert_ne!(old, new, "the default seed gives two different codes");
    let refused = agent.post_form(&code_url(&stack), &[("code", &old)]).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(
        refused.alert().as_deref(),
        Some("Invalid verification code.")
    );
    let accepted = submit_code(&stack, &agent, "/sign-in", &new).await;
    land_signed_in(&stack, &agent, accepted, &state).await;
}

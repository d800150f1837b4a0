//! The callback: a wrong state, Logto's `error`, no sign-in in progress, a replay. Each shows a
//! readable page and signs nobody in.

use e2e::{Stack, spawn_stack};
use mock_idp::{Agent, Page};

use super::support::{start, status, submit_code, through_logto, up_to_the_code};

/// Signs `email` in at Logto and stops at Logto's redirect to the app's callback.
async fn up_to_the_callback(stack: &Stack, agent: &Agent, email: &str) -> Page {
    let (state, code) = up_to_the_code(stack, agent, email).await;
    let accepted = submit_code(stack, agent, "/sign-in", &code).await;
    through_logto(stack, agent, accepted, &state).await
}

/// Asserts the app's error page: `status`, the message in `[role=alert]`, a way back.
fn assert_error_page(page: &Page, status: u16, message: &str) {
    assert_eq!(page.status, status, "{page:?}");
    assert!(page.content_type().starts_with("text/html"), "{page:?}");
    assert_eq!(page.alert().as_deref(), Some(message), "{page:?}");
    assert!(page.has(r#"href="/""#), "{page:?}");
}

#[tokio::test]
async fn a_callback_with_a_wrong_state_is_refused_and_signs_nobody_in() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    let to_callback = up_to_the_callback(&stack, &agent, "alice@example.com").await;
    let code = to_callback.location_param("code").unwrap();
    let forged = format!(
        "{}?code={code}&state=forged-state",
        stack.app_url("/callback")
    );
    let refused = agent.get(&forged).await;
    assert_error_page(&refused, 400, "Invalid state in the callback URI.");
    assert_eq!(status(&stack, &agent).await, "Not authenticated");
    assert!(
        stack.idp.events().iter().all(|e| e.kind != "grant.success"),
        "the code was never exchanged"
    );
}

#[tokio::test]
async fn logto_sending_access_denied_shows_a_readable_escaped_error_and_no_session() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    let (to_logto, _) = start(&stack, &agent, "/sign-in", "/sign-in").await;
    let state = to_logto.location_param("state").unwrap();
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("error", "access_denied")
        .append_pair(
            "error_description",
            "<script>alert(1)</script> The user said no & left",
        )
        .append_pair("state", &state)
        .append_pair("iss", &stack.idp.issuer());
    let denied = agent
        .get(&format!(
            "{}?{}",
            stack.app_url("/callback"),
            query.finish()
        ))
        .await;
    assert_error_page(
        &denied,
        400,
        "Sign-in failed: access_denied (<script>alert(1)</script> The user said no & left)",
    );
    assert!(
        !denied.has("<script>alert(1)"),
        "the description is escaped: {denied:?}"
    );
    assert!(denied.has(r#"id="sign-in""#), "{denied:?}");
    assert_eq!(status(&stack, &agent).await, "Not authenticated");
}

#[tokio::test]
async fn a_callback_without_a_sign_in_in_progress_is_refused() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    let stray = agent
        .get(&format!(
            "{}?code=abc&state=xyz",
            stack.app_url("/callback")
        ))
        .await;
    assert_error_page(
        &stray,
        400,
        "Sign-in session not found. Please sign in again.",
    );
    assert_eq!(status(&stack, &agent).await, "Not authenticated");
}

#[tokio::test]
async fn a_callback_replayed_after_sign_in_is_refused_and_the_code_is_not_sent_again() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    let to_callback = up_to_the_callback(&stack, &agent, "alice@example.com").await;
    let callback = agent.follow(&to_callback).await;
    assert_eq!(callback.status, 303, "{callback:?}");
    let replay = agent.get(to_callback.location()).await;
    assert_error_page(
        &replay,
        400,
        "Sign-in session not found. Please sign in again.",
    );
    let exchanges = stack
        .idp
        .events()
        .iter()
        .filter(|e| e.kind.starts_with("grant."))
        .count();
    assert_eq!(exchanges, 1, "one exchange, no replay reached Logto");
    assert_eq!(status(&stack, &agent).await, "Authenticated");
}

#[tokio::test]
async fn a_code_logto_does_not_know_is_a_bad_callback() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    let (to_logto, _) = start(&stack, &agent, "/sign-in", "/sign-in").await;
    let state = to_logto.location_param("state").unwrap();
    let bogus = agent
        .get(&format!(
            "{}?code=not-a-code&state={state}",
            stack.app_url("/callback")
        ))
        .await;
    assert_eq!(bogus.status, 400, "{bogus:?}");
    let alert = bogus.alert().unwrap();
    assert!(
        alert.starts_with("Logto refused the sign-in code:"),
        "{alert}"
    );
    assert!(alert.contains("invalid_grant"), "{alert}");
    assert_eq!(status(&stack, &agent).await, "Not authenticated");
}

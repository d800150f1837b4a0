//! Signing out ends the app's session and Logto's; the next sign-in asks for a code again.

use e2e::spawn_stack;

use super::support::{sign_in, start, status, submit_email};

#[tokio::test]
async fn sign_out_ends_both_sessions_and_the_next_sign_in_asks_for_a_code() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    sign_in(&stack, &agent, "alice@example.com").await;

    let to_logto = agent.get(&stack.app_url("/sign-out")).await;
    assert_eq!(to_logto.status, 303, "{to_logto:?}");
    assert!(
        to_logto
            .location()
            .starts_with(&format!("{}/session/end?", stack.idp.issuer())),
        "{to_logto:?}"
    );
    assert_eq!(
        to_logto.location_param("client_id"),
        Some(stack.idp.client().id.clone())
    );
    assert_eq!(
        to_logto.location_param("post_logout_redirect_uri"),
        Some(stack.app_url("/"))
    );
    // The app forgot the user before Logto was even asked.
    assert_eq!(status(&stack, &agent).await, "Not authenticated");
    // …and revoked the refresh token, as @logto/node does.
    let events = stack.idp.events();
    let revoked = events.iter().find(|e| e.kind == "grant.revoked");
    assert_eq!(
        revoked.map(|e| e.data["reason"].clone()),
        Some("token revoked".into()),
        "{events:#?}"
    );

    let confirm = agent.follow(&to_logto).await;
    assert_eq!(confirm.status, 200, "{confirm:?}");
    assert!(confirm.has(r#"id="confirm""#), "{confirm:?}");
    let confirmed = agent.confirm_sign_out(&stack.idp, &confirm).await;
    assert_eq!(confirmed.status, 303, "{confirmed:?}");
    assert_eq!(confirmed.location(), stack.app_url("/"));
    let home = agent.follow(&confirmed).await;
    assert_eq!(home.text_of("status").as_deref(), Some("Not authenticated"));

    // Logto's session is over: the sign-in page again (start asserts it), and a new code.
    start(&stack, &agent, "/sign-in", "/sign-in").await;
    let cursor = submit_email(&stack, &agent, "/sign-in", "alice@example.com").await;
    stack.code_after("alice@example.com", cursor).await;
}

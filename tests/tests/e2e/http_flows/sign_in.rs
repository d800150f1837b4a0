//! Signing in: an existing user with the emailed code, and single sign-on while Logto's
//! session lives.

use e2e::spawn_stack;

use super::support::{land_signed_in, sign_in, start, status, submit_code, submit_email};

#[tokio::test]
async fn an_existing_user_signs_in_with_the_emailed_code() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    assert_eq!(status(&stack, &agent).await, "Not authenticated");

    let (to_logto, _) = start(&stack, &agent, "/sign-in", "/sign-in").await;
    let state = to_logto.location_param("state").unwrap();
    let cursor = submit_email(&stack, &agent, "/sign-in", "alice@example.com").await;
    let mail = stack
        .inbox()
        .wait_for("alice@example.com")
        .after(cursor)
        .await
        .unwrap();
    assert_eq!(mail.template_alias(), Some("logto-sign-in"));
    let code = mail.code().unwrap().to_owned();
    let accepted = submit_code(&stack, &agent, "/sign-in", &code).await;
    let home = land_signed_in(&stack, &agent, accepted, &state).await;
    assert_eq!(home.text_of("user").as_deref(), Some("Alice Example"));
    assert_eq!(home.text_of("email").as_deref(), Some("alice@example.com"));

    // The ID token was verified and kept; userinfo answers with the same user.
    let profile = agent.get(&stack.app_url("/profile.json")).await;
    assert_eq!(profile.status, 200, "{profile:?}");
    let profile = profile.json();
    let alice = stack.idp.user("alice@example.com").unwrap();
    assert_eq!(profile["id_token_claims"]["sub"], alice.id.as_str());
    assert_eq!(
        profile["id_token_claims"]["aud"],
        stack.idp.client().id.as_str()
    );
    assert_eq!(
        profile["id_token_claims"]["iss"],
        stack.idp.issuer().as_str()
    );
    assert_eq!(profile["userinfo"]["sub"], alice.id.as_str());
    assert_eq!(profile["userinfo"]["email"], "alice@example.com");
    assert_eq!(profile["userinfo"]["email_verified"], true);
    // Logto's answer as sent: null claims and Logto's own (created_at) are kept.
    assert_eq!(
        profile["userinfo"].get("username"),
        Some(&serde_json::Value::Null)
    );
    assert!(profile["userinfo"]["created_at"].is_number(), "{profile}");

    // One code exchange, for the scopes the app asked for.
    let exchanges: Vec<_> = stack
        .idp
        .events()
        .into_iter()
        .filter(|e| e.kind == "grant.success")
        .collect();
    assert_eq!(exchanges.len(), 1, "{exchanges:?}");
    assert_eq!(exchanges[0].data["grant_type"], "authorization_code");
    assert_eq!(exchanges[0].data["refresh_token"], true);
}

#[tokio::test]
async fn a_second_sign_in_while_the_logto_session_lives_needs_no_code() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    sign_in(&stack, &agent, "alice@example.com").await;
    let mails = stack.inbox().cursor();

    let to_logto = agent.get(&stack.app_url("/sign-in")).await;
    assert_eq!(to_logto.status, 303, "{to_logto:?}");
    let state = to_logto.location_param("state").unwrap();
    // Logto knows the browser: no sign-in page, straight back to the app with a code.
    let back = agent.follow(&to_logto).await;
    assert_eq!(back.status, 303, "{back:?}");
    land_signed_in(&stack, &agent, back, &state).await;
    assert_eq!(stack.inbox().cursor(), mails, "no email was sent");
}

#[tokio::test]
async fn two_users_in_two_browsers_stay_apart() {
    let stack = spawn_stack().await;
    let (alice, bob) = (stack.agent(), stack.agent());
    sign_in(&stack, &alice, "alice@example.com").await;
    assert_eq!(status(&stack, &bob).await, "Not authenticated");
    let home = sign_in(&stack, &bob, "bob@example.com").await;
    assert_eq!(home.text_of("user").as_deref(), Some("bob"));
    let home = alice.get(&stack.app_url("/")).await;
    assert_eq!(home.text_of("user").as_deref(), Some("Alice Example"));
}

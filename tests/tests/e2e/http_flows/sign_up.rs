//! Creating an account: from the app's `/sign-up`, and from `/sign-in` with an unknown email.

use e2e::spawn_stack;

use super::support::{land_signed_in, start, submit_code, submit_email};

#[tokio::test]
async fn a_new_user_signs_up_from_sign_up() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    let (to_logto, register) = start(&stack, &agent, "/sign-up", "/register").await;
    assert_eq!(
        to_logto.location_param("interaction_mode").as_deref(),
        Some("signUp")
    );
    assert!(register.has("Create your account"), "{register:?}");
    let state = to_logto.location_param("state").unwrap();

    let cursor = submit_email(&stack, &agent, "/register", "erin@example.com").await;
    let mail = stack
        .inbox()
        .wait_for("erin@example.com")
        .after(cursor)
        .await
        .unwrap();
    assert_eq!(mail.template_alias(), Some("logto-register"));
    assert!(
        stack.idp.user("erin@example.com").is_none(),
        "nothing is created before the code"
    );

    let accepted = submit_code(&stack, &agent, "/register", mail.code().unwrap()).await;
    let home = land_signed_in(&stack, &agent, accepted, &state).await;
    assert_eq!(home.text_of("email").as_deref(), Some("erin@example.com"));
    let erin = stack
        .idp
        .user("erin@example.com")
        .expect("the account exists");
    let claims = agent.get(&stack.app_url("/profile.json")).await.json();
    assert_eq!(claims["id_token_claims"]["sub"], erin.id.as_str());
}

#[tokio::test]
async fn an_unknown_email_at_sign_in_is_offered_an_account() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    let (to_logto, _) = start(&stack, &agent, "/sign-in", "/sign-in").await;
    let state = to_logto.location_param("state").unwrap();
    let cursor = submit_email(&stack, &agent, "/sign-in", "frank@example.com").await;
    let code = stack.code_after("frank@example.com", cursor).await;

    let offer = agent
        .post_form(
            &format!("{}/sign-in/verification-code", stack.idp.base_url()),
            &[("code", &code)],
        )
        .await;
    assert_eq!(offer.status, 200, "{offer:?}");
    assert_eq!(
        offer.text_of("offer").as_deref(),
        Some("No account found for frank@example.com. Create a new one?")
    );
    assert_eq!(offer.alert(), None, "an offer, not an error");
    assert!(offer.has(r#"id="create-account""#), "{offer:?}");
    assert!(
        stack.idp.user("frank@example.com").is_none(),
        "nothing created before the user agrees"
    );

    let created = agent
        .post_form(
            &format!("{}/sign-in/create-account", stack.idp.base_url()),
            &[],
        )
        .await;
    assert_eq!(created.status, 303, "{created:?}");
    let home = land_signed_in(&stack, &agent, created, &state).await;
    assert_eq!(home.text_of("email").as_deref(), Some("frank@example.com"));
    assert!(stack.idp.user("frank@example.com").is_some());
}

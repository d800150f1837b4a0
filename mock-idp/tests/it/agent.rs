//! The library's HTTP test client walking Logto's flows: sign-in, sign-up and sign-out, and
//! the reasons it gives when Logto does not complete them.

use mock_idp::{Agent, MockIdp, Page};

/// A fresh agent signed in as `email` from the mock's sign-in URL; returns it and Logto's
/// redirect back to the app.
async fn signed_in(idp: &MockIdp, email: &str) -> (Agent, Page) {
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_in_url()).await;
    let back = agent.sign_in_with_email_code(idp, &to_logto, email).await;
    (agent, back)
}

#[tokio::test]
async fn sign_in_returns_logtos_redirect_back_with_a_code_for_the_state_sent() {
    let idp = MockIdp::start().await.unwrap();
    let (_, back) = signed_in(&idp, "alice@example.com").await;
    assert_eq!(back.status, 303, "{back:?}");
    assert!(back.location().starts_with(&idp.client().redirect_uris[0]));
    assert_eq!(
        back.location_param("state").as_deref(),
        Some("mock-idp-state")
    );
    assert_eq!(back.location_param("iss"), Some(idp.issuer()));
    let signed_in = idp
        .events()
        .into_iter()
        .any(|e| e.kind == "interaction.login");
    assert!(signed_in, "Logto recorded the sign-in");
}

#[tokio::test]
async fn sign_up_registers_the_new_user() {
    let idp = MockIdp::start().await.unwrap();
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_up_url()).await;
    assert!(idp.user("erin@example.com").is_none());
    let back = agent
        .sign_up_with_email_code(&idp, &to_logto, "erin@example.com")
        .await;
    assert!(back.location_param("code").is_some(), "{back:?}");
    assert!(idp.user("erin@example.com").is_some());
}

#[tokio::test]
#[should_panic(expected = "Logto has no account for nobody@example.com (No account found")]
async fn sign_in_of_an_unknown_email_fails_with_logtos_offer() {
    let idp = MockIdp::start().await.unwrap();
    signed_in(&idp, "nobody@example.com").await;
}

#[tokio::test]
#[should_panic(expected = "Logto did not ask who is signing in")]
async fn sign_in_while_logtos_session_lives_fails_saying_why() {
    let idp = MockIdp::start().await.unwrap();
    let (agent, _) = signed_in(&idp, "alice@example.com").await;
    let again = agent.get(&idp.sign_in_url()).await;
    agent
        .sign_in_with_email_code(&idp, &again, "alice@example.com")
        .await;
}

#[tokio::test]
async fn confirm_sign_out_ends_logtos_session_and_the_next_sign_in_asks_for_a_code() {
    let idp = MockIdp::start().await.unwrap();
    let (agent, _) = signed_in(&idp, "alice@example.com").await;
    let end = format!(
        "{}?client_id={}",
        idp.end_session_endpoint(),
        idp.client().id
    );
    let to_sign_out = agent.get(&end).await;
    let done = agent.confirm_sign_out(&idp, &to_sign_out).await;
    assert_eq!(
        done.location(),
        format!("{}/session/end/success", idp.issuer())
    );
    let again = agent.get(&idp.sign_in_url()).await;
    let back = agent
        .sign_in_with_email_code(&idp, &again, "alice@example.com")
        .await;
    assert!(back.location_param("code").is_some());
}

#[tokio::test]
#[should_panic(expected = "register your app's callback with MockIdp::builder().redirect_uri")]
async fn an_unregistered_callback_fails_saying_how_to_register_it() {
    let idp = MockIdp::start().await.unwrap();
    let agent = Agent::new();
    let url = idp
        .sign_in_url()
        .replace("localhost%3A3000%2Fcallback", "localhost%3A4000%2Fcallback");
    assert_ne!(url, idp.sign_in_url());
    let refused = agent.get(&url).await;
    agent
        .sign_in_with_email_code(&idp, &refused, "alice@example.com")
        .await;
}

#[tokio::test]
async fn the_agent_resets_a_forgotten_password_and_signs_in_with_the_new_one() {
    let idp = MockIdp::start().await.unwrap();
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_in_url()).await;
    let sign_in = agent
        .reset_password(&idp, &to_logto, "bob@example.com", "bob-Brand-New-7")
        .await;
    assert!(sign_in.has("Password changed"), "{sign_in:?}");
    let back = agent
        .sign_in_with_password(&idp, &sign_in, "bob", "bob-Brand-New-7")
        .await;
    assert!(back.location_param("code").is_some(), "{back:?}");
}

#[tokio::test]
async fn the_agent_signs_up_with_a_username_or_an_email_and_a_password() {
    // Logto's OSS default: usernames and passwords.
    let mut tenant = mock_idp::Tenant::fixture().unwrap();
    tenant.sign_in_experience.sign_up.identifiers = vec!["username".into()];
    tenant.sign_in_experience.sign_up.password = true;
    let idp = MockIdp::builder().tenant(tenant).start().await.unwrap();
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_up_url()).await;
    let back = agent
        .sign_up_with_password(&idp, &to_logto, "dana", "dana-Secret-1")
        .await;
    assert!(back.location_param("code").is_some(), "{back:?}");
    let dana = idp
        .tenant()
        .users
        .into_iter()
        .find(|u| u.username.as_deref() == Some("dana"));
    assert!(dana.is_some_and(|u| u.has_password()));

    // Logto Cloud's default: emails, verified by code, and passwords.
    let mut tenant = mock_idp::Tenant::fixture().unwrap();
    tenant.sign_in_experience.sign_up.password = true;
    let idp = MockIdp::builder().tenant(tenant).start().await.unwrap();
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_up_url()).await;
    let back = agent
        .sign_up_with_password(&idp, &to_logto, "erin@example.com", "erin-Secret-1")
        .await;
    assert!(back.location_param("code").is_some(), "{back:?}");
    assert!(idp.user("erin@example.com").unwrap().has_password());
}

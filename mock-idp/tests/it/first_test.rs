use mock_idp::{Agent, MockIdp};

#[tokio::test]
async fn alice_signs_in_with_the_code_logto_emailed_her() {
    let idp = MockIdp::start().await.unwrap(); // mock Logto + its fake Postmark, on free ports
    let agent = Agent::new(); // a browser without JavaScript: cookies, no automatic redirects

    // Your app's sign-in link leads to Logto, which asks for an email and mails a code.
    let to_logto = agent.get(&idp.sign_in_url()).await;
    let back = agent
        .sign_in_with_email_code(&idp, &to_logto, "alice@example.com")
        .await;

    // Logto sends the browser back to the app's callback with an authorization code.
    assert!(back.location().starts_with(&idp.client().redirect_uris[0]));
    assert!(back.location_param("code").is_some());
    let code = idp.latest_code("alice@example.com").unwrap(); // the code Alice typed
    assert_eq!(code.len(), 6);
}

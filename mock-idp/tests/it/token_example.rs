use mock_idp::{Agent, MockIdp};
use serde_json::Value;

#[tokio::test]
async fn the_code_logto_sends_back_buys_alices_tokens() {
    let idp = MockIdp::start().await.unwrap();
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_in_url()).await;
    let back = agent
        .sign_in_with_email_code(&idp, &to_logto, "alice@example.com")
        .await;

    // What your app's callback does with the code: the token request Logto expects.
    let client = idp.client();
    let http = reqwest::Client::new();
    let tokens: Value = http
        .post(idp.token_endpoint())
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &back.location_param("code").unwrap()),
            ("redirect_uri", &client.redirect_uris[0]),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me: Value = http
        .get(idp.userinfo_endpoint())
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["sub"], idp.user("alice@example.com").unwrap().id);
}

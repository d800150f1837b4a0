//! Access tokens: for the API resource, and refreshed once they expire (mock clock).

use std::time::Duration;

use e2e::{API_RESOURCE, spawn_stack};

use super::support::{refreshes, sign_in, status};

#[tokio::test]
async fn an_api_resource_token_carries_the_scopes_of_the_users_roles() {
    let stack = spawn_stack().await;
    let alice = stack.agent();
    sign_in(&stack, &alice, "alice@example.com").await;
    let token = alice.get(&stack.app_url("/api-token.json")).await;
    assert_eq!(token.status, 200, "{token:?}");
    let token = token.json();
    assert_eq!(token["resource"], API_RESOURCE);
    let claims = &token["claims"];
    assert_eq!(claims["aud"], API_RESOURCE);
    assert_eq!(claims["iss"], stack.idp.issuer().as_str());
    assert_eq!(
        claims["sub"],
        stack.idp.user("alice@example.com").unwrap().id.as_str()
    );
    assert_eq!(claims["client_id"], stack.idp.client().id.as_str());
    // Alice's role grants read:messages; the app asked for it.
    assert_eq!(claims["scope"], "read:messages");

    let page = alice.get(&stack.app_url("/api-token")).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(page.text_of("resource").as_deref(), Some(API_RESOURCE));
    assert_eq!(page.text_of("scope").as_deref(), Some("read:messages"));

    // Bob has no role: a token for the API, without a scope (Logto omits the claim).
    let bob = stack.agent();
    sign_in(&stack, &bob, "bob@example.com").await;
    let claims = bob.get(&stack.app_url("/api-token.json")).await.json()["claims"].clone();
    assert_eq!(claims["aud"], API_RESOURCE);
    assert!(claims.get("scope").is_none(), "{claims}");
}

#[tokio::test]
async fn expired_access_tokens_are_refreshed_for_userinfo_and_the_api() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    sign_in(&stack, &agent, "alice@example.com").await;
    // Userinfo uses the access token from sign-in; no refresh.
    let profile = agent.get(&stack.app_url("/profile.json")).await;
    assert_eq!(profile.status, 200, "{profile:?}");
    assert_eq!(refreshes(&stack), 0);
    // The API token comes from a refresh with `resource`, as the SDKs get it; then it is cached.
    let first = agent.get(&stack.app_url("/api-token.json")).await.json();
    agent.get(&stack.app_url("/api-token.json")).await;
    assert_eq!(refreshes(&stack), 1);

    // Access tokens live an hour; the refresh token two weeks.
    stack.clock().advance(Duration::from_secs(3601));
    let profile = agent.get(&stack.app_url("/profile.json")).await;
    assert_eq!(
        profile.status, 200,
        "userinfo with a refreshed token: {profile:?}"
    );
    assert_eq!(profile.json()["userinfo"]["email"], "alice@example.com");
    assert_eq!(refreshes(&stack), 2);
    let second = agent.get(&stack.app_url("/api-token.json")).await.json();
    assert_eq!(refreshes(&stack), 3);
    assert_ne!(second["access_token"], first["access_token"]);
    let issued = |token: &serde_json::Value| token["claims"]["iat"].as_i64().unwrap();
    assert!(issued(&second) >= issued(&first) + 3601);
    assert_eq!(second["claims"]["scope"], "read:messages");
}

#[tokio::test]
async fn once_the_refresh_token_expires_the_app_asks_to_sign_in_again() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    sign_in(&stack, &agent, "alice@example.com").await;
    stack.clock().advance(Duration::from_secs(15 * 24 * 3600));

    let page = agent.get(&stack.app_url("/profile")).await;
    assert_eq!(page.status, 401, "{page:?}");
    let alert = page.alert().unwrap();
    assert!(alert.starts_with("Your sign-in has ended"), "{alert}");
    assert!(alert.contains("invalid_grant"), "{alert}");
    assert!(page.has(r#"id="sign-in""#), "{page:?}");
    // The refused refresh dropped the tokens: the app shows the user signed out.
    assert_eq!(status(&stack, &agent).await, "Not authenticated");
    let json = agent.get(&stack.app_url("/profile.json")).await;
    assert_eq!(json.status, 401, "{json:?}");
    assert_eq!(json.json()["error"], "not_authenticated");
}

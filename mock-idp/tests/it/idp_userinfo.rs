//! `/oidc/me`.

use serde_json::json;

use crate::idp_support::{Idp, OidcAssert, answer, encode};

async fn access_token(idp: &Idp, scope: &str) -> String {
    let code = idp
        .code("bob@example.com", &[("scope", scope), ("nonce", "")])
        .await;
    idp.exchange(&code).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn userinfo_returns_the_claims_of_the_granted_scopes() {
    let idp = Idp::start().await;
    let token = access_token(&idp, "openid profile email custom_data").await;
    let response = idp.userinfo(&token).await;
    assert_eq!(response.status, 200);
    let bob = idp.idp.user("bob@example.com").unwrap();
    let body = response.json();
    assert_eq!(body["sub"], bob.id);
    assert_eq!(body["username"], "bob");
    assert_eq!(body["preferred_username"], "bob");
    assert_eq!(body["name"], serde_json::Value::Null);
    assert_eq!(body["email"], "bob@example.com");
    assert_eq!(body["custom_data"], json!({}));
    let post = idp
        .http
        .post(idp.idp.userinfo_endpoint())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(encode(&[("access_token", &token)]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer(post).await.json(),
        body,
        "POST with the token in the body"
    );
}

#[tokio::test]
async fn userinfo_errors() {
    let idp = Idp::start().await;
    let unknown = idp.userinfo("nope").await;
    unknown.assert_oidc_error(401, "invalid_token");
    assert!(
        unknown.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=")
    );
    let none = answer(
        idp.http
            .get(idp.idp.userinfo_endpoint())
            .send()
            .await
            .unwrap(),
    )
    .await;
    none.assert_oidc_error(401, "invalid_token");

    let token = access_token(&idp, "profile").await;
    let no_openid = idp.userinfo(&token).await;
    no_openid.assert_oidc_error(403, "insufficient_scope");
    // Logto interpolates only `{code}` into its phrases, so the placeholder stays; the
    // missing scope is in the body's `scope`.
    assert_eq!(
        no_openid.json()["message"],
        "Token missing scope `{{scope}}`."
    );
    assert_eq!(no_openid.json()["scope"], "openid");

    let token = access_token(&idp, "openid").await;
    let both = idp
        .http
        .post(idp.idp.userinfo_endpoint())
        .bearer_auth(&token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(encode(&[("access_token", &token)]))
        .send()
        .await
        .unwrap();
    answer(both).await.assert_oidc_error(400, "invalid_request");
}

#[tokio::test]
async fn access_tokens_expire_with_mock_time() {
    let idp = Idp::start().await;
    let token = access_token(&idp, "openid").await;
    assert_eq!(idp.userinfo(&token).await.status, 200);
    idp.idp
        .clock()
        .advance(std::time::Duration::from_secs(3601));
    idp.userinfo(&token)
        .await
        .assert_oidc_error(401, "invalid_token");
}

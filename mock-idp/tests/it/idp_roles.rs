//! Roles: the `roles` scope releases the names of the user's roles, in the ID token and at
//! userinfo, as Logto does.

use serde_json::json;

use crate::idp_support::{Idp, jwt_part};

/// Signs `email` in with `scope` and returns the token response's JSON.
async fn tokens(idp: &Idp, email: &str, scope: &str) -> serde_json::Value {
    let code = idp.code(email, &[("scope", scope)]).await;
    let answer = idp.exchange(&code).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json()
}

#[tokio::test]
async fn the_roles_scope_puts_role_names_in_the_id_token_and_userinfo() {
    let idp = Idp::start().await;
    let alice = tokens(&idp, "alice@example.com", "openid roles").await;
    assert_eq!(alice["scope"], "openid roles");
    let claims = jwt_part(alice["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["roles"], json!(["reader"]), "the fixture's role");
    let userinfo = idp.userinfo(alice["access_token"].as_str().unwrap()).await;
    assert_eq!(userinfo.json()["roles"], json!(["reader"]));

    let bob = tokens(&idp, "bob@example.com", "openid roles").await;
    let claims = jwt_part(bob["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["roles"], json!([]), "no roles: an empty list");
}

#[tokio::test]
async fn without_the_roles_scope_there_is_no_roles_claim() {
    let idp = Idp::start().await;
    let alice = tokens(&idp, "alice@example.com", "openid profile").await;
    let claims = jwt_part(alice["id_token"].as_str().unwrap(), 1);
    assert!(claims.get("roles").is_none(), "{claims}");
    let userinfo = idp.userinfo(alice["access_token"].as_str().unwrap()).await;
    assert!(userinfo.json().get("roles").is_none());
}

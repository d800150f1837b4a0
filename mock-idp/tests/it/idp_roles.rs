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

#[tokio::test]
async fn the_builder_gives_roles_by_email_and_their_scopes_reach_access_tokens() {
    use mock_idp::tenant::Role;
    let idp = Idp::start_with(
        mock_idp::MockIdp::builder().role(
            Role::user("writer")
                .member("bob@example.com")
                .scope("https://api.example.com", "write:messages"),
        ),
    )
    .await;
    let bob = tokens(&idp, "bob@example.com", "openid roles").await;
    let claims = jwt_part(bob["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["roles"], json!(["writer"]));
    let code = idp
        .code(
            "bob@example.com",
            &[
                ("scope", "openid write:messages read:messages"),
                ("resource", "https://api.example.com"),
            ],
        )
        .await;
    let answer = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", crate::idp_support::REDIRECT),
            ("code_verifier", crate::idp_support::VERIFIER),
            ("resource", "https://api.example.com"),
        ])
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let access = jwt_part(answer.json()["access_token"].as_str().unwrap(), 1);
    assert_eq!(
        access["scope"], "write:messages",
        "only what bob's role grants"
    );
}

#[tokio::test]
async fn a_role_for_an_unknown_user_or_scope_stops_the_start() {
    use mock_idp::tenant::Role;
    let unknown_user = mock_idp::MockIdp::builder()
        .role(Role::user("writer").member("nobody@example.com"))
        .start()
        .await
        .unwrap_err();
    assert!(
        unknown_user.to_string().contains("nobody@example.com"),
        "{unknown_user}"
    );
    let unknown_scope = mock_idp::MockIdp::builder()
        .role(Role::user("writer").scope("https://api.example.com", "delete:everything"))
        .start()
        .await
        .unwrap_err();
    assert!(
        unknown_scope.to_string().contains("delete:everything"),
        "{unknown_scope}"
    );
}

#[tokio::test]
async fn a_deleted_user_leaves_its_roles_as_logtos_cascade_does() {
    let idp = Idp::start().await;
    let alice = idp.idp.user("alice@example.com").unwrap();
    idp.idp.delete_user("alice@example.com").unwrap();
    let tenant = idp.idp.tenant();
    let reader = tenant.roles.iter().find(|r| r.name == "reader").unwrap();
    assert!(!reader.user_ids.contains(&alice.id), "{reader:?}");
    assert!(tenant.role_names(&alice.id).is_empty());
}

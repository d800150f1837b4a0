//! `grant_type=refresh_token`, API resources on refresh, revocation and introspection.

use std::time::Duration;

use mock_idp::MockIdp;
use serde_json::{Value, json};

use crate::idp_support::{Idp, OidcAssert, answer, encode, jwt_part};

/// Signs alice in (with offline_access and consent) and returns the token response.
async fn tokens(idp: &Idp, overrides: &[(&str, &str)]) -> Value {
    let code = idp.code("alice@example.com", overrides).await;
    let response = idp.exchange(&code).await;
    assert_eq!(response.status, 200, "{response:?}");
    response.json()
}

async fn refresh(idp: &Idp, token: &str, extra: &[(&str, &str)]) -> mock_idp::Page {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(extra);
    idp.token(&form).await
}

#[tokio::test]
async fn a_refresh_gives_a_new_access_token_and_a_fresh_id_token() {
    let idp = Idp::start().await;
    let first = tokens(&idp, &[]).await;
    let refresh_token = first["refresh_token"].as_str().unwrap();
    idp.idp.clock().advance(Duration::from_secs(10));
    let response = refresh(&idp, refresh_token, &[]).await;
    assert_eq!(response.status, 200, "{response:?}");
    let second = response.json();
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(second["scope"], "openid offline_access profile email");
    let claims = jwt_part(second["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], idp.idp.user("alice@example.com").unwrap().id);
    assert!(
        claims.get("nonce").is_none(),
        "a refreshed ID token carries no nonce"
    );
    assert_eq!(
        idp.userinfo(second["access_token"].as_str().unwrap())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_traditional_app_keeps_its_refresh_token_until_70_percent_of_its_life() {
    let idp = Idp::start().await;
    let first = tokens(&idp, &[]).await;
    let original = first["refresh_token"].as_str().unwrap().to_owned();
    let echoed = refresh(&idp, &original, &[]).await.json();
    assert_eq!(
        echoed["refresh_token"], original,
        "the same value is echoed back"
    );

    idp.idp.clock().advance(Duration::from_secs(10 * 24 * 3600)); // 10 of 14 days: 71 %
    let rotated = refresh(&idp, &original, &[]).await.json();
    let next = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, original, "rotated after 70 %");

    idp.idp.clock().advance(Duration::from_secs(2));
    let within_leeway = refresh(&idp, &original, &[]).await;
    assert_eq!(
        within_leeway.status, 200,
        "Logto allows 3 s: {within_leeway:?}"
    );
    assert_eq!(within_leeway.json()["refresh_token"], next.as_str());

    idp.idp.clock().advance(Duration::from_secs(5));
    let reused = refresh(&idp, &original, &[]).await;
    reused.assert_oidc_error(400, "invalid_grant");
    refresh(&idp, &next, &[])
        .await
        .assert_oidc_error(400, "invalid_grant");
    assert!(
        idp.idp.events().iter().any(|e| e.kind == "grant.revoked"),
        "reuse revoked the grant"
    );
}

#[tokio::test]
async fn refresh_errors() {
    let idp = Idp::start().await;
    let first = tokens(&idp, &[]).await;
    let token = first["refresh_token"].as_str().unwrap();
    refresh(&idp, "bogus", &[])
        .await
        .assert_oidc_error(400, "invalid_grant");
    let missing = idp.token(&[("grant_type", "refresh_token")]).await;
    assert_eq!(
        missing.assert_oidc_error(400, "invalid_request"),
        "missing required parameter 'refresh_token'"
    );
    let wider = refresh(&idp, token, &[("scope", "openid phone")]).await;
    wider.assert_oidc_error(400, "invalid_scope");
    let narrower = refresh(&idp, token, &[("scope", "openid")]).await.json();
    assert_eq!(narrower["scope"], "openid");
    refresh(&idp, token, &[("resource", "https://api.example.com")])
        .await
        .assert_oidc_error(400, "invalid_target");

    idp.idp
        .clock()
        .advance(Duration::from_secs(14 * 24 * 3600 + 1));
    let expired = refresh(&idp, token, &[]).await;
    expired.assert_oidc_error(400, "invalid_grant");
}

#[tokio::test]
async fn another_client_cannot_use_the_refresh_token() {
    let mut other = crate::idp_support::fixture_app();
    other.id = "other0000000000000000".into();
    other.secret = Some("other-secret".into());
    let idp = Idp::start_with(MockIdp::builder().application(other)).await;
    let first = tokens(&idp, &[]).await;
    let response = answer(
        idp.http
            .post(idp.idp.token_endpoint())
            .basic_auth("other0000000000000000", Some("other-secret"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", first["refresh_token"].as_str().unwrap()),
            ]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    response.assert_oidc_error(400, "invalid_grant");
    let detail = idp.last_event("grant.error").data["detail"].clone();
    assert_eq!(detail, "client mismatch");
}

#[tokio::test]
async fn a_resource_requested_at_sign_in_can_be_refreshed_into_a_jwt() {
    let idp = Idp::start().await;
    let first = tokens(
        &idp,
        &[
            ("resource", "https://api.example.com"),
            ("scope", "openid offline_access read:messages"),
        ],
    )
    .await;
    let response = refresh(
        &idp,
        first["refresh_token"].as_str().unwrap(),
        &[("resource", "https://api.example.com")],
    )
    .await;
    assert_eq!(response.status, 200, "{response:?}");
    let token = response.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(jwt_part(&token, 0)["typ"], "at+jwt");
    let claims = jwt_part(&token, 1);
    assert_eq!(claims["aud"], "https://api.example.com");
    assert_eq!(claims["scope"], "read:messages");
    refresh(
        &idp,
        first["refresh_token"].as_str().unwrap(),
        &[("resource", "https://other.example.com")],
    )
    .await
    .assert_oidc_error(400, "invalid_target");
}

async fn post_form(idp: &Idp, url: String, form: &[(&str, &str)]) -> mock_idp::Page {
    answer(
        idp.http
            .post(url)
            .basic_auth(&idp.client_id, Some(&idp.secret))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode(form))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_grant() {
    let idp = Idp::start().await;
    let first = tokens(&idp, &[]).await;
    let revocation = format!("{}/token/revocation", idp.idp.issuer());
    let revoked = post_form(
        &idp,
        revocation.clone(),
        &[
            ("token", first["refresh_token"].as_str().unwrap()),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!((revoked.status, revoked.body.as_str()), (200, ""));
    refresh(&idp, first["refresh_token"].as_str().unwrap(), &[])
        .await
        .assert_oidc_error(400, "invalid_grant");
    idp.userinfo(first["access_token"].as_str().unwrap())
        .await
        .assert_oidc_error(401, "invalid_token");

    let unknown = post_form(&idp, revocation.clone(), &[("token", "never-issued")]).await;
    assert_eq!(unknown.status, 200, "unknown tokens are fine (RFC 7009)");
    let missing = post_form(&idp, revocation, &[]).await;
    missing.assert_oidc_error(400, "invalid_request");
}

#[tokio::test]
async fn revoking_an_access_token_revokes_the_grant_but_jwts_cannot_be_revoked() {
    let idp = Idp::start().await;
    let first = tokens(
        &idp,
        &[
            ("resource", "https://api.example.com"),
            ("scope", "openid offline_access read:messages"),
        ],
    )
    .await;
    let revocation = format!("{}/token/revocation", idp.idp.issuer());
    let jwt = refresh(
        &idp,
        first["refresh_token"].as_str().unwrap(),
        &[("resource", "https://api.example.com")],
    )
    .await
    .json();
    let refused = post_form(
        &idp,
        revocation.clone(),
        &[("token", jwt["access_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(
        refused.assert_oidc_error(400, "unsupported_token_type"),
        "revocation of the presented token type is not supported"
    );

    let ok = post_form(
        &idp,
        revocation,
        &[("token", first["access_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(ok.status, 200);
    refresh(&idp, first["refresh_token"].as_str().unwrap(), &[])
        .await
        .assert_oidc_error(400, "invalid_grant");
}

#[tokio::test]
async fn revocation_and_introspection_need_client_authentication() {
    let idp = Idp::start().await;
    for path in ["revocation", "introspection"] {
        let response = answer(
            idp.http
                .post(format!("{}/token/{path}", idp.idp.issuer()))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(encode(&[("token", "x"), ("client_id", &idp.client_id)]))
                .send()
                .await
                .unwrap(),
        )
        .await;
        response.assert_oidc_error(401, "invalid_client");
    }
}

#[tokio::test]
async fn introspection_shows_active_and_inactive_tokens() {
    let idp = Idp::start().await;
    let first = tokens(&idp, &[]).await;
    let introspection = format!("{}/token/introspection", idp.idp.issuer());
    let active = post_form(
        &idp,
        introspection.clone(),
        &[("token", first["access_token"].as_str().unwrap())],
    )
    .await
    .json();
    let alice = idp.idp.user("alice@example.com").unwrap();
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], idp.client_id);
    assert_eq!(active["sub"], alice.id);
    assert_eq!(active["scope"], "openid offline_access profile email");
    assert_eq!(active["token_type"], "Bearer");
    assert_eq!(active["iss"], idp.idp.issuer());
    assert_eq!(
        active["exp"].as_i64().unwrap() - active["iat"].as_i64().unwrap(),
        3600
    );
    let refresh_info = post_form(
        &idp,
        introspection.clone(),
        &[("token", first["refresh_token"].as_str().unwrap())],
    )
    .await
    .json();
    assert_eq!(refresh_info["active"], true);
    assert_eq!(refresh_info["token_type"], "refresh_token");

    assert_eq!(
        post_form(&idp, introspection.clone(), &[("token", "nope")])
            .await
            .json(),
        json!({"active": false})
    );
    idp.idp.clock().advance(Duration::from_secs(3601));
    let expired = post_form(
        &idp,
        introspection,
        &[("token", first["access_token"].as_str().unwrap())],
    )
    .await
    .json();
    assert_eq!(expired, json!({"active": false}));
}

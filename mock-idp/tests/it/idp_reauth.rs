//! `max_age` and `prompt=login`: when a session is too old to sign in silently, and when ID
//! tokens carry `auth_time` (node-oidc-provider marks it essential for `max_age` and
//! `prompt=login`, and leaves it out otherwise).

use std::time::Duration;

use serde_json::Value;

use crate::idp_support::{Idp, OidcAssert, jwt_part};

/// The claims of the ID token a code exchange answers.
async fn id_token_claims(idp: &Idp, code: &str) -> (Value, Value) {
    let tokens = idp.exchange(code).await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    let body = tokens.json();
    let claims = jwt_part(body["id_token"].as_str().unwrap(), 1);
    (body, claims)
}

fn now_secs(idp: &Idp) -> i64 {
    idp.idp.clock().now().unix_timestamp()
}

#[tokio::test]
async fn an_id_token_carries_no_auth_time_unless_the_request_asks() {
    let idp = Idp::start().await;
    let code = idp.code("alice@example.com", &[]).await;
    let (_, claims) = id_token_claims(&idp, &code).await;
    assert!(claims.get("auth_time").is_none(), "{claims}");
}

#[tokio::test]
async fn a_session_younger_than_max_age_signs_in_silently_and_says_when_the_user_signed_in() {
    let idp = Idp::start().await;
    let signed_in_at = now_secs(&idp);
    let (_, session) = idp.sign_in("alice@example.com", &[]).await;
    idp.idp.advance_clock(Duration::from_secs(120));
    let silent = idp
        .get(
            &idp.auth_url(&[("max_age", "300")]),
            &[("_session", &session)],
        )
        .await;
    let code = silent
        .location_param("code")
        .unwrap_or_else(|| panic!("a 2-minute-old session is within 300 s: {silent:?}"));
    let (_, claims) = id_token_claims(&idp, &code).await;
    assert_eq!(claims["auth_time"], signed_in_at, "the sign-in, not now");
    assert_eq!(claims["iat"], signed_in_at + 120);
}

#[tokio::test]
async fn a_session_older_than_max_age_signs_in_again() {
    let idp = Idp::start().await;
    let (_, session) = idp.sign_in("alice@example.com", &[]).await;
    idp.idp.advance_clock(Duration::from_secs(120));
    let again = idp
        .get(
            &idp.auth_url(&[("max_age", "60")]),
            &[("_session", &session)],
        )
        .await;
    assert_eq!(again.status, 303, "{again:?}");
    assert!(
        again.raw_location().unwrap().starts_with("/sign-in"),
        "too old for max_age=60: {again:?}"
    );
    // With prompt=none it cannot ask: login_required, sent back to the client.
    let none = idp
        .get(
            &idp.auth_url(&[("max_age", "60"), ("prompt", "none")]),
            &[("_session", &session)],
        )
        .await;
    none.assert_redirected_error("login_required", Some("state-123"), &idp.idp.issuer());
    // Signing in again restarts the count: auth_time is the new sign-in.
    let resigned_at = now_secs(&idp);
    let (done, session) = idp.sign_in("alice@example.com", &[("max_age", "60")]).await;
    let (_, claims) = id_token_claims(&idp, &done.location_param("code").unwrap()).await;
    assert_eq!(claims["auth_time"], resigned_at);
    let silent = idp
        .get(
            &idp.auth_url(&[("max_age", "60")]),
            &[("_session", &session)],
        )
        .await;
    assert!(silent.location_param("code").is_some(), "{silent:?}");
}

#[tokio::test]
async fn max_age_zero_is_prompt_login() {
    let idp = Idp::start().await;
    let (_, session) = idp.sign_in("alice@example.com", &[]).await;
    let again = idp
        .get(
            &idp.auth_url(&[("max_age", "0")]),
            &[("_session", &session)],
        )
        .await;
    assert!(
        again.raw_location().unwrap().starts_with("/sign-in"),
        "max_age=0 never signs in silently: {again:?}"
    );
    // It is `prompt=login` before the prompt is checked: with `none`, not `none` alone.
    let none = idp
        .get(
            &idp.auth_url(&[("max_age", "0"), ("prompt", "none")]),
            &[("_session", &session)],
        )
        .await;
    assert_eq!(
        none.assert_redirected_error("invalid_request", Some("state-123"), &idp.idp.issuer()),
        "prompt none must only be used alone"
    );
    let (done, _) = idp.sign_in("alice@example.com", &[("max_age", "0")]).await;
    let (_, claims) = id_token_claims(&idp, &done.location_param("code").unwrap()).await;
    assert!(claims["auth_time"].is_i64(), "{claims}");
}

#[tokio::test]
async fn prompt_login_puts_auth_time_in_the_id_token_and_in_refreshed_ones() {
    let idp = Idp::start().await;
    let signed_in_at = now_secs(&idp);
    let (done, _) = idp
        .sign_in("alice@example.com", &[("prompt", "login consent")])
        .await;
    let (tokens, claims) = id_token_claims(&idp, &done.location_param("code").unwrap()).await;
    assert_eq!(claims["auth_time"], signed_in_at);
    idp.idp.advance_clock(Duration::from_secs(600));
    let refreshed = idp
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let claims = jwt_part(refreshed.json()["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["auth_time"], signed_in_at, "still the sign-in");
    assert_eq!(claims["iat"], signed_in_at + 600);
}

#[tokio::test]
async fn max_age_must_be_a_non_negative_integer_and_needs_openid() {
    let idp = Idp::start().await;
    for bad in ["-1", "1.5", "soon", "9007199254740992"] {
        let answer = idp.get(&idp.auth_url(&[("max_age", bad)]), &[]).await;
        let description =
            answer.assert_redirected_error("invalid_request", Some("state-123"), &idp.idp.issuer());
        assert_eq!(description, "invalid max_age parameter value", "{bad}");
    }
    let answer = idp
        .get(
            &idp.auth_url(&[("max_age", "60"), ("scope", "profile"), ("nonce", "")]),
            &[],
        )
        .await;
    let description =
        answer.assert_redirected_error("invalid_request", Some("state-123"), &idp.idp.issuer());
    assert_eq!(
        description,
        "openid scope must be requested when using the max_age parameter"
    );
}

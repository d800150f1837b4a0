//! `/oidc/token` with `grant_type=authorization_code`: every error in Logto's shape, and the
//! tokens as Logto issues them.

use std::time::Duration;

use serde_json::json;

use mock_idp::MockIdp;

use crate::idp_support::{
    Idp, OidcAssert, REDIRECT, VERIFIER, answer, encode, fixture_app, jwt_part,
};

#[tokio::test]
async fn a_code_exchange_returns_logtos_token_response() {
    let idp = Idp::start().await;
    let code = idp.code("alice@example.com", &[]).await;
    let response = idp.exchange(&code).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.headers["cache-control"], "no-store");
    assert_eq!(response.headers["pragma"], "no-cache");
    let body = response.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_in",
            "id_token",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "openid offline_access profile email");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(access.len(), 43);
    assert!(!access.contains('.'), "opaque");

    let id_token = body["id_token"].as_str().unwrap();
    let header = jwt_part(id_token, 0);
    assert_eq!(
        header.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["alg", "kid"]
    );
    assert_eq!(header["alg"], "ES384");
    let claims = jwt_part(id_token, 1);
    let alice = idp.idp.user("alice@example.com").unwrap();
    assert_eq!(claims["sub"], alice.id);
    assert_eq!(claims["aud"], idp.client_id, "aud is a string");
    assert_eq!(claims["iss"], idp.idp.issuer());
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["name"], "Alice Example");
    assert_eq!(claims["picture"], serde_json::Value::Null);
    assert_eq!(claims["username"], serde_json::Value::Null);
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["created_at"], 1_767_225_600_000_i64, "milliseconds");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(
        claims.get("at_hash").is_none(),
        "Logto (v9) sets no at_hash"
    );
}

#[tokio::test]
async fn no_refresh_token_without_offline_access_and_consent() {
    let idp = Idp::start().await;
    for overrides in [
        &[("prompt", "login")][..],
        &[("scope", "openid profile")][..],
    ] {
        let code = idp.code("alice@example.com", overrides).await;
        let body = idp.exchange(&code).await.json();
        assert!(body.get("refresh_token").is_none(), "{overrides:?}: {body}");
        assert!(!body["scope"].as_str().unwrap().contains("offline_access"));
    }
}

#[tokio::test]
async fn no_id_token_without_openid() {
    let idp = Idp::start().await;
    let code = idp
        .code("alice@example.com", &[("scope", "profile"), ("nonce", "")])
        .await;
    let exchanged = idp.exchange(&code).await;
    assert_eq!(exchanged.status, 200, "{exchanged:?}");
    let body = exchanged.json();
    assert!(body.get("id_token").is_none(), "{body}");
    assert_eq!(body["scope"], "profile", "{body}");
    assert!(body["access_token"].is_string(), "{body}");
}

#[tokio::test]
async fn client_secret_post_and_json_bodies_work_too() {
    let idp = Idp::start().await;
    let code = idp.code("alice@example.com", &[]).await;
    let form = encode(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", &idp.client_id),
        ("client_secret", &idp.secret),
    ]);
    let response = idp
        .http
        .post(idp.idp.token_endpoint())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let code = idp.code("alice@example.com", &[]).await;
    let body = json!({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                      "code_verifier": VERIFIER, "client_id": idp.client_id, "client_secret": idp.secret});
    let response = idp
        .http
        .post(idp.idp.token_endpoint())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn client_authentication_errors() {
    let idp = Idp::start().await;
    let endpoint = idp.idp.token_endpoint();
    let form = |extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", REDIRECT),
        ];
        pairs.extend_from_slice(extra);
        encode(&pairs)
    };
    let post = |body: String, basic: Option<(&str, &str)>| {
        let mut request = idp
            .http
            .post(&endpoint)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some((user, password)) = basic {
            request = request.basic_auth(user, Some(password));
        }
        async move { answer(request.send().await.unwrap()).await }
    };
    let both = post(
        form(&[("client_secret", &idp.secret)]),
        Some((&idp.client_id, &idp.secret)),
    )
    .await;
    assert_eq!(
        both.assert_oidc_error(400, "invalid_request"),
        "client authentication must only be provided using one mechanism"
    );
    let none = post(form(&[]), None).await;
    assert_eq!(
        none.assert_oidc_error(400, "invalid_request"),
        "no client authentication mechanism provided"
    );
    let no_secret = post(form(&[("client_id", &idp.client_id)]), None).await;
    assert_eq!(
        no_secret.assert_oidc_error(401, "invalid_client"),
        "client authentication failed"
    );
    let wrong = post(form(&[]), Some((&idp.client_id, "wrong"))).await;
    assert_eq!(
        wrong.assert_oidc_error(401, "invalid_client"),
        "client authentication failed"
    );
    // Logto's adapter refuses an unknown client itself: 400, naming it.
    let unknown = post(form(&[]), Some(("unknown", &idp.secret))).await;
    assert_eq!(
        unknown.assert_oidc_error(400, "invalid_client"),
        "invalid client unknown"
    );
    let mismatch = post(
        form(&[("client_id", "other")]),
        Some((&idp.client_id, &idp.secret)),
    )
    .await;
    assert_eq!(
        mismatch.assert_oidc_error(400, "invalid_request"),
        "mismatch in body and authorization client ids"
    );
    let garbage = idp
        .http
        .post(&endpoint)
        .header("Authorization", "Basic %%%")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[]))
        .send()
        .await
        .unwrap();
    answer(garbage)
        .await
        .assert_oidc_error(400, "invalid_request");

    // RFC 6749 §2.3.1: id and secret are form-urlencoded inside the Basic header. Encoded in
    // full they still authenticate (the made-up code is what fails); a stray `%` does not.
    let escape = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let escaped = post(
        form(&[]),
        Some((&escape(&idp.client_id), &escape(&idp.secret))),
    )
    .await;
    escaped.assert_oidc_error(400, "invalid_grant");
    for (id, secret) in [("%zz", idp.secret.as_str()), (&idp.client_id, "50%")] {
        let stray = post(form(&[]), Some((id, secret))).await;
        assert_eq!(
            stray.assert_oidc_error(400, "invalid_request"),
            "client_id and client_secret in the authorization header are not properly encoded",
            "{id}:{secret}"
        );
    }
}

#[tokio::test]
async fn request_errors() {
    let idp = Idp::start().await;
    let missing = idp.token(&[("code", "x")]).await;
    assert_eq!(
        missing.assert_oidc_error(400, "invalid_request"),
        "missing required parameter 'grant_type'"
    );
    let unsupported = idp.token(&[("grant_type", "password")]).await;
    assert_eq!(
        unsupported.assert_oidc_error(400, "unsupported_grant_type"),
        "unsupported grant_type requested"
    );
    let no_code = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(
        no_code.assert_oidc_error(400, "invalid_request"),
        "missing required parameter 'code'"
    );
    let dupes = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "a"),
            ("code", "b"),
        ])
        .await;
    assert_eq!(
        dupes.assert_oidc_error(400, "invalid_request"),
        "'code' parameter must not be provided twice"
    );
    let nul = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "a\0b"),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    nul.assert_oidc_error(400, "invalid_request");
    let text = idp
        .http
        .post(idp.idp.token_endpoint())
        .basic_auth(&idp.client_id, Some(&idp.secret))
        .header("Content-Type", "text/plain")
        .body("grant_type=authorization_code")
        .send()
        .await
        .unwrap();
    answer(text).await.assert_oidc_error(400, "invalid_request");
    let short = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "a"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", "short"),
        ])
        .await;
    assert_eq!(
        short.assert_oidc_error(400, "invalid_request"),
        "code_verifier must be a string with a minimum length of 43 characters"
    );
}

#[tokio::test]
async fn invalid_grants_say_only_grant_request_is_invalid() {
    let idp = Idp::start().await;
    let unknown = idp.exchange("no-such-code").await;
    assert_eq!(
        unknown.assert_oidc_error(400, "invalid_grant"),
        "grant request is invalid"
    );
    assert_eq!(
        unknown.json()["error_uri"],
        "https://openid.sh/debug/invalid_grant"
    );
    assert_eq!(unknown.json()["message"], "Grant request is invalid.");
    let last = idp.last_event("grant.error");
    assert_eq!(
        last.data["detail"], "authorization code not found",
        "the reason is in the event log"
    );
}

#[tokio::test]
async fn a_wrong_or_missing_pkce_verifier_is_invalid_grant() {
    let idp = Idp::start().await;
    for verifier in [Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX"), None] {
        let code = idp.code("alice@example.com", &[]).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        idp.token(&form)
            .await
            .assert_oidc_error(400, "invalid_grant");
        let detail = idp.last_event("grant.error").data["detail"].clone();
        assert_eq!(detail, "PKCE verification failed");
    }
    // A verifier for a code issued without a challenge fails too.
    let code = idp
        .code(
            "alice@example.com",
            &[("code_challenge", ""), ("code_challenge_method", "")],
        )
        .await;
    idp.exchange(&code)
        .await
        .assert_oidc_error(400, "invalid_grant");
    assert_eq!(
        idp.last_event("grant.error").data["detail"],
        "PKCE verification failed"
    );
}

#[tokio::test]
async fn a_code_expires_after_60_seconds_of_mock_time() {
    let idp = Idp::start().await;
    let code = idp.code("alice@example.com", &[]).await;
    idp.idp.clock().advance(Duration::from_secs(61));
    idp.exchange(&code)
        .await
        .assert_oidc_error(400, "invalid_grant");
    let detail = idp.last_event("grant.error").data["detail"].clone();
    assert_eq!(detail, "authorization code is expired");
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let idp = Idp::start().await;
    let code = idp.code("alice@example.com", &[]).await;
    let first = idp.exchange(&code).await.json();
    let access = first["access_token"].as_str().unwrap().to_owned();
    assert_eq!(idp.userinfo(&access).await.status, 200);

    idp.exchange(&code)
        .await
        .assert_oidc_error(400, "invalid_grant");
    assert!(idp.idp.events().iter().any(|e| e.kind == "grant.revoked"));
    idp.userinfo(&access)
        .await
        .assert_oidc_error(401, "invalid_token");
}

#[tokio::test]
async fn the_redirect_uri_must_equal_the_one_of_the_authorization_request_and_a_wrong_one_keeps_the_code()
 {
    let idp =
        Idp::start_with(mock_idp::MockIdp::builder().redirect_uri("http://localhost:3000/other"))
            .await;
    let code = idp.code("alice@example.com", &[]).await;
    let response = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:3000/other"),
            ("code_verifier", VERIFIER),
        ])
        .await;
    response.assert_oidc_error(400, "invalid_grant");
    assert_eq!(
        idp.last_event("grant.error").data["detail"],
        "authorization code redirect_uri mismatch"
    );
    // As node-oidc-provider, a wrong redirect_uri does not use the code up: the right one
    // still exchanges it.
    assert_eq!(idp.exchange(&code).await.status, 200);
    let code = idp.code("alice@example.com", &[]).await;
    let missing = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(
        missing.assert_oidc_error(400, "invalid_request"),
        "missing required parameter 'redirect_uri'"
    );
}

#[tokio::test]
async fn a_code_belongs_to_its_client() {
    let mut other = fixture_app();
    other.id = "other0000000000000000".into();
    other.secret = Some("other-secret".into());
    let idp2 = Idp::start_with(mock_idp::MockIdp::builder().application(other)).await;
    let code = idp2.code("alice@example.com", &[]).await;
    let response = answer(
        idp2.http
            .post(idp2.idp.token_endpoint())
            .basic_auth("other0000000000000000", Some("other-secret"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    response.assert_oidc_error(400, "invalid_grant");
    assert_eq!(
        idp2.last_event("grant.error").data["detail"],
        "client mismatch"
    );
}

#[tokio::test]
async fn a_resource_gets_a_jwt_access_token_with_the_users_role_scopes() {
    let idp = Idp::start().await;
    let overrides = [
        ("resource", "https://api.example.com"),
        (
            "scope",
            "openid offline_access read:messages write:messages",
        ),
    ];
    let code = idp.code("alice@example.com", &overrides).await;
    let response = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("resource", "https://api.example.com"),
        ])
        .await;
    assert_eq!(response.status, 200, "{response:?}");
    let body = response.json();
    let token = body["access_token"].as_str().unwrap();
    let header = jwt_part(token, 0);
    assert_eq!(header["typ"], "at+jwt");
    let claims = jwt_part(token, 1);
    assert_eq!(claims["aud"], "https://api.example.com");
    assert_eq!(
        claims["scope"], "read:messages",
        "alice's role grants read only"
    );
    assert_eq!(claims["client_id"], idp.client_id);
    assert_eq!(claims["iss"], idp.idp.issuer());
    assert!(claims["jti"].is_string());
    // Resource tokens are not for /oidc/me.
    idp.userinfo(token)
        .await
        .assert_oidc_error(401, "invalid_token");

    let code = idp.code("alice@example.com", &[]).await;
    let not_requested = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("resource", "https://api.example.com"),
        ])
        .await;
    not_requested.assert_oidc_error(400, "invalid_target");
}

#[tokio::test]
async fn a_tenant_with_an_absurd_token_lifetime_is_refused_at_start_not_at_the_first_token() {
    let mut app = fixture_app();
    app.custom_client_metadata.refresh_token_ttl_in_days = Some(u64::MAX);
    let error = MockIdp::builder()
        .application(app)
        .start()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("refreshTokenTtlInDays"),
        "{error}"
    );

    // At the bounds, tokens are issued and their expiries are dates.
    let mut app = fixture_app();
    app.custom_client_metadata.refresh_token_ttl_in_days = Some(730);
    app.custom_client_metadata.id_token_ttl = Some(10 * 365 * 24 * 3600);
    let idp = Idp::start_with(MockIdp::builder().application(app)).await;
    let code = idp.code("alice@example.com", &[]).await;
    let response = idp.exchange(&code).await;
    assert_eq!(response.status, 200, "{response:?}");
    let claims = jwt_part(response.json()["id_token"].as_str().unwrap(), 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        10 * 365 * 24 * 3600
    );
}

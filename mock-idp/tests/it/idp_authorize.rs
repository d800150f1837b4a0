//! `/oidc/auth`: one test per check, the interaction, its resume, and SSO.

use mock_idp::MockIdp;

use crate::idp_support::{Idp, OidcAssert, REDIRECT, answer};

/// Parameter overrides, the expected `error` and `error_description`.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

#[tokio::test]
async fn a_valid_request_starts_an_interaction_at_the_sign_in_page() {
    let idp = Idp::start().await;
    let started = idp.get(&idp.auth_url(&[]), &[]).await;
    assert_eq!(started.status, 303, "{started:?}");
    assert_eq!(
        started.raw_location(),
        Some(format!("/sign-in?app_id={}", idp.client_id).as_str())
    );
    let cookie = started
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("_interaction="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        idp.idp
            .events()
            .iter()
            .any(|e| e.kind == "interaction.started")
    );
}

#[tokio::test]
async fn interaction_mode_and_first_screen_pick_the_first_screen() {
    let idp = Idp::start().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("interaction_mode", "signUp")], "/register"),
        (&[("interaction_mode", "signIn")], "/sign-in"),
        (&[("first_screen", "register")], "/register"),
        (
            &[("first_screen", "identifier:sign_in")],
            "/identifier-sign-in",
        ),
        (
            &[("first_screen", "identifier:register")],
            "/identifier-register",
        ),
        (&[("first_screen", "reset_password")], "/reset-password"),
        (&[("first_screen", "single_sign_on")], "/single-sign-on"),
        (
            &[("interaction_mode", "signIn"), ("first_screen", "register")],
            "/register",
        ),
        // One invalid Logto parameter voids them all, as in Logto.
        (
            &[("first_screen", "register"), ("identifier", "fax")],
            "/sign-in",
        ),
        (
            &[
                ("interaction_mode", "signUp"),
                ("first_screen", "identifier:sign-in"),
            ],
            "/sign-in",
        ),
    ];
    for (params, path) in cases {
        let started = idp.get(&idp.auth_url(params), &[]).await;
        let location = started.raw_location().unwrap();
        assert!(
            location.starts_with(&format!("{path}?app_id=")),
            "{params:?} → {location}"
        );
    }
    let hinted = idp
        .get(&idp.auth_url(&[("login_hint", "alice@example.com")]), &[])
        .await;
    assert!(
        hinted
            .location
            .unwrap()
            .ends_with("&login_hint=alice%40example.com")
    );
}

#[tokio::test]
async fn errors_before_the_redirect_uri_is_validated_are_400_and_never_redirected() {
    let idp = Idp::start().await;
    let cases: &[Case<'_>] = &[
        (
            &[("client_id", "")],
            "invalid_request",
            "missing required parameter 'client_id'",
        ),
        (
            &[("client_id", "unknown")],
            "invalid_client",
            "client is invalid",
        ),
        (
            &[("redirect_uri", "http://localhost:3000/callback/")],
            "invalid_redirect_uri",
            "redirect_uri did not match any of the client's registered redirect_uris",
        ),
        (
            &[("redirect_uri", "https://evil.example/callback")],
            "invalid_redirect_uri",
            "redirect_uri did not match any of the client's registered redirect_uris",
        ),
    ];
    for (params, error, description) in cases {
        let answer = idp.get(&idp.auth_url(params), &[]).await;
        assert!(
            answer.raw_location().is_none(),
            "{params:?} must not redirect: {answer:?}"
        );
        assert_eq!(
            &answer.assert_oidc_error(400, error),
            description,
            "{params:?}"
        );
    }
    // Even a later error is not redirected while the redirect_uri is not the client's.
    let both = idp
        .get(
            &idp.auth_url(&[
                ("redirect_uri", "https://evil.example/cb"),
                ("response_type", "token"),
            ]),
            &[],
        )
        .await;
    assert!(both.raw_location().is_none());
    both.assert_oidc_error(400, "unsupported_response_type");
}

#[tokio::test]
async fn duplicate_parameters_are_rejected_except_resource() {
    let idp = Idp::start().await;
    let url = format!("{}&scope=openid", idp.auth_url(&[]));
    let answer = idp.get(&url, &[]).await;
    let description =
        answer.assert_redirected_error("invalid_request", Some("state-123"), &idp.idp.issuer());
    assert_eq!(description, "'scope' parameter must not be provided twice");
    let url = format!(
        "{}&resource=https://api.example.com&resource=https://api.example.com",
        idp.auth_url(&[])
    );
    assert_eq!(idp.get(&url, &[]).await.status, 303);
    assert!(
        idp.get(&url, &[])
            .await
            .raw_location()
            .unwrap()
            .starts_with("/sign-in")
    );
}

#[tokio::test]
async fn errors_after_the_redirect_uri_is_validated_are_redirected_with_state_and_iss() {
    let idp = Idp::start().await;
    let issuer = idp.idp.issuer();
    let long = "x".repeat(129);
    let cases: &[Case<'_>] = &[
        (
            &[("response_type", "")],
            "invalid_request",
            "missing required parameter 'response_type'",
        ),
        (
            &[("response_type", "token")],
            "unsupported_response_type",
            "unsupported response_type requested",
        ),
        (
            &[("response_type", "code id_token")],
            "unsupported_response_type",
            "unsupported response_type requested",
        ),
        (
            &[("response_mode", "form_post")],
            "unsupported_response_mode",
            "unsupported response_mode requested",
        ),
        (
            &[("prompt", "sometimes")],
            "invalid_request",
            "unsupported prompt value requested",
        ),
        (
            &[("prompt", "none login")],
            "invalid_request",
            "prompt none must only be used alone",
        ),
        (
            &[("scope", "profile")],
            "invalid_request",
            "openid scope must be requested when using the nonce parameter",
        ),
        (
            &[("resource", "https://unknown.example.com")],
            "invalid_target",
            "resource indicator is missing, or unknown",
        ),
        (
            &[("resource", "not-a-uri")],
            "invalid_target",
            "resource indicator must be an absolute URI",
        ),
        (
            &[("code_challenge_method", "plain")],
            "invalid_request",
            "not supported value of code_challenge_method",
        ),
        (
            &[("code_challenge_method", "")],
            "invalid_request",
            "plain code_challenge_method fallback disabled, code_challenge_method must be provided",
        ),
        (
            &[("code_challenge", "")],
            "invalid_request",
            "code_challenge must be provided with code_challenge_method",
        ),
        (
            &[("code_challenge", "too-short")],
            "invalid_request",
            "code_challenge must be a string with a minimum length of 43 characters",
        ),
        (
            &[("code_challenge", long.as_str())],
            "invalid_request",
            "code_challenge must be a string with a maximum length of 128 characters",
        ),
        (
            &[(
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            )],
            "invalid_request",
            "code_challenge contains invalid characters",
        ),
    ];
    for (params, error, description) in cases {
        let answer = idp.get(&idp.auth_url(params), &[]).await;
        assert_eq!(
            &answer.assert_redirected_error(error, Some("state-123"), &issuer),
            description,
            "{params:?}"
        );
    }
}

#[tokio::test]
async fn pkce_is_optional_for_a_traditional_app_but_required_for_a_public_one() {
    let idp = Idp::start().await;
    let without = idp
        .get(
            &idp.auth_url(&[("code_challenge", ""), ("code_challenge_method", "")]),
            &[],
        )
        .await;
    assert!(
        without.raw_location().unwrap().starts_with("/sign-in"),
        "a traditional app may skip PKCE"
    );

    let mut spa = crate::idp_support::fixture_app();
    spa.id = "spa00000000000000000a".into();
    spa.app_type = mock_idp::tenant::ApplicationType::Spa;
    spa.secret = None;
    let idp = Idp::start_with(MockIdp::builder().application(spa)).await;
    let url = idp.auth_url(&[
        ("client_id", "spa00000000000000000a"),
        ("code_challenge", ""),
        ("code_challenge_method", ""),
    ]);
    let answer = idp.get(&url, &[]).await;
    assert_eq!(
        answer.assert_redirected_error("invalid_request", Some("state-123"), &idp.idp.issuer()),
        "PKCE must be used for this request"
    );
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let idp = Idp::start().await;
    let answer = idp.get(&idp.auth_url(&[("prompt", "none")]), &[]).await;
    answer.assert_redirected_error("login_required", Some("state-123"), &idp.idp.issuer());
}

#[tokio::test]
async fn the_resume_returns_a_code_state_and_iss_with_303() {
    let idp = Idp::start().await;
    let (done, session) = idp.sign_in("alice@example.com", &[]).await;
    let location = done.raw_location().unwrap();
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "{location}"
    );
    assert_eq!(done.location_param("code").unwrap().len(), 43);
    assert_eq!(done.location_param("state").as_deref(), Some("state-123"));
    assert_eq!(done.location_param("iss"), Some(idp.idp.issuer()));
    assert!(!session.is_empty());
    assert!(
        done.set_cookies()
            .iter()
            .any(|c| c.starts_with("_interaction=;") && c.contains("Max-Age=0")),
        "the interaction cookie is cleared: {:?}",
        done.set_cookies()
    );
}

#[tokio::test]
async fn a_second_sign_in_is_silent_until_prompt_login() {
    let idp = Idp::start().await;
    let (_, session) = idp.sign_in("alice@example.com", &[]).await;
    let again = idp
        .get(
            &idp.auth_url(&[("state", "again")]),
            &[("_session", &session)],
        )
        .await;
    assert_eq!(again.status, 303);
    assert!(
        again.raw_location().unwrap().starts_with(REDIRECT),
        "SSO: straight back with a code: {again:?}"
    );
    assert_eq!(again.location_param("state").as_deref(), Some("again"));
    let none = idp
        .get(
            &idp.auth_url(&[("prompt", "none")]),
            &[("_session", &session)],
        )
        .await;
    assert!(
        none.location_param("code").is_some(),
        "prompt=none with a session: {none:?}"
    );
    let login = idp
        .get(
            &idp.auth_url(&[("prompt", "login")]),
            &[("_session", &session)],
        )
        .await;
    assert!(
        login.raw_location().unwrap().starts_with("/sign-in"),
        "prompt=login asks again"
    );
}

#[tokio::test]
async fn a_resume_needs_its_interaction_cookie() {
    let idp = Idp::start().await;
    let started = idp.get(&idp.auth_url(&[]), &[]).await;
    let uid = started.cookie("_interaction").unwrap();
    let before_login = idp
        .get(
            &format!("{}/auth/{uid}", idp.idp.issuer()),
            &[("_interaction", &uid)],
        )
        .await;
    assert_eq!(before_login.status, 303);
    assert!(
        before_login.raw_location().unwrap().starts_with("/sign-in"),
        "not signed in yet: back to the sign-in page"
    );

    let resume = idp.idp.test_only_login("alice@example.com").unwrap();
    for cookies in [&[][..], &[("_interaction", "someone-elses")][..]] {
        let answer = idp.get(&resume, cookies).await;
        assert_eq!(answer.status, 400, "{answer:?}");
        assert_eq!(
            answer.json(),
            serde_json::json!({"code": "session.not_found", "message": "Session not found. Please go back and sign in again.",
                               "error": "invalid_request", "error_description": "authorization request has expired"})
        );
    }
    let unknown = idp
        .get(
            &format!("{}/auth/nope", idp.idp.issuer()),
            &[("_interaction", "nope")],
        )
        .await;
    assert_eq!(unknown.status, 400, "{unknown:?}");
    assert_eq!(unknown.json()["code"], "session.not_found");
    assert_eq!(
        idp.last_event("authorization.error").data["detail"],
        "interaction not found or expired"
    );
}

#[tokio::test]
async fn an_interaction_expires_after_an_hour_of_mock_time() {
    let idp = Idp::start().await;
    let started = idp.get(&idp.auth_url(&[]), &[]).await;
    let uid = started.cookie("_interaction").unwrap();
    idp.idp
        .clock()
        .advance(std::time::Duration::from_secs(3601));
    assert!(idp.idp.test_only_login("alice@example.com").is_err());
    let answer = idp
        .get(
            &format!("{}/auth/{uid}", idp.idp.issuer()),
            &[("_interaction", &uid)],
        )
        .await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(answer.json()["code"], "session.not_found");
    assert_eq!(
        idp.last_event("authorization.error").data["detail"],
        "interaction not found or expired"
    );
}

#[tokio::test]
async fn the_test_only_login_picks_the_last_started_interaction_under_a_fixed_clock() {
    // A fixed clock gives every interaction the same expiry: the order they were started in
    // must decide, not a HashMap's.
    let clock = mock_idp::Clock::fixed(time::macros::datetime!(2026-01-01 00:00 UTC));
    let idp = Idp::start_with(MockIdp::builder().clock(clock)).await;
    let first = idp.get(&idp.auth_url(&[("state", "first")]), &[]).await;
    let second = idp.get(&idp.auth_url(&[("state", "second")]), &[]).await;
    let (first, second) = (
        first.cookie("_interaction").unwrap(),
        second.cookie("_interaction").unwrap(),
    );
    assert_ne!(first, second);
    let resume = idp.idp.test_only_login("alice@example.com").unwrap();
    assert_eq!(resume, format!("{}/auth/{second}", idp.idp.issuer()));
    let done = idp.get(&resume, &[("_interaction", &second)]).await;
    assert_eq!(done.location_param("state").as_deref(), Some("second"));
    // The first one is still waiting, and is now the newest pending one.
    let resume = idp.idp.test_only_login("alice@example.com").unwrap();
    assert_eq!(resume, format!("{}/auth/{first}", idp.idp.issuer()));
}

#[tokio::test]
async fn the_test_only_login_explains_what_is_missing() {
    let idp = Idp::start().await;
    assert!(
        idp.idp
            .test_only_login("alice@example.com")
            .unwrap_err()
            .0
            .contains("no sign-in is waiting")
    );
    idp.get(&idp.auth_url(&[]), &[]).await;
    assert!(
        idp.idp
            .test_only_login("nobody@example.com")
            .unwrap_err()
            .0
            .contains("no user")
    );
}

#[tokio::test]
async fn post_requests_are_accepted_too() {
    let idp = Idp::start().await;
    let url = idp.auth_url(&[]);
    let (endpoint, query) = url.split_once('?').unwrap();
    let response = idp
        .http
        .post(endpoint)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(query.to_owned())
        .send()
        .await
        .unwrap();
    let started = answer(response).await;
    assert_eq!(started.status, 303, "{started:?}");
    assert_eq!(
        started.raw_location(),
        Some(format!("/sign-in?app_id={}", idp.client_id).as_str())
    );
    assert!(started.cookie("_interaction").is_some(), "{started:?}");
}

#[tokio::test]
async fn a_client_with_one_redirect_uri_may_leave_it_out_at_auth_and_token() {
    let idp = Idp::start().await;
    let (done, _) = idp
        .sign_in("alice@example.com", &[("redirect_uri", "")])
        .await;
    assert!(
        done.raw_location().unwrap().starts_with(REDIRECT),
        "the fixture's app registered one: {done:?}"
    );
    let code = done.location_param("code").unwrap();
    let tokens = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", crate::idp_support::VERIFIER),
        ])
        .await;
    assert_eq!(tokens.status, 200, "{tokens:?}");

    let two = Idp::start_with(MockIdp::builder().redirect_uri("http://localhost:3000/other")).await;
    let answer = two.get(&two.auth_url(&[("redirect_uri", "")]), &[]).await;
    assert!(answer.raw_location().is_none(), "{answer:?}");
    assert_eq!(
        answer.assert_oidc_error(400, "invalid_request"),
        "missing required parameter 'redirect_uri'"
    );
}

#[tokio::test]
async fn a_doubled_client_id_is_never_redirected_and_a_doubled_redirect_uri_only_to_the_one() {
    let idp = Idp::start().await;
    let url = format!("{}&client_id={}", idp.auth_url(&[]), idp.client_id);
    let answer = idp.get(&url, &[]).await;
    assert!(answer.raw_location().is_none(), "{answer:?}");
    assert_eq!(
        answer.assert_oidc_error(400, "invalid_request"),
        "'client_id' parameter must not be provided twice"
    );
    assert_eq!(answer.json()["message"], "Request is invalid.");

    let url = format!("{}&redirect_uri=https://evil.example/cb", idp.auth_url(&[]));
    let answer = idp.get(&url, &[]).await;
    let description =
        answer.assert_redirected_error("invalid_request", Some("state-123"), &idp.idp.issuer());
    assert_eq!(
        description,
        "'redirect_uri' parameter must not be provided twice"
    );
    assert!(!answer.location().contains("evil.example"), "{answer:?}");

    let two = Idp::start_with(MockIdp::builder().redirect_uri("http://localhost:3000/other")).await;
    let url = format!("{}&redirect_uri={REDIRECT}", two.auth_url(&[]));
    let answer = two.get(&url, &[]).await;
    assert!(
        answer.raw_location().is_none(),
        "which one? not redirected: {answer:?}"
    );
    answer.assert_oidc_error(400, "invalid_request");
}

#[tokio::test]
async fn request_objects_request_uri_and_registration_are_not_supported() {
    let idp = Idp::start().await;
    let issuer = idp.idp.issuer();
    let cases = [
        (
            "request",
            "eyJhbGciOiJub25lIn0.e30.",
            "request_not_supported",
            "request parameter provided but not supported",
        ),
        (
            "request_uri",
            "https://app.example/request.jwt",
            "request_uri_not_supported",
            "request_uri parameter provided but not supported",
        ),
        (
            "request_uri",
            "urn:ietf:params:oauth:request_uri:abc",
            "request_uri_not_supported",
            "request_uri parameter provided but not supported",
        ),
        (
            "registration",
            "{}",
            "registration_not_supported",
            "registration parameter provided but not supported",
        ),
    ];
    for (param, value, error, description) in cases {
        let answer = idp.get(&idp.auth_url(&[(param, value)]), &[]).await;
        assert_eq!(
            answer.assert_redirected_error(error, Some("state-123"), &issuer),
            description,
            "{param}"
        );
        // Refused before the client is looked at: an unknown one gets a 400, not a redirect.
        let answer = idp
            .get(&idp.auth_url(&[(param, value), ("client_id", "nope")]), &[])
            .await;
        assert!(answer.raw_location().is_none(), "{answer:?}");
        assert_eq!(answer.assert_oidc_error(400, error), description);
        assert_eq!(
            answer.json()["message"],
            format!("An OIDC error occurred: oidc.{error}.")
        );
    }
}

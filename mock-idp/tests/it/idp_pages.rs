//! The sign-in experience's pages, driven like a browser without JavaScript (forms, a cookie
//! jar, no automatic redirects), with openidconnect as the app on the other side.

use std::time::Duration;

use mock_idp::{MockIdp, Page};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse,
};

use crate::idp_openidconnect::http;
use crate::idp_support::{Browser, Idp, OidcAssert, REDIRECT};

/// Submits the email on the first screen and returns the code page.
async fn submit_email(browser: &Browser<'_>, page: &str, email: &str) -> Page {
    let answer = browser.post_form(page, &[("identifier", email)]).await;
    browser.follow(answer).await
}

/// The newest code mailed to `to` after `cursor`.
async fn code_after(idp: &Idp, to: &str, cursor: u64) -> String {
    let mail = idp.idp.inbox().wait_for(to).after(cursor).await.unwrap();
    mail.code().unwrap().to_owned()
}

fn assert_has(page: &Page, needle: &str) {
    assert!(
        page.body.contains(needle),
        "missing {needle:?} in:\n{}",
        page.body
    );
}

#[tokio::test]
async fn an_existing_user_signs_in_through_the_pages_and_openidconnect_verifies_the_result() {
    let idp = Idp::start().await;
    let http = http(idp.http.clone());
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(idp.idp.issuer()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(idp.client_id.clone()),
        Some(ClientSecret::new(idp.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = Browser::new(&idp);
    let sign_in = browser.follow(browser.get(url.as_str()).await).await;
    assert_eq!(sign_in.status, 200);
    assert_has(&sign_in, r#"id="identifier""#);
    assert_has(&sign_in, r#"id="submit""#);

    let cursor = idp.idp.inbox().cursor();
    let code_page = submit_email(&browser, "/sign-in", "alice@example.com").await;
    assert_has(
        &code_page,
        "The verification code has been sent to your email",
    );
    assert_has(&code_page, r#"id="code""#);
    assert_has(&code_page, r#"id="resend""#);
    assert_has(&code_page, r#"id="inbox""#);
    let code = code_after(&idp, "alice@example.com", cursor).await;

    let back = browser
        .follow(
            browser
                .post_form("/sign-in/verification-code", &[("code", &code)])
                .await,
        )
        .await;
    assert!(
        back.raw_location().unwrap().starts_with(REDIRECT),
        "{back:?}"
    );
    assert_eq!(
        back.location_param("state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let tokens = client
        .exchange_code(AuthorizationCode::new(back.location_param("code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
}

#[tokio::test]
async fn a_new_user_registers_from_the_register_page() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    let register = browser.start(&[("interaction_mode", "signUp")]).await;
    assert_has(&register, "Create your account");
    let cursor = idp.idp.inbox().cursor();
    submit_email(&browser, "/register", "erin@example.com").await;
    let code = code_after(&idp, "erin@example.com", cursor).await;
    let mail = idp.idp.inbox().latest_to("erin@example.com").unwrap();
    assert_eq!(mail.template_alias(), Some("logto-register"));
    let back = browser
        .follow(
            browser
                .post_form("/register/verification-code", &[("code", &code)])
                .await,
        )
        .await;
    assert!(back.location_param("code").is_some(), "{back:?}");
    assert!(idp.idp.user("erin@example.com").is_some());
}

#[tokio::test]
async fn an_unknown_email_is_offered_an_account() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    browser.start(&[]).await;
    let cursor = idp.idp.inbox().cursor();
    submit_email(&browser, "/sign-in", "frank@example.com").await;
    let code = code_after(&idp, "frank@example.com", cursor).await;
    let offer = browser
        .post_form("/sign-in/verification-code", &[("code", &code)])
        .await;
    assert_eq!(offer.status, 200);
    assert_eq!(
        offer.offer().as_deref(),
        Some("No account found for frank@example.com. Create a new one?")
    );
    assert_eq!(offer.alert(), None, "an offer, not an error");
    assert_has(&offer, r#"id="create-account""#);
    assert!(
        idp.idp.user("frank@example.com").is_none(),
        "nothing created before the user agrees"
    );
    let back = browser
        .follow(browser.post_form("/sign-in/create-account", &[]).await)
        .await;
    assert!(back.location_param("code").is_some(), "{back:?}");
    assert!(idp.idp.user("frank@example.com").is_some());
}

#[tokio::test]
async fn a_known_email_at_registration_is_offered_to_sign_in() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    browser.start(&[("first_screen", "register")]).await;
    let cursor = idp.idp.inbox().cursor();
    submit_email(&browser, "/register", "bob@example.com").await;
    let code = code_after(&idp, "bob@example.com", cursor).await;
    let offer = browser
        .post_form("/register/verification-code", &[("code", &code)])
        .await;
    assert_eq!(
        offer.offer().as_deref(),
        Some("An account with bob@example.com already exists. Continue to sign in.")
    );
    assert_eq!(offer.alert(), None, "an offer, not an error");
    let back = browser
        .follow(browser.post_form("/register/sign-in-instead", &[]).await)
        .await;
    assert!(back.location_param("code").is_some(), "{back:?}");
}

#[tokio::test]
async fn a_wrong_code_shows_logtos_message_then_the_right_one_works() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    browser.start(&[]).await;
    let cursor = idp.idp.inbox().cursor();
    submit_email(&browser, "/sign-in", "alice@example.com").await;
    let code = code_after(&idp, "alice@example.com", cursor).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let error = browser
        .post_form("/sign-in/verification-code", &[("code", wrong)])
        .await;
    assert_eq!(error.status, 400);
    assert_eq!(error.alert().as_deref(), Some("Invalid verification code."));
    let back = browser
        .follow(
            browser
                .post_form("/sign-in/verification-code", &[("code", &code)])
                .await,
        )
        .await;
    assert!(back.location_param("code").is_some());
}

#[tokio::test]
async fn resend_waits_59_seconds_then_the_new_code_works_and_the_old_one_does_not() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    browser.start(&[]).await;
    let cursor = idp.idp.inbox().cursor();
    let page = submit_email(&browser, "/sign-in", "alice@example.com").await;
    assert_has(&page, r#"data-resend-in="59""#);
    let old = code_after(&idp, "alice@example.com", cursor).await;

    let early = browser
        .post_form("/sign-in/verification-code/resend", &[])
        .await;
    assert_eq!(
        early.alert().as_deref(),
        Some("Please wait 59 seconds before asking for a new code.")
    );

    idp.idp.clock().advance(Duration::from_secs(60));
    let reloaded = browser.get("/sign-in/verification-code").await;
    assert!(
        !reloaded.body.contains("data-resend-in"),
        "the countdown is over"
    );
    let cursor = idp.idp.inbox().cursor();
    let resent = browser
        .post_form("/sign-in/verification-code/resend", &[])
        .await;
    assert_has(&resent, "The verification code has been resent");
    let new = code_after(&idp, "alice@example.com", cursor).await;

    assert_ne!(old, new, "the seeded generator drew two different codes");
    let rejected = browser
        .post_form("/sign-in/verification-code", &[("code", &old)])
        .await;
    assert_eq!(
        rejected.alert().as_deref(),
        Some("Invalid verification code.")
    );
    let back = browser
        .follow(
            browser
                .post_form("/sign-in/verification-code", &[("code", &new)])
                .await,
        )
        .await;
    assert!(back.location_param("code").is_some(), "{back:?}");
}

#[tokio::test]
async fn an_expired_code_says_so() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    browser.start(&[]).await;
    let cursor = idp.idp.inbox().cursor();
    submit_email(&browser, "/sign-in", "alice@example.com").await;
    let code = code_after(&idp, "alice@example.com", cursor).await;
    idp.idp.clock().advance(Duration::from_secs(601));
    let expired = browser
        .post_form("/sign-in/verification-code", &[("code", &code)])
        .await;
    assert_eq!(
        expired.alert().as_deref(),
        Some("Verification code has expired. Please request a new verification code.")
    );
}

#[tokio::test]
async fn html_and_script_in_the_email_field_are_escaped_on_every_page() {
    let idp = Idp::start().await;
    let hostile = r#""><script>alert(1)</script>"#;
    let browser = Browser::new(&idp);
    let hinted = browser.start(&[("login_hint", hostile)]).await;
    let invalid = browser
        .post_form("/sign-in", &[("identifier", hostile)])
        .await;
    assert_eq!(
        invalid.alert().as_deref(),
        Some("The username or email is invalid.")
    );
    // A valid address can still carry characters that need escaping.
    let tricky = "o'brien&co@example.com";
    let cursor = idp.idp.inbox().cursor();
    let code_page = submit_email(&browser, "/sign-in", tricky).await;
    let code = code_after(&idp, tricky, cursor).await;
    let offer = browser
        .post_form("/sign-in/verification-code", &[("code", &code)])
        .await;
    for page in [&hinted, &invalid, &code_page, &offer] {
        assert!(
            !page.body.contains("<script>alert"),
            "unescaped script in:\n{}",
            page.body
        );
        assert!(
            !page.body.contains("o'brien&co"),
            "unescaped address in:\n{}",
            page.body
        );
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
    }
    assert_has(&code_page, "o&#39;brien&#38;co@example.com");
    for page in [&hinted, &invalid] {
        assert_has(page, "&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;");
    }
}

#[tokio::test]
async fn a_postmark_outage_shows_connector_general_creates_nothing_and_a_retry_works() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    browser.start(&[("interaction_mode", "signUp")]).await;
    idp.idp.postmark().unwrap().fail_next(1, 422, 406);
    let failed = browser
        .post_form("/register", &[("identifier", "gina@example.com")])
        .await;
    assert_eq!(failed.status, 400);
    let alert = failed.alert().unwrap();
    assert!(alert.starts_with("Error occurred in connector:"), "{alert}");
    assert!(
        alert.contains("Found inactive addresses: gina@example.com."),
        "{alert}"
    );
    assert_has(&failed, r#"value="gina@example.com""#);
    assert!(idp.idp.user("gina@example.com").is_none());

    let cursor = idp.idp.inbox().cursor();
    submit_email(&browser, "/register", "gina@example.com").await;
    let code = code_after(&idp, "gina@example.com", cursor).await;
    let back = browser
        .follow(
            browser
                .post_form("/register/verification-code", &[("code", &code)])
                .await,
        )
        .await;
    assert!(back.location_param("code").is_some(), "{back:?}");
}

#[tokio::test]
async fn pages_without_an_interaction_explain_themselves() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    for path in [
        "/sign-in",
        "/register/verification-code",
        "/reset-password",
        "/forgot-password/reset",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 400, "{path}");
        assert_eq!(
            page.alert().as_deref(),
            Some("Session not found. Please go back and sign in again.")
        );
    }
    let sso = browser.get("/single-sign-on").await;
    assert_eq!(sso.status, 501);
    assert!(
        sso.alert()
            .unwrap()
            .contains("not supported by this mock yet")
    );
}

#[tokio::test]
async fn the_first_screens_of_logto_all_lead_somewhere() {
    let idp = Idp::start_with(MockIdp::builder()).await;
    for (first_screen, heading, action) in [
        ("sign_in", "Sign in", "/sign-in"),
        ("identifier:sign_in", "Sign in", "/sign-in"),
        ("register", "Create your account", "/register"),
        ("identifier:register", "Create your account", "/register"),
        ("reset_password", "Reset password", "/forgot-password"),
    ] {
        let browser = Browser::new(&idp);
        let page = browser.start(&[("first_screen", first_screen)]).await;
        assert_eq!(page.status, 200, "{first_screen}: {page:?}");
        assert_has(&page, &format!("<h1>{heading}</h1>"));
        assert_has(&page, &format!(r#"<form method="post" action="{action}">"#));
    }
    // The screens of features the mock lacks say so (see the test above).
    for first_screen in ["single_sign_on"] {
        let page = Browser::new(&idp)
            .start(&[("first_screen", first_screen)])
            .await;
        assert!(
            page.body.contains("not supported by this mock yet"),
            "{first_screen}: {page:?}"
        );
    }
}

/// Asserts the headers every redirect carries (303, never cached) or every page (a policy,
/// `nosniff`, never cached), whichever `answer` is.
fn assert_same_headers(answer: &Page) {
    let header = |name| answer.header(name).unwrap_or_default();
    assert_eq!(header("cache-control"), "no-store", "{answer:?}");
    if answer.is_redirect() {
        assert_eq!(answer.status, 303, "{answer:?}");
    } else {
        assert!(answer.content_type().starts_with("text/html"), "{answer:?}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{answer:?}");
        assert!(
            header("content-security-policy").contains("default-src 'none'"),
            "{answer:?}"
        );
    }
}

#[tokio::test]
async fn every_redirect_and_page_of_a_sign_in_and_a_sign_out_carries_the_same_headers() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    let mut seen = Vec::new();
    let started = browser.get(&idp.auth_url(&[])).await;
    let first_screen = browser.follow(started.clone()).await;
    let cursor = idp.idp.inbox().cursor();
    let sent = browser
        .post_form("/sign-in", &[("identifier", "alice@example.com")])
        .await;
    let code_page = browser.follow(sent.clone()).await;
    let code = code_after(&idp, "alice@example.com", cursor).await;
    let verified = browser
        .post_form("/sign-in/verification-code", &[("code", &code)])
        .await;
    let back = browser.follow(verified.clone()).await;
    seen.extend([started, first_screen, sent, code_page, verified, back]);

    let end = format!(
        "{}?client_id={}",
        idp.idp.end_session_endpoint(),
        idp.client_id
    );
    let logout_page = browser.get(&end).await;
    let xsrf = logout_page.form_value("xsrf").unwrap();
    let confirmed = browser
        .post_form(
            "/oidc/session/end/confirm",
            &[("xsrf", &xsrf), ("logout", "yes")],
        )
        .await;
    let signed_out = browser.get(confirmed.location()).await;
    seen.extend([logout_page, confirmed, signed_out]);

    assert_eq!(seen.iter().filter(|a| a.is_redirect()).count(), 5);
    for answer in &seen {
        assert_same_headers(answer);
    }
}

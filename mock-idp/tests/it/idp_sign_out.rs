//! Sign-out: `/oidc/session/end`, its confirm page, and what it ends.

use mock_idp::Page;
use serde_json::Value;

use crate::idp_support::{Browser, Idp, OidcAssert, REDIRECT};

const HOME: &str = "http://localhost:3000/";

/// Signs alice in with a browser; returns the token response.
async fn signed_in(idp: &Idp, browser: &Browser<'_>, scope: &str) -> Value {
    browser.start(&[("scope", scope)]).await;
    let resume = idp.idp.test_only_login("alice@example.com").unwrap();
    let back = browser.get(&resume).await;
    let code = back.location_param("code").unwrap();
    idp.exchange(&code).await.json()
}

fn form_value(page: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.find(&marker).unwrap() + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

/// Submits the confirm form of `page` (the end-session page), as its script or `#confirm` does.
async fn confirm(idp: &Idp, browser: &Browser<'_>, page: &Page) -> Page {
    let xsrf = form_value(&page.body, "xsrf");
    browser
        .post_form(
            &format!("{}/session/end/confirm", idp.idp.issuer()),
            &[("xsrf", &xsrf), ("logout", "yes")],
        )
        .await
}

#[tokio::test]
async fn signing_out_ends_the_session_and_returns_to_the_post_logout_uri() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    let tokens = signed_in(&idp, &browser, "openid profile").await;

    // Before sign-out, a second sign-in is silent.
    let silent = browser.get(&idp.auth_url(&[("scope", "openid")])).await;
    assert!(silent.raw_location().unwrap().starts_with(REDIRECT));

    let end = format!(
        "{}/session/end?client_id={}&post_logout_redirect_uri={HOME}&state=bye",
        idp.idp.issuer(),
        idp.client_id
    );
    let page = browser.get(&end).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"id="op.logoutForm""#));
    assert!(
        page.body.contains(r#"id="confirm""#),
        "a button for browsers without JavaScript"
    );
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'sha256-")
    );
    let confirmed = confirm(&idp, &browser, &page).await;
    assert_eq!(confirmed.status, 303);
    assert_eq!(
        confirmed.raw_location(),
        Some(format!("{HOME}?state=bye").as_str())
    );
    assert!(
        confirmed
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("_session=;")),
        "{:?}",
        confirmed.set_cookies()
    );

    // The grant without offline_access is gone; a new sign-in asks again.
    idp.userinfo(tokens["access_token"].as_str().unwrap())
        .await
        .assert_oidc_error(401, "invalid_token");
    let again = browser.get(&idp.auth_url(&[("scope", "openid")])).await;
    assert!(
        again.raw_location().unwrap().starts_with("/sign-in"),
        "{again:?}"
    );
}

#[tokio::test]
async fn offline_access_survives_sign_out() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    let tokens = signed_in(&idp, &browser, "openid offline_access").await;
    let page = browser
        .get(&format!("{}/session/end", idp.idp.issuer()))
        .await;
    let confirmed = confirm(&idp, &browser, &page).await;
    assert_eq!(
        confirmed.raw_location(),
        Some(format!("{}/session/end/success", idp.idp.issuer()).as_str())
    );
    let ended = idp.last_event("end_session.success");
    assert_eq!(ended.data["session_ended"], true, "{ended:?}");
    assert_eq!(ended.data["grants_revoked"], 0, "{ended:?}");
    let success = browser.get(confirmed.raw_location().unwrap()).await;
    assert!(success.body.contains("You have successfully signed out."));
    let refreshed = idp
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(
        refreshed.status, 200,
        "refresh tokens with offline_access survive sign-out: {refreshed:?}"
    );
}

#[tokio::test]
async fn the_id_token_hint_identifies_the_client() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    let tokens = signed_in(&idp, &browser, "openid").await;
    let hint = tokens["id_token"].as_str().unwrap();
    let end = format!(
        "{}/session/end?id_token_hint={hint}&post_logout_redirect_uri={HOME}",
        idp.idp.issuer()
    );
    let page = browser.get(&end).await;
    assert_eq!(page.status, 200, "{page:?}");
    let confirmed = confirm(&idp, &browser, &page).await;
    assert_eq!(
        confirmed.raw_location(),
        Some(HOME),
        "the hint's client registered the post-logout URI"
    );
    let bad = browser
        .get(&format!(
            "{}/session/end?id_token_hint=a.b.c",
            idp.idp.issuer()
        ))
        .await;
    assert_eq!(
        bad.assert_oidc_error(400, "invalid_request"),
        "could not validate id_token_hint"
    );
    let mismatch = browser
        .get(&format!(
            "{}/session/end?id_token_hint={hint}&client_id=someone-else",
            idp.idp.issuer()
        ))
        .await;
    assert_eq!(
        mismatch.assert_oidc_error(400, "invalid_request"),
        "client_id/id_token_hint mismatch"
    );
}

#[tokio::test]
async fn an_unregistered_post_logout_uri_is_refused() {
    let idp = Idp::start().await;
    let browser = Browser::new(&idp);
    let end = format!(
        "{}/session/end?client_id={}&post_logout_redirect_uri=https://evil.example/",
        idp.idp.issuer(),
        idp.client_id
    );
    let refused = browser.get(&end).await;
    assert_eq!(
        refused.assert_oidc_error(400, "invalid_request"),
        "post_logout_redirect_uri not registered"
    );
    let unknown = browser
        .get(&format!(
            "{}/session/end?client_id=unknown",
            idp.idp.issuer()
        ))
        .await;
    unknown.assert_oidc_error(400, "invalid_client");
    let confirm = browser
        .post_form(
            &format!("{}/session/end/confirm", idp.idp.issuer()),
            &[("xsrf", "forged"), ("logout", "yes")],
        )
        .await;
    confirm.assert_oidc_error(400, "invalid_request");
}

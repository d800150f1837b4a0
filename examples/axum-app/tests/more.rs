//! More of the app's tests: the same sign-in over HTTP with mock-idp's `Agent` (no browser),
//! sign-out in the browser, and a callback the app must refuse.

use mock_idp::browser::Browser;
use mock_idp::{Agent, MockIdp};

/// The app on a free port, signed in against a fresh mock Logto; returns its URL and the mock.
async fn spawn_app() -> (String, MockIdp) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let idp = MockIdp::builder()
        .redirect_uri(format!("{app_url}/callback"))
        .post_logout_redirect_uri(format!("{app_url}/"))
        .start()
        .await
        .unwrap();
    let client = idp.client();
    let config = axum_app::Config::new(&app_url, &idp.issuer(), &client.id, &client.secret);
    let app = axum_app::app(config).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (app_url, idp)
}

#[tokio::test]
async fn an_agent_signs_in_over_http_and_every_hop_is_visible() {
    let (app_url, idp) = spawn_app().await;
    let agent = Agent::new();
    let to_logto = agent.get(&format!("{app_url}/login")).await;
    assert_eq!(to_logto.status, 303);
    assert!(to_logto.location().starts_with(&idp.authorization_endpoint()));

    let back = agent.sign_in_with_email_code(&idp, &to_logto, "alice@example.com").await;
    assert!(back.location().starts_with(&format!("{app_url}/callback?")));
    let home = agent.follow(&agent.follow(&back).await).await;
    assert_eq!(home.text_of("who").as_deref(), Some("Signed in as alice@example.com"));
}

#[tokio::test]
async fn signing_out_ends_the_apps_session_and_logtos() {
    let (app_url, idp) = spawn_app().await;
    let browser = Browser::start().await.unwrap();
    browser.goto(&app_url).await;
    browser.click("#login").await;
    browser.sign_in_with_email_code(&idp, "alice@example.com").await;
    browser.wait_for_text("#who", "Signed in as alice@example.com").await;

    browser.click("#logout").await;
    browser.confirm_sign_out(&idp).await;
    browser.wait_for_text("#who", "Not signed in").await;
    // Logto forgot the browser too: signing in again asks for a new code.
    browser.click("#login").await;
    browser.sign_in_with_email_code(&idp, "alice@example.com").await;
    browser.wait_for_text("#who", "Signed in as alice@example.com").await;
}

#[tokio::test]
async fn a_callback_with_a_forged_state_is_refused() {
    let (app_url, idp) = spawn_app().await;
    let agent = Agent::new();
    let to_logto = agent.get(&format!("{app_url}/login")).await;
    let back = agent.sign_in_with_email_code(&idp, &to_logto, "alice@example.com").await;
    let code = back.location_param("code").unwrap();
    let forged = agent.get(&format!("{app_url}/callback?code={code}&state=forged")).await;
    assert_eq!(forged.status, 400);
    assert_eq!(forged.alert().as_deref(), Some("No sign-in in progress, or a wrong state."));
    let home = agent.get(&app_url).await;
    assert_eq!(home.text_of("who").as_deref(), Some("Not signed in"));
}

#[tokio::test]
async fn alice_signs_in_under_browser_run_which_captures_any_panic() {
    let (app_url, idp) = spawn_app().await;
    let browser = Browser::start().await.unwrap();
    browser
        .run(move |browser| async move {
            browser.goto(&app_url).await;
            browser.click("#login").await;
            browser.sign_in_with_email_code(&idp, "alice@example.com").await;
            assert_eq!(browser.text("#who").await, "Signed in as alice@example.com");
        })
        .await;
}

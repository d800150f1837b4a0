//! The auth bugs users report, each as a fault of the mock Logto, and what the sample app does
//! about it: a readable page, a sign-in offered again when that fixes it, a retry that works.

use std::time::Duration;

use e2e::{Stack, spawn_stack, spawn_stack_configured, spawn_stack_with};
use mock_idp::tenant::{ApplicationType, Tenant};
use mock_idp::{Agent, Fault, MockIdp, OAuthError, Page};
use serde_json::json;

use super::support::{refreshes, sign_in, status};

/// The app's callback page for a sign-in of `email` started at the app's `/sign-in`.
async fn callback_page(stack: &Stack, agent: &Agent, email: &str) -> Page {
    let to_logto = agent.get(&stack.app_url("/sign-in")).await;
    let back = agent
        .sign_in_with_email_code(&stack.idp, &to_logto, email)
        .await;
    assert!(
        back.location().starts_with(&stack.app_url("/callback?")),
        "{back:?}"
    );
    agent.follow(&back).await
}

/// Follows the page's `#sign-in` offer: Logto still has a session, so it sends the browser
/// straight back to the callback (no new code), which lands on the home page.
async fn sign_in_again_through_the_offer(stack: &Stack, agent: &Agent, page: &Page) {
    assert!(offers_sign_in(page), "{page:?}");
    let mails = stack.inbox().messages().len();
    let to_logto = agent.get(&stack.app_url("/sign-in")).await;
    let back = agent.follow_within(stack.idp.base_url(), to_logto).await;
    let callback = agent.follow(&back).await;
    assert_eq!(callback.status, 303, "{callback:?}");
    assert_eq!(status(stack, agent).await, "Authenticated");
    assert_eq!(
        stack.inbox().messages().len(),
        mails,
        "no new code was needed"
    );
}

/// Whether an error page offers `#sign-in`.
fn offers_sign_in(page: &Page) -> bool {
    page.has(r#"<a id="sign-in" href="/sign-in">"#)
}

/// The reported bug: the user's grant was revoked in Logto, and `/profile` kept failing with
/// a 502 until the cached access token expired an hour later. Revoked through the control
/// plane, as a test or a person with curl would.
#[tokio::test]
async fn a_revoked_grant_signs_the_user_out_instead_of_failing_every_page() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    sign_in(&stack, &agent, "alice@example.com").await;
    assert_eq!(agent.get(&stack.app_url("/profile")).await.status, 200);

    let revoke = agent
        .send(
            agent
                .http()
                .post(format!("{}/faults", stack.idp.control_url()))
                .json(&json!({"kind": "revoke_grants", "user": "alice@example.com"})),
        )
        .await;
    assert_eq!(revoke.status, 201, "{revoke:?}");

    let profile = agent.get(&stack.app_url("/profile")).await;
    assert_eq!(profile.status, 401, "{profile:?}");
    assert!(
        profile
            .alert()
            .unwrap()
            .starts_with("Your sign-in has ended"),
        "{profile:?}"
    );
    assert_eq!(status(&stack, &agent).await, "Not authenticated");
    let json = agent.get(&stack.app_url("/profile.json")).await;
    assert_eq!(json.status, 401, "{json:?}");
    assert_eq!(json.json()["error"], "not_authenticated", "{json:?}");
    // Logto's session outlives the grant: the offered sign-in passes straight through.
    sign_in_again_through_the_offer(&stack, &agent, &profile).await;
    assert_eq!(agent.get(&stack.app_url("/profile")).await.status, 200);
}

/// The reported bug: after an hour the refresh fails, and the app keeps saying
/// "Authenticated" while every page that needs a token fails.
#[tokio::test]
async fn a_refresh_refused_after_an_hour_signs_the_user_out() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    sign_in(&stack, &agent, "alice@example.com").await;
    stack.clock().advance(Duration::from_secs(3601));
    stack
        .idp
        .inject(Fault::token_error(OAuthError::InvalidGrant).on_refresh())
        .unwrap();
    let profile = agent.get(&stack.app_url("/profile")).await;
    assert_eq!(profile.status, 401, "{profile:?}");
    assert!(offers_sign_in(&profile), "{profile:?}");
    assert_eq!(status(&stack, &agent).await, "Not authenticated");
}

/// A refresh Logto fails once (a 503): the user keeps their sign-in, and trying again works.
#[tokio::test]
async fn a_refresh_logto_fails_once_keeps_the_sign_in_and_a_retry_works() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    sign_in(&stack, &agent, "alice@example.com").await;
    stack.clock().advance(Duration::from_secs(3601));
    stack
        .idp
        .inject(Fault::token_status(503).on_refresh())
        .unwrap();
    let failed = agent.get(&stack.app_url("/profile")).await;
    assert_eq!(failed.status, 503, "{failed:?}");
    assert!(
        failed.alert().unwrap().contains("Please try again"),
        "{failed:?}"
    );
    assert!(failed.has(r#"id="retry""#), "{failed:?}");
    assert_eq!(status(&stack, &agent).await, "Authenticated");
    let retried = agent.get(&stack.app_url("/profile")).await;
    assert_eq!(retried.status, 200, "{retried:?}");
}

/// The reported bug: the token endpoint answered 500 once, at the callback.
#[tokio::test]
async fn a_token_endpoint_500_at_the_callback_offers_a_sign_in_that_works() {
    let stack = spawn_stack().await;
    stack
        .idp
        .inject(Fault::token_status(500).on_code_exchange())
        .unwrap();
    let agent = stack.agent();
    let page = callback_page(&stack, &agent, "alice@example.com").await;
    assert_eq!(page.status, 503, "{page:?}");
    assert_eq!(
        page.text_of("error")
            .as_deref()
            .map(|m| m.contains("temporary problem")),
        Some(true),
        "{page:?}"
    );
    assert_eq!(status(&stack, &agent).await, "Not authenticated");
    sign_in_again_through_the_offer(&stack, &agent, &page).await;
}

/// The reported bug: Logto rotated its signing key (no grace period), and every sign-in
/// after that failed until the app restarted, because the app kept the JWKS it read first.
#[tokio::test]
async fn the_next_sign_in_after_logto_rotates_its_key_works() {
    let stack = spawn_stack().await;
    let alice = stack.agent();
    sign_in(&stack, &alice, "alice@example.com").await;
    stack.idp.inject(Fault::rotate_signing_key(0)).unwrap();
    // A new sign-in: its ID token has a `kid` the app has not seen.
    let bob = stack.agent();
    sign_in(&stack, &bob, "bob@example.com").await;
    // And a refresh of the earlier sign-in brings an ID token of the new key too.
    stack.clock().advance(Duration::from_secs(3601));
    assert_eq!(alice.get(&stack.app_url("/profile")).await.status, 200);
    assert_eq!(refreshes(&stack), 1);
}

/// The fixture's app with ID tokens that live `secs` (some tenants keep them short).
fn app_with_id_token_ttl(secs: u64) -> mock_idp::tenant::Application {
    let mut app = Tenant::fixture()
        .unwrap()
        .applications
        .into_iter()
        .find(|a| a.app_type == ApplicationType::Traditional)
        .unwrap();
    app.custom_client_metadata.id_token_ttl = Some(secs);
    app
}

/// The reported bug: clocks disagree by two minutes. With Logto two minutes behind and
/// one-minute ID tokens, a client without clock tolerance finds every fresh ID token expired.
#[tokio::test]
async fn a_logto_two_minutes_behind_still_signs_users_in() {
    let stack = spawn_stack_with(
        MockIdp::builder()
            .application(app_with_id_token_ttl(60))
            .fault(Fault::SkewTokens { secs: -120 }.with_probability(1.0)),
    )
    .await;
    let agent = stack.agent();
    sign_in(&stack, &agent, "alice@example.com").await;
}

/// Past the SDKs' 300 s tolerance, the app refuses the ID token and says which clocks to check.
#[tokio::test]
async fn a_logto_an_hour_ahead_is_refused_with_the_clocks_named() {
    let stack = spawn_stack_with(
        MockIdp::builder()
            .clock(mock_idp::Clock::fixed(
                time::macros::datetime!(2026-01-01 09:00 UTC),
            ))
            .fault(Fault::SkewTokens { secs: 3600 }.with_probability(1.0)),
    )
    .await;
    let agent = stack.agent();
    let page = callback_page(&stack, &agent, "alice@example.com").await;
    assert_eq!(page.status, 502, "{page:?}");
    let alert = page.alert().unwrap();
    assert!(
        alert.contains("3600 s ahead of this server's clock"),
        "{alert}"
    );
    assert_eq!(status(&stack, &agent).await, "Not authenticated");
}

/// Logto hangs at the token endpoint: the app gives up after its timeout with a page that
/// says so, and the sign-in it offers works once Logto answers again.
#[tokio::test]
async fn a_hanging_token_endpoint_is_a_timeout_page_and_the_offered_sign_in_works() {
    let stack = spawn_stack_configured(
        MockIdp::builder().fault(Fault::TokenLatency {
            ms: 2_000,
            grant_type: Some(mock_idp::faults::GrantType::AuthorizationCode),
        }),
        |config| config.timeout = Duration::from_millis(250),
    )
    .await;
    let agent = stack.agent();
    let page = callback_page(&stack, &agent, "alice@example.com").await;
    assert_eq!(page.status, 502, "{page:?}");
    assert!(
        page.alert()
            .unwrap()
            .starts_with("Logto could not be reached"),
        "{page:?}"
    );
    sign_in_again_through_the_offer(&stack, &agent, &page).await;
}

/// Logto refuses one access token at userinfo: the app gets a fresh one and the page works.
#[tokio::test]
async fn a_userinfo_401_is_retried_once_with_a_fresh_token() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    sign_in(&stack, &agent, "alice@example.com").await;
    stack.idp.inject(Fault::UserinfoUnauthorized).unwrap();
    let profile = agent.get(&stack.app_url("/profile.json")).await;
    assert_eq!(profile.status, 200, "{profile:?}");
    assert_eq!(profile.json()["userinfo"]["email"], "alice@example.com");
    assert_eq!(refreshes(&stack), 1, "the retry used a refreshed token");
}

/// Logto sends `access_denied` back: the app says so and offers a sign-in, which works.
#[tokio::test]
async fn an_authorization_error_is_shown_and_the_offered_sign_in_works() {
    let stack = spawn_stack().await;
    stack
        .idp
        .inject(Fault::AuthorizeError {
            error: OAuthError::AccessDenied,
            description: None,
        })
        .unwrap();
    let agent = stack.agent();
    let to_logto = agent.get(&stack.app_url("/sign-in")).await;
    let back = agent.follow(&to_logto).await;
    let page = agent.follow(&back).await;
    assert_eq!(page.status, 400, "{page:?}");
    assert_eq!(
        page.alert().as_deref(),
        Some("Sign-in failed: access_denied (access denied)")
    );
    assert!(offers_sign_in(&page), "{page:?}");
    sign_in(&stack, &agent, "alice@example.com").await;
}

/// Logto ends the user's session: the app's sign-in lives on (its tokens are valid), and the
/// next sign-in asks for a code again instead of passing straight through.
#[tokio::test]
async fn after_logto_ends_the_session_the_next_sign_in_asks_for_a_code() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    sign_in(&stack, &agent, "alice@example.com").await;
    stack
        .idp
        .inject(Fault::expire_sessions("alice@example.com"))
        .unwrap();
    assert_eq!(agent.get(&stack.app_url("/profile")).await.status, 200);
    let to_logto = agent.get(&stack.app_url("/sign-in")).await;
    let first_screen = agent.follow(&to_logto).await;
    assert!(
        first_screen
            .location()
            .starts_with(&format!("{}/sign-in?", stack.idp.base_url())),
        "{first_screen:?}"
    );
}

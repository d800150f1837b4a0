//! The hops every flow shares, each one asserted.

use e2e::{API_RESOURCE, Stack};
use mock_idp::{Agent, Page};

/// `GET {app}/sign-in` (or `/sign-up`): 303 to Logto's authorization endpoint with what the
/// SDKs send, then Logto's 303 to its first screen (`first_screen_path`), then that page.
/// Returns the authorization redirect (for its `state`) and the first screen.
pub async fn start(
    stack: &Stack,
    agent: &Agent,
    app_path: &str,
    first_screen_path: &str,
) -> (Page, Page) {
    let to_logto = agent.get(&stack.app_url(app_path)).await;
    assert_eq!(to_logto.status, 303, "{to_logto:?}");
    assert!(
        to_logto
            .location()
            .starts_with(&format!("{}?", stack.idp.authorization_endpoint())),
        "{to_logto:?}"
    );
    let param = |name| to_logto.location_param(name);
    assert_eq!(param("client_id"), Some(stack.idp.client().id.clone()));
    assert_eq!(param("redirect_uri"), Some(stack.app_url("/callback")));
    assert_eq!(param("response_type").as_deref(), Some("code"));
    assert_eq!(
        param("scope").as_deref(),
        Some(
            "openid offline_access profile email read:messages roles \
             urn:logto:scope:organizations urn:logto:scope:organization_roles"
        )
    );
    assert_eq!(param("prompt").as_deref(), Some("consent"));
    assert_eq!(param("resource").as_deref(), Some(API_RESOURCE));
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param("code_challenge").map(|c| c.len()), Some(43));
    assert_eq!(param("state").map(|s| s.len()), Some(43));
    assert!(param("nonce").is_some());

    let to_first_screen = agent.follow(&to_logto).await;
    assert_eq!(to_first_screen.status, 303, "{to_first_screen:?}");
    assert!(
        to_first_screen
            .location()
            .starts_with(&format!("{}{first_screen_path}?", stack.idp.base_url())),
        "{to_first_screen:?}"
    );
    let first_screen = agent.follow(&to_first_screen).await;
    assert_eq!(first_screen.status, 200, "{first_screen:?}");
    assert!(first_screen.has(r#"id="identifier""#), "{first_screen:?}");
    (to_logto, first_screen)
}

/// Submits `email` on `screen` (`/sign-in` or `/register`): 303 to its code page, which says
/// the code was sent and has `#code`. Returns the inbox cursor from before the submit (for
/// [`Stack::code_after`]).
pub async fn submit_email(stack: &Stack, agent: &Agent, screen: &str, email: &str) -> u64 {
    let cursor = stack.inbox().cursor();
    let url = format!("{}{screen}", stack.idp.base_url());
    let sent = agent.post_form(&url, &[("identifier", email)]).await;
    assert_eq!(sent.status, 303, "{sent:?}");
    assert_eq!(sent.location(), format!("{url}/verification-code"));
    let code_page = agent.follow(&sent).await;
    assert_eq!(code_page.status, 200, "{code_page:?}");
    assert!(
        code_page.has("The verification code has been sent to your email"),
        "{code_page:?}"
    );
    assert!(code_page.has(r#"id="code""#), "{code_page:?}");
    cursor
}

/// A sign-in of `email` from the app's `/sign-in` up to Logto's code page; returns the
/// `state` the app sent and the emailed code.
pub async fn up_to_the_code(stack: &Stack, agent: &Agent, email: &str) -> (String, String) {
    let (to_logto, _) = start(stack, agent, "/sign-in", "/sign-in").await;
    let state = to_logto.location_param("state").expect("a state");
    let cursor = submit_email(stack, agent, "/sign-in", email).await;
    (state, stack.code_after(email, cursor).await)
}

/// Posts `code` on `screen`'s code page and expects Logto to accept it (303 onwards).
pub async fn submit_code(stack: &Stack, agent: &Agent, screen: &str, code: &str) -> Page {
    let url = format!("{}{screen}/verification-code", stack.idp.base_url());
    let accepted = agent.post_form(&url, &[("code", code)]).await;
    assert_eq!(accepted.status, 303, "{accepted:?}");
    accepted
}

/// From Logto's redirect after a verified code: the resumed authorization, up to Logto's 303
/// to the app's callback with `code`, `state` = `sent_state` and `iss`. Returns that redirect.
pub async fn through_logto(stack: &Stack, agent: &Agent, mut hop: Page, sent_state: &str) -> Page {
    // Logto resumes the authorization at /oidc/auth/{uid} and answers with the code.
    while hop.location().starts_with(stack.idp.base_url()) {
        assert!(
            hop.location()
                .starts_with(&format!("{}/auth/", stack.idp.issuer())),
            "{hop:?}"
        );
        hop = agent.follow(&hop).await;
        assert_eq!(hop.status, 303, "{hop:?}");
    }
    assert!(
        hop.location().starts_with(&stack.app_url("/callback?")),
        "{hop:?}"
    );
    assert!(hop.location_param("code").is_some(), "{hop:?}");
    assert_eq!(hop.location_param("state").as_deref(), Some(sent_state));
    assert_eq!(hop.location_param("iss"), Some(stack.idp.issuer()));
    hop
}

/// From Logto's redirect after a verified code: [`through_logto`], the callback (303 to `/`,
/// a new session id), and the home page, "Authenticated". Returns the home page.
pub async fn land_signed_in(stack: &Stack, agent: &Agent, hop: Page, sent_state: &str) -> Page {
    let hop = through_logto(stack, agent, hop, sent_state).await;
    let before = agent.cookie(&stack.app_url("/"), sample_app::SESSION_COOKIE);
    assert!(before.is_some(), "the sign-in started a session");
    let callback = agent.follow(&hop).await;
    assert_eq!(callback.status, 303, "{callback:?}");
    assert_eq!(callback.location(), stack.app_url("/"));
    let after = callback.cookie(sample_app::SESSION_COOKIE);
    assert!(
        after.is_some() && after != before,
        "the session id is renewed at sign-in: {before:?} then {callback:?}"
    );

    let home = agent.follow(&callback).await;
    assert_eq!(home.status, 200, "{home:?}");
    assert_eq!(
        home.text_of("status").as_deref(),
        Some("Authenticated"),
        "{home:?}"
    );
    assert!(home.has(r#"id="sign-out""#));
    home
}

/// The whole sign-in of an existing user with an emailed code, Logto's part walked by
/// [`Agent::sign_in_with_email_code`]; returns the home page.
pub async fn sign_in(stack: &Stack, agent: &Agent, email: &str) -> Page {
    let to_logto = agent.get(&stack.app_url("/sign-in")).await;
    let state = to_logto.location_param("state").expect("a state");
    let back = agent
        .sign_in_with_email_code(&stack.idp, &to_logto, email)
        .await;
    land_signed_in(stack, agent, back, &state).await
}

/// The app's home page, and its `#status`.
pub async fn status(stack: &Stack, agent: &Agent) -> String {
    let home = agent.get(&stack.app_url("/")).await;
    assert_eq!(home.status, 200, "{home:?}");
    home.text_of("status").expect("a #status")
}

/// How many refreshes the mock Logto granted.
pub fn refreshes(stack: &Stack) -> usize {
    stack
        .idp
        .events()
        .iter()
        .filter(|e| e.kind == "grant.success" && e.data["grant_type"] == "refresh_token")
        .count()
}

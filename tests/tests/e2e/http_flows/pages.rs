//! The app's own pages: its session cookie, errors for signed-out visitors, escaping.

use e2e::{spawn_stack, spawn_stack_with};
use mock_idp::{MockIdp, User};

use super::support::sign_in;

#[tokio::test]
async fn the_session_cookie_is_lax_http_only_and_not_secure_over_http() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    let to_logto = agent.get(&stack.app_url("/sign-in")).await;
    let cookie = to_logto
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{}=", sample_app::SESSION_COOKIE)))
        .unwrap_or_else(|| panic!("a session cookie: {to_logto:?}"));
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).skip(1).collect();
    assert!(attributes.contains(&"SameSite=Lax"), "{cookie}");
    assert!(attributes.contains(&"HttpOnly"), "{cookie}");
    assert!(attributes.contains(&"Path=/"), "{cookie}");
    assert!(!attributes.contains(&"Secure"), "{cookie}");
}

#[tokio::test]
async fn signed_out_visitors_get_readable_errors() {
    let stack = spawn_stack().await;
    let agent = stack.agent();
    for path in ["/profile", "/api-token"] {
        let page = agent.get(&stack.app_url(path)).await;
        assert_eq!(page.status, 401, "{path}: {page:?}");
        assert_eq!(
            page.alert().as_deref(),
            Some("Not authenticated."),
            "{path}"
        );
        assert!(page.has(r#"id="sign-in""#), "{path}");
    }
    for path in ["/profile.json", "/api-token.json"] {
        let answer = agent.get(&stack.app_url(path)).await;
        assert_eq!(answer.status, 401, "{path}: {answer:?}");
        assert_eq!(answer.json()["error"], "not_authenticated", "{path}");
    }
    let wrong_method = agent.post_form(&stack.app_url("/sign-in"), &[]).await;
    assert_eq!(wrong_method.status, 405, "{wrong_method:?}");
    assert_eq!(
        wrong_method.alert().as_deref(),
        Some("This page only answers GET.")
    );
    let missing = agent.get(&stack.app_url("/nowhere")).await;
    assert_eq!(missing.status, 404, "{missing:?}");
    assert_eq!(
        missing.alert().as_deref(),
        Some("There is no such page in this app.")
    );
}

#[tokio::test]
async fn the_users_name_is_escaped_on_the_home_page() {
    let name = r#"<b>Zoë</b> & "Co""#;
    let stack =
        spawn_stack_with(MockIdp::builder().user(User::email("zoe@example.com").name(name))).await;
    let agent = stack.agent();
    let home = sign_in(&stack, &agent, "zoe@example.com").await;
    assert_eq!(home.text_of("user").as_deref(), Some(name));
    assert!(!home.has("<b>Zoë</b>"), "{home:?}");
}

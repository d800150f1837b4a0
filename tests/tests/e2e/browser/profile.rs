//! Alice's profile page, in the browser: her roles and her organizations with her roles there.

use super::support::journey;

#[tokio::test]
async fn the_profile_shows_alices_roles_and_organizations() {
    journey(|j| async move {
        j.sign_in("alice@example.com").await;
        j.browser.goto(&j.stack.app_url("/profile")).await;
        j.browser.wait_for_text("h1", "Profile").await;
        assert_eq!(j.browser.text("#roles").await, "reader");
        let organizations = j.browser.text("#organizations").await;
        assert!(
            organizations.contains("Acme (admin)") && organizations.contains("Globex (member)"),
            "{organizations}"
        );
    })
    .await;
}

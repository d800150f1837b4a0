//! The profile page shows the user's roles and organizations, from the ID token's `roles`,
//! `organizations` and `organization_roles` and userinfo's `organization_data`; what changes
//! in the tenant shows at the next sign-in.

use e2e::spawn_stack;

use super::support::sign_in;

#[tokio::test]
async fn the_profile_lists_alices_roles_and_her_organizations_with_her_roles_there() {
    let stack = spawn_stack().await;
    let alice = stack.agent();
    sign_in(&stack, &alice, "alice@example.com").await;
    let profile = alice.get(&stack.app_url("/profile")).await;
    assert_eq!(profile.status, 200, "{profile:?}");
    assert!(
        profile.has(r#"<ul id="roles"><li>reader</li></ul>"#),
        "{}",
        profile.body
    );
    assert!(
        profile.has(r#"<li data-id="24l7enrqcaw3x9e87div7">Acme (admin)</li>"#),
        "{}",
        profile.body
    );
    assert!(profile.has(r#"<li data-id="f9c7kojso0swg0zvrfyg4">Globex (member)</li>"#));

    // Bob: no roles, one organization.
    let bob = stack.agent();
    sign_in(&stack, &bob, "bob@example.com").await;
    let profile = bob.get(&stack.app_url("/profile")).await;
    assert!(profile.has(r#"<ul id="roles"></ul>"#), "{}", profile.body);
    assert!(!profile.has("Acme"));
    assert!(profile.has(r#"Globex (member)"#));
}

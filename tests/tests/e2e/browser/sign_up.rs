//! A new user signs up from the app's `/sign-up`.

use super::support::journey;

#[tokio::test]
async fn a_new_user_signs_up_from_the_sign_up_link() {
    journey(|j| async move {
        j.open_logto("#sign-up", "Create your account").await;
        let cursor = j.submit_email("erin@example.com").await;
        let code = j.code_after("erin@example.com", cursor).await;
        assert!(
            j.stack.idp.user("erin@example.com").is_none(),
            "not before the code"
        );
        j.submit_code(&code).await;
        j.assert_signed_in("erin@example.com").await;
        assert!(j.stack.idp.user("erin@example.com").is_some());
    })
    .await;
}

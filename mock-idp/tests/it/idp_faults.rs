//! IdP faults ([`mock_idp::faults`]): each answers as Logto would in that situation, fires on
//! the requests it is scheduled for and no others, and leaves nothing consumed.

use std::time::Duration;

use mock_idp::{Fault, MockIdp, OAuthError};
use serde_json::Value;
use time::macros::datetime;

use crate::idp_support::{Idp, OidcAssert, jwt_part};

async fn tokens(idp: &Idp) -> Value {
    let code = idp.code("alice@example.com", &[]).await;
    let response = idp.exchange(&code).await;
    assert_eq!(response.status, 200, "{response:?}");
    response.json()
}

async fn refresh(idp: &Idp, token: &str) -> mock_idp::Page {
    idp.token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .await
}

fn kinds(idp: &MockIdp) -> Vec<String> {
    idp.events().into_iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn a_token_error_answers_in_logtos_shape_and_consumes_nothing() {
    let idp = Idp::start().await;
    idp.idp
        .inject(Fault::token_error(OAuthError::InvalidGrant).on_code_exchange())
        .unwrap();
    let code = idp.code("alice@example.com", &[]).await;
    let failed = idp.exchange(&code).await;
    assert_eq!(
        failed.assert_oidc_error(400, "invalid_grant"),
        "grant request is invalid"
    );
    assert_eq!(
        failed.json()["error_uri"],
        "https://openid.sh/debug/invalid_grant"
    );
    // The code was not used: the retry works, and the fault is gone.
    assert_eq!(idp.exchange(&code).await.status, 200);
    assert!(idp.idp.faults().is_empty());
    assert!(kinds(&idp.idp).contains(&"fault.injected".to_owned()));
}

#[tokio::test]
async fn a_5xx_token_fault_is_logtos_server_error_with_that_status_for_n_requests() {
    let idp = Idp::start().await;
    idp.idp.inject(Fault::token_status(503).times(2)).unwrap();
    let code = idp.code("alice@example.com", &[]).await;
    for _ in 0..2 {
        let failed = idp.exchange(&code).await;
        assert_eq!(
            failed.assert_oidc_error(503, "server_error"),
            "oops! something went wrong"
        );
    }
    assert_eq!(idp.exchange(&code).await.status, 200);
}

#[tokio::test]
async fn a_refresh_only_fault_lets_the_code_exchange_through() {
    let idp = Idp::start().await;
    idp.idp
        .inject(Fault::token_error(OAuthError::InvalidGrant).on_refresh())
        .unwrap();
    let first = tokens(&idp).await;
    let refresh_token = first["refresh_token"].as_str().unwrap();
    refresh(&idp, refresh_token)
        .await
        .assert_oidc_error(400, "invalid_grant");
    assert_eq!(refresh(&idp, refresh_token).await.status, 200);
}

#[tokio::test]
async fn token_latency_delays_the_answer_and_then_answers() {
    let idp = Idp::start().await;
    idp.idp
        .inject(Fault::TokenLatency {
            ms: 50,
            grant_type: None,
        })
        .unwrap();
    let code = idp.code("alice@example.com", &[]).await;
    assert_eq!(idp.exchange(&code).await.status, 200);
    let injected = idp.last_event("fault.injected");
    assert_eq!(injected.data["kind"], "token_latency");
}

#[tokio::test]
async fn an_authorize_error_is_sent_to_the_client_with_its_state_and_iss() {
    let idp = Idp::start().await;
    idp.idp
        .inject(Fault::AuthorizeError {
            error: OAuthError::AccessDenied,
            description: Some("the user said no".into()),
        })
        .unwrap();
    let denied = idp.get(&idp.auth_url(&[]), &[]).await;
    let description =
        denied.assert_redirected_error("access_denied", Some("state-123"), &idp.idp.issuer());
    assert_eq!(description, "the user said no");
    // Once: the next sign-in starts normally.
    let next = idp.get(&idp.auth_url(&[]), &[]).await;
    assert!(next.cookie("_interaction").is_some(), "{next:?}");
}

#[tokio::test]
async fn an_invalid_request_is_still_refused_before_an_authorize_fault_fires() {
    let idp = Idp::start().await;
    idp.idp
        .inject(Fault::AuthorizeError {
            error: OAuthError::AccessDenied,
            description: None,
        })
        .unwrap();
    let unknown = idp.get(&idp.auth_url(&[("client_id", "nope")]), &[]).await;
    unknown.assert_oidc_error(400, "invalid_client");
    assert_eq!(
        idp.idp.faults().len(),
        1,
        "the fault waits for a valid request"
    );
}

#[tokio::test]
async fn userinfo_unauthorized_is_a_401_with_a_bearer_challenge_once() {
    let idp = Idp::start().await;
    let access = tokens(&idp).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    idp.idp.inject(Fault::UserinfoUnauthorized).unwrap();
    let refused = idp.userinfo(&access).await;
    refused.assert_oidc_error(401, "invalid_token");
    assert!(
        refused
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    assert_eq!(idp.userinfo(&access).await.status, 200);
}

#[tokio::test]
async fn skewed_tokens_carry_a_shifted_iat_and_exp() {
    let clock = mock_idp::Clock::fixed(datetime!(2026-01-01 09:00 UTC));
    let idp = Idp::start_with(MockIdp::builder().clock(clock)).await;
    idp.idp.inject(Fault::SkewTokens { secs: 120 }).unwrap();
    let skewed = tokens(&idp).await;
    let claims = jwt_part(skewed["id_token"].as_str().unwrap(), 1);
    let now = datetime!(2026-01-01 09:00 UTC).unix_timestamp();
    assert_eq!(claims["iat"], now + 120);
    assert_eq!(claims["exp"], now + 120 + 3600);
    // The IdP's own expiry keeps the true time.
    assert_eq!(skewed["expires_in"], 3600);
    let plain = tokens(&idp).await;
    assert_eq!(jwt_part(plain["id_token"].as_str().unwrap(), 1)["iat"], now);
}

#[tokio::test]
async fn revoking_a_users_grants_kills_their_tokens_but_not_other_users() {
    let idp = Idp::start().await;
    let alice = tokens(&idp).await;
    let code = idp.code("bob@example.com", &[]).await;
    let bob = idp.exchange(&code).await.json();
    idp.idp
        .inject(Fault::revoke_grants("alice@example.com"))
        .unwrap();
    let access = alice["access_token"].as_str().unwrap();
    idp.userinfo(access)
        .await
        .assert_oidc_error(401, "invalid_token");
    refresh(&idp, alice["refresh_token"].as_str().unwrap())
        .await
        .assert_oidc_error(400, "invalid_grant");
    assert_eq!(
        idp.userinfo(bob["access_token"].as_str().unwrap())
            .await
            .status,
        200
    );
    let revoked = idp.last_event("grant.revoked");
    assert_eq!(revoked.data["reason"], "fault");
}

#[tokio::test]
async fn an_action_for_an_unknown_user_is_refused_and_changes_nothing() {
    let idp = Idp::start().await;
    let error = idp
        .idp
        .inject(Fault::revoke_grants("nobody@example.com"))
        .unwrap_err();
    assert_eq!(error.code, "control.not_found");
    assert!(error.message.contains("nobody@example.com"), "{error}");
}

#[tokio::test]
async fn expiring_sessions_makes_the_next_sign_in_ask_again_while_tokens_live() {
    let idp = Idp::start().await;
    let (_, session) = idp.sign_in("alice@example.com", &[]).await;
    // With the session, a new authorization finishes at once (SSO).
    let sso = idp
        .get(&idp.auth_url(&[("prompt", "")]), &[("_session", &session)])
        .await;
    assert!(sso.location_param("code").is_some(), "{sso:?}");
    let live = tokens(&idp).await;
    idp.idp
        .inject(Fault::expire_sessions("alice@example.com"))
        .unwrap();
    let asked = idp
        .get(&idp.auth_url(&[("prompt", "")]), &[("_session", &session)])
        .await;
    assert!(asked.location_param("code").is_none(), "{asked:?}");
    assert!(asked.cookie("_interaction").is_some(), "{asked:?}");
    assert_eq!(
        idp.userinfo(live["access_token"].as_str().unwrap())
            .await
            .status,
        200
    );
}

async fn jwks_kids(idp: &Idp) -> Vec<String> {
    let jwks = idp.get(&idp.idp.jwks_uri(), &[]).await.json();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_rotation_without_grace_replaces_the_key_at_once() {
    let idp = Idp::start().await;
    let before = tokens(&idp).await;
    let old_kid = jwt_part(before["id_token"].as_str().unwrap(), 0)["kid"].clone();
    idp.idp.inject(Fault::rotate_signing_key(0)).unwrap();
    let after = tokens(&idp).await;
    let header = jwt_part(after["id_token"].as_str().unwrap(), 0);
    assert_ne!(header["kid"], old_kid);
    assert_eq!(header["alg"], "ES384", "the same type as before");
    assert_eq!(jwks_kids(&idp).await, [header["kid"].as_str().unwrap()]);
    let rotated = idp.last_event("keys.rotated");
    assert_eq!(rotated.data["previous_kid"], old_kid);
}

#[tokio::test]
async fn a_rotation_with_grace_keeps_the_old_key_published_until_the_grace_ends() {
    let idp = Idp::start().await;
    let old_kid = jwt_part(tokens(&idp).await["id_token"].as_str().unwrap(), 0)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    idp.idp
        .inject(Fault::RotateSigningKey {
            algorithm: Some(mock_idp::faults::KeyType::Rsa),
            grace_secs: Some(600),
        })
        .unwrap();
    let header = jwt_part(tokens(&idp).await["id_token"].as_str().unwrap(), 0);
    assert_eq!(header["alg"], "RS256");
    let new_kid = header["kid"].as_str().unwrap().to_owned();
    assert_eq!(jwks_kids(&idp).await, [new_kid.clone(), old_kid]);
    idp.idp.clock().advance(Duration::from_secs(600));
    assert_eq!(jwks_kids(&idp).await, [new_kid]);
}

#[tokio::test]
async fn a_rotation_never_brings_back_a_key_that_signed_and_says_when_none_is_left() {
    let idp = Idp::start().await;
    let mut kids = Vec::new();
    for _ in 0..3 {
        idp.idp.inject(Fault::rotate_signing_key(0)).unwrap();
        kids.push(idp.last_event("keys.rotated").data["kid"].clone());
    }
    kids.dedup();
    assert_eq!(kids.len(), 3, "three different spare EC keys");
    let error = idp.idp.inject(Fault::rotate_signing_key(0)).unwrap_err();
    assert_eq!(error.code, "control.conflict");
    // A reset brings the fixture's keys back, and the spares with them.
    idp.idp.reset();
    idp.idp.inject(Fault::rotate_signing_key(0)).unwrap();
}

#[tokio::test]
async fn a_scheduled_action_happens_when_the_mock_clock_reaches_it() {
    let clock = mock_idp::Clock::fixed(datetime!(2026-01-01 09:00 UTC));
    let idp = Idp::start_with(
        MockIdp::builder()
            .clock(clock)
            .fault(Fault::revoke_grants("alice@example.com").at(datetime!(2026-01-01 10:00 UTC))),
    )
    .await;
    let alice = tokens(&idp).await;
    let access = alice["access_token"].as_str().unwrap();
    idp.idp.advance_clock(Duration::from_secs(30 * 60));
    assert_eq!(idp.userinfo(access).await.status, 200);
    assert_eq!(idp.idp.faults().len(), 1);
    // The mock clock moved by a test (not through the control plane): the next request applies it.
    idp.idp.clock().advance(Duration::from_secs(30 * 60));
    idp.userinfo(access)
        .await
        .assert_oidc_error(401, "invalid_token");
    assert!(idp.idp.faults().is_empty());
}

#[tokio::test]
async fn a_probability_fault_fails_the_same_requests_in_a_replay() {
    async fn run() -> Vec<u16> {
        let idp = Idp::start_with(
            MockIdp::builder()
                .seed(11)
                .fault(Fault::UserinfoUnauthorized.with_probability(0.5)),
        )
        .await;
        let access = tokens(&idp).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut statuses = Vec::new();
        for _ in 0..16 {
            statuses.push(idp.userinfo(&access).await.status);
        }
        statuses
    }
    let first = run().await;
    assert!(first.contains(&200) && first.contains(&401), "{first:?}");
    assert_eq!(run().await, first);
}

#[tokio::test]
async fn a_scenarios_postmark_faults_are_queued_on_the_own_fake_and_again_after_a_reset() {
    let scenario = mock_idp::Scenario::from_json(
        r#"{"postmark_faults": [{"Count": 1, "Status": 503, "ErrorCode": 100}]}"#,
    )
    .unwrap();
    let idp = MockIdp::builder().scenario(scenario).start().await.unwrap();
    let pending = || idp.postmark().unwrap().pending_faults().len();
    assert_eq!(pending(), 1);
    idp.postmark().unwrap().clear_faults();
    idp.reset();
    assert_eq!(
        pending(),
        1,
        "the scenario's Postmark fault is queued again"
    );
    let shared = mock_idp::FakePostmark::start().await.unwrap();
    let refused = MockIdp::builder()
        .postmark(&shared)
        .scenario(
            mock_idp::Scenario::from_json(
                r#"{"postmark_faults": [{"Count": 1, "Status": 503, "ErrorCode": 100}]}"#,
            )
            .unwrap(),
        )
        .start()
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("postmark_faults"), "{refused}");
}

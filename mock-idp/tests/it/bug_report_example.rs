use std::time::Duration;

use mock_idp::{Agent, MockIdp, Scenario};
use serde_json::Value;

/// The report: "Alice signed in at 9:00; at 9:30 an admin revoked her access in Logto's
/// console; our app kept using her access token." As a scenario file:
const BUG_REPORT: &str = r#"{
  "seed": 42,
  "clock": "2026-03-02T09:00:00Z",
  "faults": [
    { "kind": "revoke_grants", "user": "alice@example.com", "at": "2026-03-02T09:30:00Z" }
  ]
}"#;

#[tokio::test]
async fn alices_access_token_stops_working_when_her_grant_is_revoked() {
    let scenario = Scenario::from_json(BUG_REPORT).unwrap(); // or Scenario::from_file("bug.json")
    let idp = MockIdp::builder().scenario(scenario).start().await.unwrap();
    let agent = Agent::new();
    let to_logto = agent.get(&idp.sign_in_url()).await;
    let back = agent
        .sign_in_with_email_code(&idp, &to_logto, "alice@example.com")
        .await;
    let client = idp.client();
    let http = reqwest::Client::new();
    let tokens: Value = http
        .post(idp.token_endpoint())
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &back.location_param("code").unwrap()),
            ("redirect_uri", &client.redirect_uris[0]),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = tokens["access_token"].as_str().unwrap();
    let userinfo = || {
        http.get(idp.userinfo_endpoint())
            .bearer_auth(access_token)
            .send()
    };
    assert_eq!(userinfo().await.unwrap().status(), 200);

    idp.advance_clock(Duration::from_secs(30 * 60)); // 9:30: the admin revokes Alice's access
    assert_eq!(userinfo().await.unwrap().status(), 401); // what your app must cope with
}

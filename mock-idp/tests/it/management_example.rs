use mock_idp::MockIdp;
use serde_json::Value;

#[tokio::test]
async fn a_backend_reads_alice_through_the_management_api() {
    let idp = MockIdp::start().await.unwrap();
    let http = reqwest::Client::new();

    // What a backend does with Logto: client credentials for the Management API, scope `all`.
    let app = idp.machine_to_machine_app().unwrap();
    let token: Value = http
        .post(idp.token_endpoint())
        .basic_auth(&app.id, app.secret.as_deref())
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", MockIdp::MANAGEMENT_API),
            ("scope", "all"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let users: Value = http
        .get(format!("{}/api/users?search=%25alice%25", idp.base_url()))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users[0]["primaryEmail"], "alice@example.com");
}

//! The front door: the client an app signs in with, the inbox and codes, where mail goes, and
//! what a panicking test is left with.

use std::path::PathBuf;

use mock_idp::tenant::{ApplicationType, Tenant};
use mock_idp::{Agent, FakePostmark, MockIdp};

use crate::idp_support::REDIRECT;

/// Alice asks Logto for a code (the pages' first step), without typing it.
async fn ask_for_a_code(idp: &MockIdp, agent: &Agent) {
    let first = agent
        .follow_within(idp.base_url(), agent.get(&idp.sign_in_url()).await)
        .await;
    assert_eq!(first.status, 200, "{first:?}");
    let sent = agent
        .post_form(
            &format!("{}/sign-in", idp.base_url()),
            &[("identifier", "alice@example.com")],
        )
        .await;
    assert_eq!(sent.status, 303, "{sent:?}");
}

#[tokio::test]
async fn the_client_is_the_traditional_app_with_the_builders_redirect_uris() {
    let idp = MockIdp::builder()
        .redirect_uri("http://localhost:4000/callback")
        .post_logout_redirect_uri("http://localhost:4000/")
        .start()
        .await
        .unwrap();
    let client = idp.client();
    let fixture = crate::idp_support::fixture_app();
    assert_eq!(client.id, fixture.id);
    assert_eq!(Some(client.secret.clone()), fixture.secret);
    assert_eq!(
        client.redirect_uris,
        ["http://localhost:4000/callback", REDIRECT],
        "the test's own callback first"
    );
    assert!(
        idp.sign_in_url()
            .contains("redirect_uri=http%3A%2F%2Flocalhost%3A4000%2Fcallback")
    );
    assert!(
        client
            .post_logout_redirect_uris
            .contains(&"http://localhost:4000/".to_owned())
    );
    let shown = format!("{client:?}");
    assert!(!shown.contains(&client.secret), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

#[tokio::test]
async fn a_tenant_without_a_traditional_app_does_not_start() {
    let mut tenant = Tenant::fixture().unwrap();
    for app in &mut tenant.applications {
        app.app_type = ApplicationType::Spa;
        app.secret = None;
    }
    let error = MockIdp::builder()
        .tenant(tenant)
        .redirect_uri("http://localhost:4000/callback")
        .start()
        .await
        .expect_err("no client to register the redirect URI on");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        error.to_string().contains("no traditional web application"),
        "{error}"
    );
}

#[tokio::test]
async fn the_sign_in_url_is_an_authorization_request_for_the_client() {
    let idp = MockIdp::start().await.unwrap();
    let url = reqwest::Url::parse(&idp.sign_in_url()).unwrap();
    assert!(
        url.as_str()
            .starts_with(&format!("{}?", idp.authorization_endpoint()))
    );
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("client_id"), Some(idp.client().id.clone()));
    assert_eq!(param("redirect_uri").as_deref(), Some(REDIRECT));
    assert_eq!(param("interaction_mode"), None);
    let sign_up = reqwest::Url::parse(&idp.sign_up_url()).unwrap();
    assert!(sign_up.query().unwrap().contains("interaction_mode=signUp"));
    let to_register = Agent::new().get(&idp.sign_up_url()).await;
    assert!(
        to_register.location().contains("/register?"),
        "{to_register:?}"
    );
}

#[tokio::test]
async fn code_for_waits_for_the_next_code_and_latest_code_reads_the_newest() {
    let idp = MockIdp::start().await.unwrap();
    assert_eq!(idp.latest_code("alice@example.com"), None);
    ask_for_a_code(&idp, &Agent::new()).await;
    let first = idp.code_for("alice@example.com").await.unwrap();
    assert_eq!(
        idp.latest_code("alice@example.com").as_deref(),
        Some(&*first)
    );
    ask_for_a_code(&idp, &Agent::new()).await;
    let second = idp.code_for("alice@example.com").await.unwrap();
    assert_ne!(first, second, "the next code, not the one returned before");
    assert_eq!(idp.latest_code("alice@example.com"), Some(second));
    let error = idp
        .code_for("alice@example.com")
        .timeout(std::time::Duration::from_millis(50))
        .await
        .expect_err("no third mail");
    assert!(
        error.to_string().contains("no email to alice@example.com"),
        "{error}"
    );
}

#[tokio::test]
async fn an_idp_given_a_fake_postmark_sends_through_it() {
    let postmark = FakePostmark::start().await.unwrap();
    let idp = MockIdp::builder()
        .postmark(&postmark)
        .start()
        .await
        .unwrap();
    assert!(idp.postmark().is_none(), "it started no fake of its own");
    assert_eq!(idp.postmark_url(), postmark.base_url());
    ask_for_a_code(&idp, &Agent::new()).await;
    let code = idp.code_for("alice@example.com").await.unwrap();
    let mail = postmark.inbox().latest_to("alice@example.com").unwrap();
    assert_eq!(mail.code(), Some(code.as_str()));
}

#[tokio::test]
async fn a_base_url_in_the_tenants_connector_is_where_mail_goes() {
    let postmark = FakePostmark::start().await.unwrap();
    let mut tenant = Tenant::fixture().unwrap();
    let connector = tenant
        .connectors
        .iter_mut()
        .find(|c| c.connector_id == "postmark-mail")
        .unwrap();
    connector.config["baseUrl"] = postmark.base_url().into();
    let idp = MockIdp::builder().tenant(tenant).start().await.unwrap();
    assert!(
        idp.postmark().is_none(),
        "no fake of its own to send nothing to"
    );
    assert_eq!(idp.postmark_url(), postmark.base_url());
    ask_for_a_code(&idp, &Agent::new()).await;
    let mail = postmark
        .inbox()
        .wait_for("alice@example.com")
        .await
        .unwrap();
    assert_eq!(mail.template_alias(), Some("logto-sign-in"));
}

#[tokio::test]
#[should_panic(expected = "keeps no inbox")]
async fn an_idp_sending_to_an_external_postmark_has_no_inbox_and_says_so() {
    let idp = MockIdp::builder()
        .external_postmark("http://127.0.0.1:9")
        .start()
        .await
        .unwrap();
    idp.inbox();
}

/// `target/mock-idp-artifacts`, where this binary's tests leave their artifacts.
fn artifacts_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("mock-idp-artifacts")
}

#[test]
fn a_panicking_test_leaves_the_event_log_and_the_mail() {
    let name = "front_door::a_test_that_panics";
    let dir = artifacts_root()
        .join("it")
        .join("front_door-a_test_that_panics");
    let _ = std::fs::remove_dir_all(&dir);
    // A test of its own, on a thread named as libtest names them.
    let outcome = std::thread::Builder::new()
        .name(name.into())
        .spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let idp = MockIdp::start().await.unwrap();
                ask_for_a_code(&idp, &Agent::new()).await;
                idp.code_for("alice@example.com").await.unwrap();
                panic!("a deliberate failure");
            })
        })
        .unwrap()
        .join();
    assert!(outcome.is_err(), "the test panicked");
    let events: Vec<mock_idp::Event> = std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"verification_code.sent"), "{kinds:?}");
    // What the printed replay command loads: the seed and the instant the run started at.
    let scenario = mock_idp::Scenario::from_file(dir.join("scenario.json")).unwrap();
    assert_eq!(scenario.seed, Some(mock_idp::DEFAULT_SEED));
    assert!(scenario.clock.is_some());
    let emails: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("emails.json")).unwrap()).unwrap();
    assert_eq!(emails[0]["To"][0]["Email"], "alice@example.com", "{emails}");
    assert!(emails[0]["Code"].is_string(), "{emails}");
}

#[tokio::test]
async fn an_idp_on_several_worker_threads_signs_concurrent_users_in() {
    for workers in [0, 2] {
        let idp = MockIdp::builder()
            .worker_threads(workers)
            .start()
            .await
            .unwrap();
        let sign_in = |email: &'static str| {
            let idp = &idp;
            async move {
                let agent = Agent::new();
                let to_logto = agent.get(&idp.sign_in_url()).await;
                agent.sign_in_with_email_code(idp, &to_logto, email).await
            }
        };
        let (alice, bob) = tokio::join!(sign_in("alice@example.com"), sign_in("bob@example.com"));
        for back in [alice, bob] {
            assert!(back.location_param("code").is_some(), "{back:?}");
        }
    }
}

#[test]
fn the_handles_a_test_shares_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<MockIdp>();
    shared::<FakePostmark>();
    shared::<Agent>();
    shared::<mock_idp::Inbox>();
}

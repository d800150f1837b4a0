//! The harness itself: a failing journey leaves its artifacts and no browser behind; a missing
//! driver is a clear failure, not a skip.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use e2e::journey;
use mock_idp::MockIdp;
use mock_idp::browser::{Browser, BrowserConfig, BrowserError, live_processes_in_group};

#[tokio::test]
async fn a_failing_journey_leaves_artifacts_and_no_browser_process() {
    let group = Arc::new(Mutex::new(None));
    let seen = group.clone();
    let failure = journey::try_run(MockIdp::builder(), |j| async move {
        *seen.lock().unwrap() = j.browser.driver_process_group();
        j.browser.goto(&j.stack.app_url("/")).await;
        j.browser
            .wait_for_text("#status", "Not authenticated")
            .await;
        panic!("a deliberate failure");
    })
    .await
    .expect_err("the journey fails");

    let message = failure.panic.downcast_ref::<&str>().copied();
    assert_eq!(message, Some("a deliberate failure"));
    let dir: PathBuf = failure.artifacts;
    assert!(
        dir.ends_with(
            "mock-idp-artifacts/e2e/browser-harness-a_failing_journey_leaves_artifacts_and_no_browser_process"
        ),
        "{}",
        dir.display()
    );
    let why = std::fs::read_to_string(dir.join("failure.txt")).unwrap();
    assert_eq!(why, "a deliberate failure");
    let png = std::fs::read(dir.join("screenshot.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    let html = std::fs::read_to_string(dir.join("page.html")).unwrap();
    assert!(html.contains(r#"id="status""#), "the page's HTML");
    let url = std::fs::read_to_string(dir.join("url.txt")).unwrap();
    assert!(url.starts_with("http://localhost:"), "{url}");
    // Written by the mock Logto, dropped by the panic: what it saw of the visit to the app.
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    for line in events.lines() {
        let event: mock_idp::Event = serde_json::from_str(line).unwrap();
        assert!(event.seq > 0, "{line}");
    }
    assert!(dir.join("scenario.json").is_file(), "the replay's scenario");
    let emails: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("emails.json")).unwrap()).unwrap();
    assert_eq!(emails, serde_json::json!([]));

    // chromedriver's process group (Chromium included) is gone once the journey returns.
    let group = group.lock().unwrap().expect("a chromedriver of our own");
    assert_eq!(live_processes_in_group(group), Vec::<u32>::new());
}

#[tokio::test]
async fn a_missing_chromedriver_is_an_error_that_says_what_to_install() {
    let config = BrowserConfig {
        chromedriver: Some("/nonexistent/chromedriver".into()),
        webdriver_url: None,
        ..BrowserConfig::from_env()
    };
    let error = Browser::start_with(config)
        .await
        .expect_err("no driver there");
    assert!(matches!(error, BrowserError::NotFound(_)), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("/nonexistent/chromedriver"), "{text}");
    assert!(
        text.contains("apt-get install -y chromium chromium-driver"),
        "{text}"
    );
}

#[tokio::test]
async fn a_refused_sign_in_fails_with_logtos_reason_the_fix_and_the_tests_line() {
    let idp = std::sync::Arc::new(MockIdp::start().await.unwrap());
    let browser = Browser::start().await.unwrap();
    // An app whose callback was never registered.
    let url = idp.sign_in_url().replace("3000", "4000");
    let failure = browser
        .try_run(move |browser| async move {
            browser.goto(&url).await;
            browser
                .sign_in_with_email_code(&idp, "alice@example.com")
                .await;
        })
        .await
        .expect_err("Logto refuses the request");
    let message = failure.panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("redirect_uri"), "{message}");
    assert!(
        message.contains("MockIdp::builder().redirect_uri"),
        "{message}"
    );
    assert!(
        message.contains(&format!("at {}:", file!())),
        "names the test's line: {message}"
    );
    assert!(failure.artifacts.join("screenshot.png").is_file());
}

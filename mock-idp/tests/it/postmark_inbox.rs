//! The Rust inbox: waits by sequence, never a message twice, failures that explain themselves.

use std::collections::HashSet;
use std::future::IntoFuture as _;
use std::time::Duration;

use mock_idp::postmark::WaitEnd;
use serde_json::json;

use crate::support::{Api, PostmarkAssert, plain};

/// A wait short enough for "nothing will come" cases (real time; nothing sleeps).
const SHORT: Duration = Duration::from_millis(200);

fn with_code(to: &str, code: &str) -> serde_json::Value {
    let mut message = plain(to);
    message["TextBody"] = json!(format!("Your code is {code}."));
    message["HtmlBody"] = serde_json::Value::Null;
    message
}

#[tokio::test]
async fn a_mail_delivered_before_the_wait_is_found() {
    let api = Api::start().await;
    api.post("/email", &with_code("alice@example.com", "111111"))
        .await
        .assert_sent();
    let mail = api
        .postmark
        .inbox()
        .wait_for("alice@example.com")
        .await
        .unwrap();
    assert_eq!(mail.code(), Some("111111"));

    // "As long as it takes" is a timeout too, not an overflow.
    api.post("/email", &with_code("alice@example.com", "121212"))
        .await
        .assert_sent();
    let mail = api
        .postmark
        .inbox()
        .wait_for("alice@example.com")
        .timeout(Duration::MAX)
        .await
        .unwrap();
    assert_eq!(mail.code(), Some("121212"));
}

#[tokio::test]
async fn a_wait_resolves_when_the_mail_arrives() {
    let api = Api::start().await;
    let waiting = tokio::spawn(
        api.postmark
            .inbox()
            .wait_for("alice@example.com")
            .into_future(),
    );
    api.post("/email", &with_code("alice@example.com", "222222"))
        .await
        .assert_sent();
    let mail = waiting.await.unwrap().unwrap();
    assert_eq!(mail.code(), Some("222222"));
}

#[tokio::test]
async fn consecutive_waits_never_return_the_same_message() {
    let api = Api::start().await;
    let inbox = api.postmark.inbox();
    api.post("/email", &with_code("alice@example.com", "111111"))
        .await
        .assert_sent();
    api.post("/email", &with_code("alice@example.com", "222222"))
        .await
        .assert_sent();

    let first = inbox.wait_for("alice@example.com").await.unwrap();
    let second = api
        .postmark
        .inbox()
        .wait_for("alice@example.com")
        .await
        .unwrap();
    assert_eq!(
        (first.code(), second.code()),
        (Some("111111"), Some("222222"))
    );

    let third = inbox
        .wait_for("alice@example.com")
        .timeout(SHORT)
        .await
        .unwrap_err();
    assert_eq!(third.end, WaitEnd::TimedOut);
    assert_eq!(
        third.after,
        second.seq(),
        "the next wait starts after what was returned"
    );
}

#[tokio::test]
async fn after_a_cursor_older_mail_is_ignored() {
    let api = Api::start().await;
    let inbox = api.postmark.inbox();
    api.post("/email", &with_code("alice@example.com", "111111"))
        .await
        .assert_sent();
    let cursor = inbox.cursor();
    api.post("/email", &with_code("alice@example.com", "222222"))
        .await
        .assert_sent();

    let mail = inbox
        .wait_for("alice@example.com")
        .after(cursor)
        .await
        .unwrap();
    assert_eq!(mail.code(), Some("222222"));
    let none = inbox
        .wait_for("alice@example.com")
        .after(mail.seq())
        .timeout(SHORT)
        .await;
    assert!(none.is_err());
}

#[tokio::test]
async fn a_timeout_lists_what_did_arrive() {
    let api = Api::start().await;
    let inbox = api.postmark.inbox();
    api.post("/email", &with_code("bob@example.com", "333333"))
        .await
        .assert_sent();

    let error = inbox
        .wait_for("alice@example.com")
        .timeout(SHORT)
        .await
        .unwrap_err();
    assert_eq!(error.end, WaitEnd::TimedOut);
    assert_eq!(error.arrived.len(), 1);
    let shown = error.to_string();
    assert!(
        shown.contains("no email to alice@example.com after #0"),
        "{shown}"
    );
    assert!(shown.contains("to=bob@example.com"), "{shown}");
    assert!(shown.contains("code=333333"), "{shown}");
}

#[tokio::test]
async fn addresses_match_any_case_on_to_cc_and_bcc() {
    let api = Api::start().await;
    let inbox = api.postmark.inbox();
    let mut message = with_code("Someone <someone@example.com>", "444444");
    message["Cc"] = json!("Carol <Carol@Example.com>");
    message["Bcc"] = json!("dave@example.com");
    api.post("/email", &message).await.assert_sent();

    for address in [
        "SOMEONE@example.com",
        "carol@example.com",
        "Dave@Example.COM",
    ] {
        let mail = inbox.wait_for(address).await.unwrap();
        assert_eq!(mail.code(), Some("444444"), "{address}");
    }
    assert!(inbox.latest_to("carol@EXAMPLE.com").is_some());
    assert!(inbox.latest_to("nobody@example.com").is_none());
}

#[tokio::test]
async fn an_address_written_with_a_display_name_matches_too() {
    let api = Api::start().await;
    api.post("/email", &with_code("bob@example.com", "121212"))
        .await
        .assert_sent();
    let inbox = api.postmark.inbox();
    assert!(inbox.latest_to("Bob <bob@example.com>").is_some());
    let mail = inbox.wait_for("Bob <BOB@example.com>").await.unwrap();
    assert_eq!(mail.code(), Some("121212"));
}

#[tokio::test]
async fn latest_to_is_the_newest_for_that_address() {
    let api = Api::start().await;
    for code in ["111111", "222222"] {
        api.post("/email", &with_code("alice@example.com", code))
            .await
            .assert_sent();
    }
    api.post("/email", &with_code("bob@example.com", "999999"))
        .await
        .assert_sent();
    let latest = api.postmark.inbox().latest_to("alice@example.com").unwrap();
    assert_eq!(latest.code(), Some("222222"));
}

#[tokio::test]
async fn clearing_forgets_mail_but_sequence_numbers_keep_growing() {
    let api = Api::start().await;
    let inbox = api.postmark.inbox();
    api.post("/email", &with_code("alice@example.com", "111111"))
        .await
        .assert_sent();
    let before = inbox.cursor();
    inbox.clear();
    assert!(inbox.messages().is_empty());
    assert_eq!(inbox.cursor(), before, "the cursor survives a clear");
    api.post("/email", &with_code("alice@example.com", "222222"))
        .await
        .assert_sent();
    let mail = inbox.wait_for("alice@example.com").await.unwrap();
    assert_eq!(mail.seq(), before + 1);
    assert_eq!(mail.code(), Some("222222"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_waiters_each_get_exactly_their_own_message() {
    let api = Api::start().await;
    let inbox = api.postmark.inbox();
    let mut waiters = tokio::task::JoinSet::new();
    for i in 0..200 {
        let wait = inbox.wait_for(format!("user{i}@example.com"));
        waiters.spawn(async move { (i, wait.await) });
    }
    // Interleave: two batches of 100, in reverse order, so arrival order differs from waiting order.
    for half in [
        (100..200).rev().collect::<Vec<_>>(),
        (0..100).rev().collect(),
    ] {
        let messages: Vec<_> = half
            .iter()
            .map(|i| {
                with_code(
                    &format!("user{i}@example.com"),
                    &format!("{:06}", 100_000 + i),
                )
            })
            .collect();
        let results = api.post("/email/batch", &json!(messages)).await.json();
        assert!(
            results
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["ErrorCode"] == 0)
        );
    }
    let mut seen = HashSet::new();
    while let Some(joined) = waiters.join_next().await {
        let (i, mail) = joined.unwrap();
        let mail = mail.unwrap();
        assert!(mail.is_addressed_to(&format!("user{i}@example.com")));
        assert_eq!(mail.code(), Some(format!("{:06}", 100_000 + i).as_str()));
        assert!(
            seen.insert(mail.seq()),
            "message #{} returned twice",
            mail.seq()
        );
    }
    assert_eq!(seen.len(), 200);
}

#[tokio::test]
async fn concurrent_waits_for_one_address_share_out_the_messages() {
    let api = Api::start().await;
    let inbox = api.postmark.inbox();
    let a = tokio::spawn(inbox.wait_for("alice@example.com").into_future());
    let b = tokio::spawn(inbox.wait_for("alice@example.com").into_future());
    for code in ["111111", "222222"] {
        api.post("/email", &with_code("alice@example.com", code))
            .await
            .assert_sent();
    }
    let mut codes = [
        a.await.unwrap().unwrap().code().unwrap().to_owned(),
        b.await.unwrap().unwrap().code().unwrap().to_owned(),
    ];
    codes.sort();
    assert_eq!(codes, ["111111", "222222"]);
}

#[tokio::test]
async fn dropping_the_fake_ends_pending_waits_and_frees_the_port() {
    let api = Api::start().await;
    let address = api.postmark.address();
    let waiting = tokio::spawn(
        api.postmark
            .inbox()
            .wait_for("alice@example.com")
            .timeout(Duration::from_secs(3600))
            .into_future(),
    );
    tokio::task::yield_now().await;
    drop(api);

    let error = waiting.await.unwrap().unwrap_err();
    assert_eq!(error.end, WaitEnd::ShutDown);
    std::net::TcpListener::bind(address).expect("the port is free once drop returns");
}

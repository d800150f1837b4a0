//! The Messages API: search with paging and every filter, details, dump, the legacy path.

use std::time::Duration;

use mock_idp::{Clock, FakePostmark};
use postmark::Query;
use postmark::api::messages::{OutboundDumpRequest, OutboundSearchRequest};
use serde_json::{Value, json};
use time::macros::datetime;

use crate::support::{Api, CrateClient, PostmarkAssert, plain, templated};

/// Five messages over three days, with different senders, tags, streams and metadata.
async fn seeded() -> Api {
    let clock = Clock::fixed(datetime!(2026-03-01 10:00 UTC));
    let api = Api::start_with(FakePostmark::builder().clock(clock.clone())).await;
    let day = Duration::from_secs(24 * 3600);
    let mut one = plain("Alice <alice@example.com>");
    one["Tag"] = json!("otp");
    one["Metadata"] = json!({"tenant": "t1"});
    api.send(&one).await;
    let mut two = plain("bob@example.com");
    two["Cc"] = json!("alice@example.com");
    two["From"] = json!("other@example.org");
    two["Subject"] = json!("Weekly News");
    two["MessageStream"] = json!("broadcast");
    api.send(&two).await;
    clock.advance(day);
    api.post(
        "/email/withTemplate",
        &templated("carol@example.com", "123456"),
    )
    .await
    .assert_sent();
    clock.advance(day);
    let mut four = plain("dave@example.com");
    four["Tag"] = json!("otp");
    four["Metadata"] = json!({"tenant": "t2"});
    api.send(&four).await;
    let mut five = plain("erin@example.com");
    five["Attachments"] =
        json!([{"Name": "a.txt", "Content": "aGk=", "ContentType": "text/plain"}]);
    five["TrackLinks"] = json!("HtmlOnly");
    api.send(&five).await;
    api
}

fn first_recipients(result: &Value) -> Vec<String> {
    result["Messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["To"][0]["Email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_needs_count_and_offset() {
    let api = Api::start().await;
    api.get_authed("/messages/outbound")
        .await
        .assert_error(422, 700);
    api.get_authed("/messages/outbound?count=10")
        .await
        .assert_error(422, 700);
    api.get_authed("/messages/outbound?count=501&offset=0")
        .await
        .assert_error(422, 700);
    api.get_authed("/messages/outbound?count=500&offset=9600")
        .await
        .assert_error(422, 700);
    // An offset near u64::MAX must not overflow the window check.
    api.get_authed("/messages/outbound?count=1&offset=18446744073709551615")
        .await
        .assert_error(422, 700);
    api.get_authed("/messages/outbound?count=1&offset=0&status=lost")
        .await
        .assert_error(422, 700);
    api.get_authed("/messages/outbound?count=1&offset=0&fromdate=yesterday")
        .await
        .assert_error(422, 700);
}

#[tokio::test]
async fn search_pages_newest_first_in_postmarks_item_shape() {
    let api = seeded().await;
    let all = api
        .get_authed("/messages/outbound?count=100&offset=0")
        .await
        .json();
    assert_eq!(all["TotalCount"], 5);
    assert_eq!(
        first_recipients(&all),
        [
            "erin@example.com",
            "dave@example.com",
            "carol@example.com",
            "bob@example.com",
            "alice@example.com"
        ]
    );
    let page = api
        .get_authed("/messages/outbound?count=2&offset=1")
        .await
        .json();
    assert_eq!(page["TotalCount"], 5);
    assert_eq!(
        first_recipients(&page),
        ["dave@example.com", "carol@example.com"]
    );

    let item = &all["Messages"][4];
    let keys: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Tag",
            "MessageID",
            "MessageStream",
            "To",
            "Cc",
            "Bcc",
            "Recipients",
            "ReceivedAt",
            "From",
            "Subject",
            "Attachments",
            "Status",
            "TrackOpens",
            "TrackLinks",
            "Metadata",
            "Sandboxed"
        ]
    );
    assert_eq!(
        item["To"],
        json!([{"Email": "alice@example.com", "Name": "Alice"}])
    );
    assert_eq!(item["Status"], "Sent");
    assert_eq!(item["TrackLinks"], "None");
    assert_eq!(item["Metadata"], json!({"tenant": "t1"}));
    assert_eq!(item["ReceivedAt"], "2026-03-01T10:00:00.0000000Z");
    let erin = &all["Messages"][0];
    assert_eq!(erin["Attachments"], json!(["a.txt"]));
    assert_eq!(erin["TrackLinks"], "HtmlOnly");
    assert_eq!(erin["Metadata"], json!({}));
    let bob = &all["Messages"][3];
    assert_eq!(
        bob["Recipients"],
        json!(["bob@example.com", "alice@example.com"])
    );
}

#[tokio::test]
async fn search_filters_by_every_field() {
    let api = seeded().await;
    let search = |query: &'static str| {
        let api = &api;
        async move {
            let result = api
                .get_authed(&format!("/messages/outbound?count=50&offset=0&{query}"))
                .await
                .json();
            first_recipients(&result)
        }
    };
    assert_eq!(
        search("recipient=ALICE@example.com").await,
        ["bob@example.com", "alice@example.com"]
    );
    assert_eq!(
        search("fromemail=other@example.org").await,
        ["bob@example.com"]
    );
    assert_eq!(
        search("FromEmail=other@example.org").await,
        ["bob@example.com"],
        "any case"
    );
    assert_eq!(
        search("tag=otp").await,
        ["dave@example.com", "alice@example.com"]
    );
    assert_eq!(search("subject=weekly").await, ["bob@example.com"]);
    assert_eq!(search("messagestream=broadcast").await, ["bob@example.com"]);
    assert_eq!(search("metadata_tenant=t2").await, ["dave@example.com"]);
    assert_eq!(search("status=sent").await.len(), 5);
    assert!(search("status=queued").await.is_empty());
    assert_eq!(
        search("fromdate=2026-03-02").await,
        ["erin@example.com", "dave@example.com", "carol@example.com"]
    );
    assert_eq!(
        search("todate=2026-03-02").await,
        ["carol@example.com", "bob@example.com", "alice@example.com"]
    );
    assert_eq!(
        search("fromdate=2026-03-02&todate=2026-03-02").await,
        ["carol@example.com"]
    );
    assert_eq!(
        search("fromdate=2026-03-03T09:59:59Z&tag=otp").await,
        ["dave@example.com"],
        "filters combine"
    );
}

#[tokio::test]
async fn details_dump_and_the_legacy_path_show_one_message() {
    let api = seeded().await;
    let carol = api
        .get_authed("/messages/outbound?count=1&offset=0&recipient=carol@example.com")
        .await
        .json();
    let id = carol["Messages"][0]["MessageID"]
        .as_str()
        .unwrap()
        .to_owned();

    let details = api
        .get_authed(&format!("/messages/outbound/{id}/details"))
        .await
        .json();
    assert_eq!(details["MessageID"], id);
    assert!(details["HtmlBody"].as_str().unwrap().contains("123456"));
    assert!(details["TextBody"].as_str().unwrap().contains("123456"));
    assert_eq!(details["MessageEvents"][0]["Type"], "Delivered");
    assert_eq!(
        details["MessageEvents"][0]["Recipient"],
        "carol@example.com"
    );
    let raw = details["Body"].as_str().unwrap();
    assert!(
        raw.contains("Subject: 123456 is your sign-in code\r\n"),
        "{raw}"
    );
    assert!(raw.contains("Content-Type: multipart/alternative"), "{raw}");

    let legacy = api
        .get_authed(&format!("/messages/outbound/{id}"))
        .await
        .json();
    assert_eq!(
        legacy, details,
        "postmark.js 4.0.6 and older read details here"
    );
    let dump = api
        .get_authed(&format!("/messages/outbound/{id}/dump"))
        .await
        .json();
    assert_eq!(dump["Body"], details["Body"]);

    for path in [
        "/messages/outbound/nope/details",
        "/messages/outbound/nope",
        "/messages/outbound/nope/dump",
    ] {
        api.get_authed(path).await.assert_error(422, 701);
    }
}

#[tokio::test]
async fn the_raw_source_encodes_non_ascii_headers_and_carries_attachments() {
    let api = Api::start().await;
    let mut message = plain("Zoë <zoe@example.com>");
    message["Subject"] = json!("Ünïcode subject");
    message["Attachments"] =
        json!([{"Name": "hello.txt", "Content": "aGVsbG8=", "ContentType": "text/plain"}]);
    message["Headers"] = json!([
        {"Name": "X-Forged\r\nBcc: victim@example.com", "Value": "1"},
        {"Name": "\r\n", "Value": "dropped"},
    ]);
    let id = api.send(&message).await["MessageID"]
        .as_str()
        .unwrap()
        .to_owned();
    let dump = api
        .get_authed(&format!("/messages/outbound/{id}/dump"))
        .await
        .json();
    let raw = dump["Body"].as_str().unwrap();
    assert!(raw.is_ascii(), "headers are encoded words: {raw}");
    assert!(raw.contains("Subject: =?UTF-8?B?"), "{raw}");
    assert!(
        raw.contains("To: =?UTF-8?B?Wm/Dqw==?= <zoe@example.com>"),
        "{raw}"
    );
    assert!(raw.contains("Content-Type: multipart/mixed"), "{raw}");
    // A header name sent with a line break cannot add lines of its own.
    assert!(
        raw.contains("\r\nX-ForgedBccvictim@example.com: 1\r\n"),
        "{raw}"
    );
    assert!(!raw.contains("\nBcc:") && !raw.contains("dropped"), "{raw}");
    assert!(raw.contains("Content-Disposition: attachment; filename=\"hello.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"), "{raw}");
}

#[tokio::test]
async fn the_postmark_crate_searches_and_dumps() {
    // Its details type reads `To` as a string where Postmark sends [{Email, Name}], so details
    // are read with our own request above; search and dump go through the crate.
    let api = seeded().await;
    let client = CrateClient::new(&api, api.postmark.server_token());
    let search = OutboundSearchRequest::builder()
        .count(2)
        .offset(0)
        .tag("otp".to_owned())
        .build();
    let found = search.execute(&client).await.unwrap();
    assert_eq!(found.total_count, 2);
    assert_eq!(found.messages[0].status.as_deref(), Some("Sent"));
    assert_eq!(found.messages[0].tag.as_deref(), Some("otp"));

    let dump = OutboundDumpRequest::new(found.messages[0].message_id.clone())
        .execute(&client)
        .await
        .unwrap();
    assert!(dump.body.contains("To: dave@example.com"), "{}", dump.body);
}

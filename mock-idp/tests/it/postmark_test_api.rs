//! The /_inbox/ test API over HTTP: list, latest, the long-poll wait, clear, events.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Api, PostmarkAssert, plain};

fn with_code(to: &str, code: &str) -> Value {
    let mut message = plain(to);
    message["TextBody"] = json!(format!("Your code is {code}."));
    message["HtmlBody"] = Value::Null;
    message
}

#[tokio::test]
async fn the_list_carries_seq_and_code_and_filters() {
    let api = Api::start().await;
    api.send(&with_code("alice@example.com", "111111")).await;
    let mut tagged = with_code("bob@example.com", "222222");
    tagged["Tag"] = json!("otp");
    api.send(&tagged).await;
    api.post(
        "/email/withTemplate",
        &crate::support::templated("carol@example.com", "333333"),
    )
    .await
    .assert_sent();

    let all = api.get("/_inbox/messages").await.json();
    assert_eq!(all["Cursor"], 3);
    let first = &all["Messages"][0];
    assert_eq!(first["Seq"], 1);
    assert_eq!(first["Code"], "111111");
    assert_eq!(
        first["To"],
        json!([{"Email": "alice@example.com", "Name": null}])
    );
    let codes = |v: &Value| -> Vec<String> {
        v["Messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        codes(&api.get("/_inbox/messages?to=BOB@example.com").await.json()),
        ["222222"]
    );
    assert_eq!(
        codes(&api.get("/_inbox/messages?after=1").await.json()),
        ["222222", "333333"]
    );
    assert_eq!(
        codes(&api.get("/_inbox/messages?tag=otp").await.json()),
        ["222222"]
    );
    assert_eq!(
        codes(
            &api.get("/_inbox/messages?template=logto-sign-in")
                .await
                .json()
        ),
        ["333333"]
    );
    api.get("/_inbox/messages?after=x")
        .await
        .assert_error(400, 400);
}

#[tokio::test]
async fn latest_is_the_newest_to_a_recipient() {
    let api = Api::start().await;
    api.get("/_inbox/latest").await.assert_error(400, 400);
    api.get("/_inbox/latest?to=alice@example.com")
        .await
        .assert_error(404, 404);
    for code in ["111111", "222222"] {
        api.send(&with_code("alice@example.com", code)).await;
    }
    assert_eq!(
        api.get("/_inbox/latest?to=alice@example.com").await.json()["Code"],
        "222222"
    );
}

#[tokio::test]
async fn a_wait_returns_a_message_delivered_before_the_call() {
    let api = Api::start().await;
    api.send(&with_code("alice@example.com", "111111")).await;
    let mail = api.get("/_inbox/wait?to=alice@example.com").await.json();
    assert_eq!(
        (mail["Seq"].as_u64(), mail["Code"].as_str()),
        (Some(1), Some("111111"))
    );
}

#[tokio::test]
async fn a_wait_answers_when_the_message_arrives() {
    let api = Api::start().await;
    let cursor = api.get("/_inbox/messages").await.json()["Cursor"]
        .as_u64()
        .unwrap();
    let url = api.url(&format!(
        "/_inbox/wait?to=alice@example.com&after={cursor}&timeout_ms=30000"
    ));
    let waiting = tokio::spawn(api.http.get(url).send());
    // The mail goes out while the wait is (most likely) pending; either way the wait must
    // answer with this message, the first after the cursor.
    api.send(&with_code("alice@example.com", "424242")).await;
    let response = waiting.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let mail: Value = response.json().await.unwrap();
    assert_eq!(mail["Code"], "424242");
}

#[tokio::test]
async fn a_wait_never_returns_a_message_at_or_below_after() {
    let api = Api::start().await;
    api.send(&with_code("alice@example.com", "111111")).await;
    api.send(&with_code("alice@example.com", "222222")).await;
    let second = api
        .get("/_inbox/wait?to=alice@example.com&after=1")
        .await
        .json();
    assert_eq!(second["Code"], "222222");
    let reply = api
        .get("/_inbox/wait?to=alice@example.com&after=2&timeout_ms=150")
        .await;
    assert_eq!(reply.status, 408, "{reply:?}");
    assert_eq!(reply.json()["Arrived"], json!([]), "nothing after #2");
}

#[tokio::test]
async fn a_timed_out_wait_is_408_listing_what_did_arrive() {
    let api = Api::start().await;
    api.send(&with_code("bob@example.com", "999999")).await;
    let reply = api
        .get("/_inbox/wait?to=alice@example.com&timeout_ms=100")
        .await;
    assert_eq!(reply.status, 408);
    let body = reply.json();
    assert_eq!(body["ErrorCode"], 408);
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("alice@example.com")
    );
    assert_eq!(body["ArrivedCount"], 1);
    assert_eq!(body["Cursor"], 1);
    assert_eq!(
        body["Arrived"][0],
        json!({"Seq": 1, "To": ["bob@example.com"], "Subject": "Your code", "Code": "999999"})
    );
    api.get("/_inbox/wait?timeout_ms=10")
        .await
        .assert_error(400, 400);
    api.get("/_inbox/wait?to=a@example.com&timeout_ms=999999999")
        .await
        .assert_error(400, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_waits_each_get_their_own_message() {
    let api = Api::start().await;
    let mut waits = tokio::task::JoinSet::new();
    for i in 0..50 {
        let request = api.http.get(api.url(&format!(
            "/_inbox/wait?to=user{i}@example.com&timeout_ms=30000"
        )));
        waits.spawn(async move {
            (
                i,
                request.send().await.unwrap().json::<Value>().await.unwrap(),
            )
        });
    }
    let messages: Vec<Value> = (0..50)
        .map(|i| with_code(&format!("user{i}@example.com"), &format!("{:06}", i)))
        .collect();
    let results = api.post("/email/batch", &json!(messages)).await.json();
    assert_eq!(results.as_array().unwrap().len(), 50);
    while let Some(done) = waits.join_next().await {
        let (i, mail) = done.unwrap();
        assert_eq!(mail["Code"], format!("{:06}", i));
        assert_eq!(mail["To"][0]["Email"], format!("user{i}@example.com"));
    }
}

#[tokio::test]
async fn clearing_forgets_messages_but_sequence_numbers_keep_growing() {
    let api = Api::start().await;
    api.send(&with_code("alice@example.com", "111111")).await;
    let cleared = api
        .call(reqwest::Method::DELETE, "/_inbox/messages", None)
        .await
        .json();
    assert_eq!(cleared, json!({"Cleared": 1, "Cursor": 1}));
    assert_eq!(
        api.get("/_inbox/messages").await.json()["Messages"],
        json!([])
    );
    api.send(&with_code("alice@example.com", "222222")).await;
    let mail = api.get("/_inbox/wait?to=alice@example.com").await.json();
    assert_eq!(
        (mail["Seq"].as_u64(), mail["Code"].as_str()),
        (Some(2), Some("222222"))
    );
}

#[tokio::test]
async fn the_event_stream_announces_new_messages() {
    let api = Api::start().await;
    let mut events = api
        .http
        .get(api.url("/_inbox/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    api.send(&with_code("alice@example.com", "515151")).await;
    let mut seen = String::new();
    while !seen.contains("515151") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), events.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: message"), "{seen}");
    assert!(seen.contains("id: 1"), "{seen}");
}

#[tokio::test]
async fn dropping_the_fake_ends_open_streams_and_pending_waits() {
    let api = Api::start().await;
    let address = api.postmark.address();
    let events = api
        .http
        .get(api.url("/_inbox/events"))
        .send()
        .await
        .unwrap();
    let wait = tokio::spawn(
        api.http
            .get(api.url("/_inbox/wait?to=a@example.com&timeout_ms=120000"))
            .send(),
    );
    // A round trip, so the spawned wait has most likely reached the server before the drop;
    // if it has not, it meets a closed port, which must end it just as promptly.
    api.send(&with_code("b@example.com", "000000")).await;
    let Api { postmark, http } = api;
    let dropping = tokio::task::spawn_blocking(move || drop(postmark));
    let waited = wait.await.unwrap();
    dropping.await.unwrap();

    match waited {
        Ok(response) => {
            assert_eq!(response.status(), 503, "a pending wait ends with 503");
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body,
                json!({"ErrorCode": 503, "Message": "The fake Postmark is shutting down."})
            );
        }
        Err(error) => assert!(error.is_request() || error.is_connect(), "{error}"),
    }
    let mut events = events;
    // The stream ends (or the connection closes) instead of hanging.
    while let Ok(Some(_)) = events.chunk().await {}
    std::net::TcpListener::bind(address).expect("the port is free");
    drop(http);
}

#[tokio::test]
async fn with_thousands_of_messages_the_cursor_and_a_timed_out_wait_stay_small() {
    let api = Api::start().await;
    for batch in 0..4 {
        let messages: Vec<Value> = (0..500)
            .map(|i| with_code(&format!("user{}@example.com", batch * 500 + i), "123456"))
            .collect();
        let reply = api.post("/email/batch", &Value::Array(messages)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    let cursor = api.get("/_inbox/cursor").await;
    assert_eq!(cursor.json(), json!({"Cursor": 2000}));
    assert!(cursor.body.len() < 32, "no message in it: {}", cursor.body);

    let timed_out = api
        .get("/_inbox/wait?to=nobody@example.com&after=0&timeout_ms=1")
        .await;
    assert_eq!(timed_out.status, 408);
    let body = timed_out.json();
    assert_eq!(body["ArrivedCount"], 2000);
    let arrived = body["Arrived"].as_array().unwrap();
    assert_eq!(arrived.len(), 20, "the newest twenty, as summaries");
    assert_eq!(arrived[19]["Seq"], 2000);
    assert!(arrived[0].get("HtmlBody").is_none());
    assert!(
        timed_out.body.len() < 8 * 1024,
        "{} bytes",
        timed_out.body.len()
    );

    // The Rust wait says as much, and no more.
    let error = api
        .postmark
        .inbox()
        .wait_for("nobody@example.com")
        .after(0)
        .timeout(std::time::Duration::from_millis(1))
        .await
        .unwrap_err();
    assert_eq!(error.arrived_count, 2000);
    assert_eq!(error.arrived.len(), 20);
    assert!(
        error.to_string().contains("(1980 older ones not shown)"),
        "{error}"
    );

    // Waiting after the cursor for a message to one of them finds it at once.
    api.send(&with_code("user7@example.com", "654321")).await;
    let found = api
        .get("/_inbox/wait?to=USER7@example.com&after=2000&timeout_ms=1000")
        .await;
    assert_eq!(found.status, 200, "{found:?}");
    assert_eq!(found.json()["Code"], "654321");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_pending_waits_do_not_keep_the_email_api_from_answering() {
    let api = Api::start().await;
    let mut waits = tokio::task::JoinSet::new();
    for i in 0..300 {
        let request = api.http.get(api.url(&format!(
            "/_inbox/wait?to=waiting{i}@example.com&timeout_ms=60000"
        )));
        waits.spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
    }
    // Every wait re-checks on every message; sends still get their answers.
    for i in 0..50 {
        api.send(&with_code(&format!("other{i}@example.com"), "111111"))
            .await;
    }
    api.send(&with_code("waiting7@example.com", "777777")).await;
    let delivered = api
        .get("/_inbox/wait?to=waiting7@example.com&after=50&timeout_ms=1000")
        .await;
    assert_eq!(delivered.json()["Code"], "777777");
    waits.abort_all();
}

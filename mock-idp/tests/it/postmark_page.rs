//! The inbox web page, read the way a browser gets it.

use serde_json::json;

use crate::support::{Api, PostmarkAssert, plain};

const HOSTILE: &str = r#""><script>alert(1)</script><img src=x onerror=alert(2)>"#;

#[tokio::test]
async fn the_list_shows_newest_first_with_seq_and_code() {
    let api = Api::start().await;
    for (to, code) in [
        ("alice@example.com", "111111"),
        ("bob@example.com", "222222"),
    ] {
        let mut message = plain(to);
        message["TextBody"] = json!(format!("Your code is {code}"));
        api.send(&message).await;
    }
    let page = api.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.content_type().starts_with("text/html"), "{page:?}");
    let bob = page.body.find(r#"data-seq="2""#).expect("row 2");
    let alice = page.body.find(r#"data-seq="1""#).expect("row 1");
    assert!(bob < alice, "newest first");
    assert!(page.body.contains(r#"data-code="222222""#));
    assert!(page.body.contains(r#"id="to""#), "the recipient filter");
    assert!(
        page.body
            .contains(r#"<script src="/inbox.js" defer></script>"#)
    );
}

#[tokio::test]
async fn the_recipient_filter_narrows_the_list() {
    let api = Api::start().await;
    api.send(&plain("alice@example.com")).await;
    api.send(&plain("bob@example.com")).await;
    let page = api.get("/?to=BOB%40example.com").await.body;
    assert!(page.contains(r#"data-seq="2""#));
    assert!(!page.contains(r#"data-seq="1""#));
    assert!(
        page.contains(r#"value="BOB@example.com""#),
        "the filter keeps its value"
    );
    let none = api.get("/?to=nobody%40example.com").await.body;
    assert!(none.contains("No messages to this recipient yet."));
    let rows = api.get("/rows?to=alice%40example.com").await.body;
    assert!(
        rows.contains(r#"data-seq="1""#) && !rows.contains(r#"data-seq="2""#),
        "{rows}"
    );
}

#[tokio::test]
async fn hostile_values_are_escaped_everywhere() {
    let api = Api::start().await;
    let message = json!({
        "From": "noreply@example.com", "To": "alice@example.com", "Subject": HOSTILE,
        "HtmlBody": format!("<p>{HOSTILE}</p></iframe><script>alert(3)</script>"),
        "TextBody": HOSTILE, "Tag": HOSTILE,
    });
    api.send(&message).await;
    let filter = api
        .get("/?to=%22%3E%3Cscript%3Ealert(4)%3C%2Fscript%3E")
        .await
        .body;
    let list = api.get("/").await.body;
    let detail = api.get("/view/1").await;
    for page in [&list, &filter, &detail.body] {
        for raw in ["<script>alert", "<img src=x", "</iframe><script"] {
            assert!(!page.contains(raw), "unescaped {raw:?} in {page}");
        }
    }
    assert!(
        list.contains("&#34;&#62;&#60;script&#62;alert(1)"),
        "{list}"
    );
    let iframe = detail
        .body
        .split("<iframe")
        .nth(1)
        .unwrap()
        .split("></iframe>")
        .next()
        .unwrap();
    assert!(iframe.contains(r#"sandbox srcdoc=""#), "{iframe}");
    assert!(!iframe.contains("allow-scripts"), "{iframe}");
    assert!(
        iframe.contains("&#60;/iframe&#62;&#60;script&#62;alert(3)"),
        "{iframe}"
    );
}

#[tokio::test]
async fn the_detail_view_shows_every_part_of_a_template_send() {
    let api = Api::start().await;
    api.post(
        "/email/withTemplate",
        &crate::support::templated("alice@example.com", "654321"),
    )
    .await
    .assert_sent();
    let page = api.get("/view/1").await;
    assert_eq!(page.status, 200);
    let html = &page.body;
    assert!(
        html.contains(r#"<h1 id="subject">654321 is your sign-in code</h1>"#),
        "{html}"
    );
    assert!(html.contains(r#"data-code="654321""#));
    assert!(html.contains("<code>logto-sign-in</code>"));
    assert!(html.contains(r#"<pre id="text">"#));
    assert!(
        html.contains(r#"<pre id="model">"#) && html.contains("&#34;code&#34;: &#34;654321&#34;")
    );
    assert!(
        html.contains(r#"<pre id="sent">"#)
            && html.contains("&#34;TemplateAlias&#34;: &#34;logto-sign-in&#34;")
    );
    let csp = page_header(&api, "/view/1", "content-security-policy").await;
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
}

#[tokio::test]
async fn an_unknown_message_is_a_readable_404_page() {
    let api = Api::start().await;
    for path in ["/view/42", "/view/not-a-number"] {
        let page = api.get(path).await;
        assert_eq!(page.status, 404);
        assert!(page.content_type().starts_with("text/html"));
        assert!(page.body.contains(r#"role="alert""#), "{}", page.body);
    }
}

#[tokio::test]
async fn the_live_script_is_served() {
    let api = Api::start().await;
    let script = api.get("/inbox.js").await;
    assert_eq!(script.status, 200);
    assert!(script.content_type().starts_with("text/javascript"));
    assert!(script.body.contains("new EventSource(\"/_inbox/events\")"));
}

async fn page_header(api: &Api, path: &str, name: &str) -> String {
    let response = api.http.get(api.url(path)).send().await.unwrap();
    response.headers()[name].to_str().unwrap().to_owned()
}

//! The Templates API: list, get, create, edit, delete, validate.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Api, PostmarkAssert, templated};

fn standard(name: &str, alias: &str) -> Value {
    json!({
        "Name": name, "Alias": alias, "Subject": "Hi {{name}}",
        "HtmlBody": "<p>Hello {{name}}, code {{code}}</p>", "TextBody": "Hello {{name}}, code {{code}}",
    })
}

#[tokio::test]
async fn listing_needs_count_and_offset_and_pages_the_fixture_templates() {
    let api = Api::start().await;
    api.get_authed("/templates").await.assert_error(422, 1100);
    api.get_authed("/templates?count=10")
        .await
        .assert_error(422, 1100);
    api.get_authed("/templates?count=ten&offset=0")
        .await
        .assert_error(422, 1100);
    api.get_authed("/templates?count=501&offset=0")
        .await
        .assert_error(422, 1100);

    let all = api.get_authed("/templates?count=100&offset=0").await.json();
    assert_eq!(all["TotalCount"], 4);
    let aliases: Vec<&str> = all["Templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Alias"].as_str().unwrap())
        .collect();
    assert_eq!(
        aliases,
        [
            "logto-sign-in",
            "logto-register",
            "logto-forgot-password",
            "logto-generic"
        ]
    );
    let first = &all["Templates"][0];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Active",
            "TemplateId",
            "Name",
            "Alias",
            "TemplateType",
            "LayoutTemplate"
        ]
    );

    // postmarker's spelling: capitalised names and a trailing slash.
    let page = api.get_authed("/templates/?Count=2&Offset=1").await.json();
    assert_eq!(page["TotalCount"], 4);
    assert_eq!(page["Templates"][0]["Alias"], "logto-register");
    assert_eq!(page["Templates"].as_array().unwrap().len(), 2);

    let layouts = api
        .get_authed("/templates?count=10&offset=0&templateType=Layout")
        .await
        .json();
    assert_eq!(layouts["TotalCount"], 0);
    api.get_authed("/templates?count=10&offset=0&templateType=Other")
        .await
        .assert_error(422, 1100);
}

#[tokio::test]
async fn a_template_is_found_by_id_or_alias_in_postmarks_shape() {
    let api = Api::start().await;
    let by_alias = api.get_authed("/templates/logto-sign-in").await.json();
    let keys: Vec<&str> = by_alias
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "TemplateId",
            "Name",
            "Subject",
            "HtmlBody",
            "TextBody",
            "AssociatedServerId",
            "Active",
            "Alias",
            "TemplateType",
            "LayoutTemplate"
        ]
    );
    assert_eq!(by_alias["Subject"], "{{code}} is your sign-in code");
    let id = by_alias["TemplateId"].as_u64().unwrap();
    let by_id = api.get_authed(&format!("/templates/{id}")).await.json();
    assert_eq!(by_id, by_alias);
    api.get_authed("/templates/nope")
        .await
        .assert_error(422, 1101);
    api.get_authed("/templates/999")
        .await
        .assert_error(422, 1101);
}

#[tokio::test]
async fn a_created_template_can_be_sent() {
    let api = Api::start().await;
    let created = api
        .call(
            Method::POST,
            "/templates/",
            Some(&standard("Welcome", "welcome")),
        )
        .await
        .json();
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Active",
            "TemplateId",
            "Name",
            "Alias",
            "TemplateType",
            "LayoutTemplate"
        ]
    );
    assert_eq!(created["Alias"], "welcome");
    assert_eq!(created["TemplateType"], "Standard");

    let mut message = templated("alice@example.com", "777777");
    message["TemplateAlias"] = json!("welcome");
    message["TemplateModel"]["name"] = json!("Alice");
    api.post("/email/withTemplate", &message)
        .await
        .assert_sent();
    let mail = api
        .postmark
        .inbox()
        .wait_for("alice@example.com")
        .await
        .unwrap();
    assert_eq!(mail.subject(), Some("Hi Alice"));
    assert_eq!(mail.text_body(), Some("Hello Alice, code 777777"));
    assert_eq!(mail.template_id(), created["TemplateId"].as_u64());
}

#[tokio::test]
async fn creating_enforces_postmarks_rules() {
    let api = Api::start().await;
    let create = |body: Value| {
        let api = &api;
        async move { api.call(Method::POST, "/templates", Some(&body)).await }
    };
    let mut no_name = standard("x", "a1");
    no_name["Name"] = Value::Null;
    create(no_name).await.assert_error(422, 1120);
    let mut no_body = standard("x", "a2");
    no_body["HtmlBody"] = Value::Null;
    no_body["TextBody"] = Value::Null;
    create(no_body).await.assert_error(422, 1120);
    create(standard("x", "9starts-with-digit"))
        .await
        .assert_error(422, 1122);
    create(standard("x", "logto-sign-in"))
        .await
        .assert_error(422, 1122);
    let mut broken = standard("x", "broken");
    broken["HtmlBody"] = json!("{{#open}} never closed");
    let message = create(broken).await.assert_error(422, 1122);
    assert!(message.contains("HtmlBody"), "{message}");
    create(json!({"Name": "L", "Alias": "layout", "TemplateType": "Layout", "HtmlBody": "no placeholder"}))
        .await
        .assert_error(422, 1131);
    create(json!({"Name": "L", "Alias": "layout", "TemplateType": "Layout", "Subject": "s", "HtmlBody": "{{{@content}}}"}))
        .await
        .assert_error(422, 1123);
    let mut unknown_layout = standard("x", "child");
    unknown_layout["LayoutTemplate"] = json!("nope");
    create(unknown_layout).await.assert_error(422, 1101);
    create(json!([])).await.assert_error(422, 403);

    let count = api.get_authed("/templates?count=100&offset=0").await.json()["TotalCount"].clone();
    assert_eq!(count, 4, "nothing half-created");
    for i in 0..96 {
        assert_created(
            &api.call(
                Method::POST,
                "/templates",
                Some(&standard("t", &format!("t{i}"))),
            )
            .await,
        );
    }
    create(standard("one too many", "extra"))
        .await
        .assert_error(422, 1105);
}

#[tokio::test]
async fn editing_keeps_null_fields_and_clears_empty_ones() {
    let api = Api::start().await;
    let created = api
        .call(
            Method::POST,
            "/templates",
            Some(&standard("Welcome", "welcome")),
        )
        .await
        .json();
    let id = created["TemplateId"].as_u64().unwrap();

    // What postmarker sends: every unchanged field as null.
    let edit = json!({"Name": null, "Subject": "New {{name}}", "HtmlBody": null, "TextBody": "", "Alias": null});
    let edited = api
        .call(Method::PUT, "/templates/welcome", Some(&edit))
        .await
        .json();
    assert_eq!(edited["TemplateId"], id);
    let now = api.get_authed(&format!("/templates/{id}")).await.json();
    assert_eq!(now["Name"], "Welcome");
    assert_eq!(now["Subject"], "New {{name}}");
    assert_eq!(now["HtmlBody"], "<p>Hello {{name}}, code {{code}}</p>");
    assert_eq!(now["TextBody"], Value::Null);

    api.call(
        Method::PUT,
        "/templates/welcome",
        Some(&json!({"TemplateType": "Layout"})),
    )
    .await
    .assert_error(422, 1123);
    api.call(
        Method::PUT,
        "/templates/welcome",
        Some(&json!({"HtmlBody": "{{#x}}"})),
    )
    .await
    .assert_error(422, 1122);
    api.call(Method::PUT, "/templates/nope", Some(&json!({"Name": "x"})))
        .await
        .assert_error(422, 1101);
    let unchanged = api.get_authed(&format!("/templates/{id}")).await.json();
    assert_eq!(unchanged, now, "a refused edit changes nothing");
}

#[tokio::test]
async fn deleting_answers_postmarks_message_and_protects_used_layouts() {
    let api = Api::start().await;
    let layout = json!({"Name": "Base", "Alias": "base", "TemplateType": "Layout",
                        "HtmlBody": "<main>{{{@content}}}</main>", "TextBody": "{{{@content}}}\n--"});
    assert_created(&api.call(Method::POST, "/templates", Some(&layout)).await);
    let mut child = standard("Child", "child");
    child["LayoutTemplate"] = json!("base");
    let child = api
        .call(Method::POST, "/templates", Some(&child))
        .await
        .json();

    let mut message = templated("alice@example.com", "123456");
    message["TemplateAlias"] = json!("child");
    message["TemplateModel"]["name"] = json!("Alice");
    api.post("/email/withTemplate", &message)
        .await
        .assert_sent();
    let mail = api
        .postmark
        .inbox()
        .wait_for("alice@example.com")
        .await
        .unwrap();
    assert_eq!(
        mail.html_body(),
        Some("<main><p>Hello Alice, code 123456</p></main>")
    );
    assert_eq!(mail.text_body(), Some("Hello Alice, code 123456\n--"));

    api.call(Method::DELETE, "/templates/base", None)
        .await
        .assert_error(422, 1130);
    let removed = api
        .call(Method::DELETE, "/templates/child", None)
        .await
        .json();
    assert_eq!(
        removed,
        json!({"ErrorCode": 0, "Message": format!("Template {} removed.", child["TemplateId"])})
    );
    api.call(Method::DELETE, "/templates/base", None)
        .await
        .json();
    api.get_authed("/templates/base")
        .await
        .assert_error(422, 1101);
}

#[tokio::test]
async fn validating_reports_errors_renders_and_suggests_a_model() {
    let api = Api::start().await;
    let body = json!({
        "Subject": "{{code}} for {{user.name}}",
        "HtmlBody": "{{#each items}}<li>{{title}}</li>{{/each}}",
        "TextBody": "{{#open}}\nbroken",
    });
    let result = api
        .call(Method::POST, "/templates/validate", Some(&body))
        .await
        .json();
    assert_eq!(result["AllContentIsValid"], false);
    assert_eq!(result["Subject"]["ContentIsValid"], true);
    assert_eq!(
        result["Subject"]["RenderedContent"],
        "code_Value for name_Value"
    );
    assert_eq!(
        result["HtmlBody"]["RenderedContent"],
        "<li>title_Value</li>"
    );
    assert_eq!(result["TextBody"]["ContentIsValid"], false);
    let error = &result["TextBody"]["ValidationErrors"][0];
    assert_eq!(
        (error["Line"].as_u64(), error["CharacterPosition"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(error["Message"].as_str().unwrap().contains("'open'"));
    assert_eq!(
        result["SuggestedTemplateModel"],
        json!({"code": "code_Value", "user": {"name": "name_Value"}, "items": [{"title": "title_Value"}]})
    );

    let with_model = json!({"Subject": "{{code}}", "TestRenderModel": {"code": "<123>"}, "HtmlBody": "{{code}}"});
    let result = api
        .call(Method::POST, "/templates/validate", Some(&with_model))
        .await
        .json();
    assert_eq!(result["AllContentIsValid"], true);
    assert_eq!(result["Subject"]["RenderedContent"], "<123>");
    assert_eq!(result["HtmlBody"]["RenderedContent"], "&#60;123&#62;");
    assert_eq!(result["TextBody"], Value::Null);

    api.call(Method::POST, "/templates/validate", Some(&json!({})))
        .await
        .assert_error(422, 1120);
}

#[tokio::test]
async fn the_template_api_needs_a_server_token() {
    let api = Api::start().await;
    let reply = crate::support::reply(
        api.http
            .get(api.url("/templates?count=1&offset=0"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.assert_error(401, 10);
}

/// Asserts a template was created.
fn assert_created(page: &mock_idp::Page) {
    assert_eq!(page.status, 200, "{page:?}");
}

#[tokio::test]
async fn validating_paths_that_reach_too_deep_is_a_template_error_not_a_crash() {
    let api = Api::start().await;
    let validate = async |body: Value| {
        api.call(Method::POST, "/templates/validate", Some(&body))
            .await
            .json()
    };
    let long = vec!["a"; 10_000].join(".");
    let part = ["a"; 64].join(".");
    // One path of 10,000 parts; 64 sections of 64 parts each (a suggested model 4,096 deep).
    let result = validate(json!({
        "Subject": format!("{{{{{long}}}}}"),
        "TextBody": format!("{{{{#{part}}}}}").repeat(64) + "x" + &format!("{{{{/{part}}}}}").repeat(64),
    }))
    .await;
    assert_eq!(result["AllContentIsValid"], false);
    for part in ["Subject", "TextBody"] {
        assert_eq!(result[part]["ContentIsValid"], false, "{part}");
        let message = result[part]["ValidationErrors"][0]["Message"]
            .as_str()
            .unwrap();
        assert!(message.contains("more than 64 levels"), "{part}: {message}");
    }

    // The deepest the limits allow, 8 sections of 8 parts, still answers with its model.
    let part = ["a"; 8].join(".");
    let deepest =
        format!("{{{{#{part}}}}}").repeat(8) + "x" + &format!("{{{{/{part}}}}}").repeat(8);
    let result = validate(json!({"TextBody": deepest})).await;
    assert_eq!(result["AllContentIsValid"], true, "{result}");
    let mut model = &result["SuggestedTemplateModel"];
    for _ in 0..63 {
        model = &model["a"];
    }
    assert!(model["a"].is_object(), "{result}");
}

#[tokio::test]
async fn mail_sent_with_a_template_keeps_its_text_when_the_template_changes() {
    let api = Api::start().await;
    assert_created(
        &api.call(Method::POST, "/templates", Some(&standard("Hi", "hi")))
            .await,
    );
    let send = json!({"From": "a@example.com", "To": "bob@example.com", "TemplateAlias": "hi",
                      "TemplateModel": {"name": "Bob <3", "code": "424242"}});
    api.post("/email/withTemplate", &send).await.assert_sent();
    let edited = json!({"Subject": "Bye {{name}}", "HtmlBody": "<p>Bye</p>"});
    let answer = api.call(Method::PUT, "/templates/hi", Some(&edited)).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    api.post("/email/withTemplate", &send).await.assert_sent();

    let mails = api.postmark.inbox().messages();
    assert_eq!(
        mails[0].subject(),
        Some("Hi Bob <3"),
        "as rendered when it was sent"
    );
    assert_eq!(
        mails[0].html_body(),
        Some("<p>Hello Bob &#60;3, code 424242</p>")
    );
    assert_eq!(mails[0].code(), Some("424242"));
    assert_eq!(mails[1].subject(), Some("Bye Bob <3"));
    let listed = api.get("/_inbox/messages").await.json();
    assert_eq!(listed["Messages"][0]["Subject"], "Hi Bob <3");
    let keys: Vec<&str> = listed["Messages"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let at = |key| keys.iter().position(|k| *k == key).unwrap();
    assert!(at("ReplyTo") + 1 == at("Subject") && at("Subject") + 2 == at("TextBody"));
}

//! The control plane over HTTP (`/_mock/`): the same operations as the Rust handle, JSON in
//! and out, `{code, message}` errors, and its access rule.

use std::net::{Ipv4Addr, SocketAddr};

use mock_idp::{Agent, MockIdp, Page};
use serde_json::{Value, json};

async fn call(idp: &MockIdp, method: reqwest::Method, path: &str, body: Option<Value>) -> Page {
    let mut request = Agent::new()
        .http()
        .request(method, format!("{}{path}", idp.control_url()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    Agent::new().send(request).await
}

fn assert_control_error(page: &Page, status: u16, code: &str) -> String {
    assert_eq!(page.status, status, "{page:?}");
    let body = page.json();
    assert_eq!(body["code"], code, "{page:?}");
    body["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn users_are_added_changed_and_deleted_in_logtos_shape() {
    let idp = MockIdp::start().await.unwrap();
    let added = call(
        &idp,
        reqwest::Method::POST,
        "/users",
        Some(json!({"primaryEmail": "dana@example.com", "name": "Dana"})),
    )
    .await;
    assert_eq!(added.status, 201, "{added:?}");
    let dana = added.json();
    assert_eq!(
        dana["id"].as_str().unwrap().len(),
        12,
        "an id drawn from the seed"
    );
    assert_eq!(
        idp.user("dana@example.com").unwrap().name.as_deref(),
        Some("Dana")
    );

    let changed = call(
        &idp,
        reqwest::Method::PATCH,
        "/users/dana@example.com",
        Some(json!({"name": "Dana Scully"})),
    )
    .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.json()["name"], "Dana Scully");
    let read = call(
        &idp,
        reqwest::Method::GET,
        &format!("/users/{}", dana["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(read.json()["primaryEmail"], "dana@example.com");

    let deleted = call(
        &idp,
        reqwest::Method::DELETE,
        "/users/dana@example.com",
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
    assert!(idp.user("dana@example.com").is_none());
    let kinds: Vec<String> = idp.events().into_iter().map(|e| e.kind).collect();
    assert!(
        kinds.ends_with(&[
            "user.created".into(),
            "user.updated".into(),
            "user.deleted".into()
        ]),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_change_that_would_break_the_tenant_is_refused_and_nothing_changes() {
    let idp = MockIdp::start().await.unwrap();
    let before = idp.tenant().users.len();
    let duplicate = call(
        &idp,
        reqwest::Method::POST,
        "/users",
        Some(json!({"primaryEmail": "ALICE@example.com"})),
    )
    .await;
    let message = assert_control_error(&duplicate, 409, "control.conflict");
    assert!(
        message.contains("PATCH /_mock/users/ALICE@example.com"),
        "{message}"
    );
    for (body, reason) in [
        (json!({"email": "dave@example.com"}), r#"no field "email""#),
        (
            json!({"name": "Nobody"}),
            "needs a primaryEmail, a username or a primaryPhone",
        ),
    ] {
        let refused = call(&idp, reqwest::Method::POST, "/users", Some(body)).await;
        let message = assert_control_error(&refused, 400, "control.invalid_input");
        assert!(message.contains(reason), "{message}");
    }
    let misspelt = call(
        &idp,
        reqwest::Method::PATCH,
        "/users/bob@example.com",
        Some(json!({"nme": "Bobby"})),
    )
    .await;
    assert_control_error(&misspelt, 400, "control.invalid_input");
    let taken = call(
        &idp,
        reqwest::Method::PATCH,
        "/users/bob@example.com",
        Some(json!({"primaryEmail": "alice@example.com"})),
    )
    .await;
    let message = assert_control_error(&taken, 400, "control.invalid_input");
    assert!(message.contains("two users have the email"), "{message}");
    assert_eq!(idp.tenant().users.len(), before);

    let renamed = call(
        &idp,
        reqwest::Method::PATCH,
        "/users/bob@example.com",
        Some(json!({"id": "someone-else"})),
    )
    .await;
    assert_control_error(&renamed, 400, "control.invalid_input");
    let not_json = Agent::new()
        .send(
            Agent::new()
                .http()
                .post(format!("{}/users", idp.control_url()))
                .body("{nope"),
        )
        .await;
    assert_control_error(&not_json, 400, "control.invalid_input");
    let missing = call(&idp, reqwest::Method::GET, "/users/nobody", None).await;
    assert_control_error(&missing, 404, "control.not_found");
    let no_route = call(&idp, reqwest::Method::GET, "/nothing-here", None).await;
    assert_control_error(&no_route, 404, "control.not_found");
    let wrong_method = call(&idp, reqwest::Method::PUT, "/clock", None).await;
    let message = assert_control_error(&wrong_method, 405, "control.method_not_allowed");
    assert!(
        message.starts_with("/_mock/clock does not take PUT"),
        "{message}"
    );
}

#[tokio::test]
async fn applications_get_a_drawn_id_and_secret_and_can_sign_in() {
    let idp = MockIdp::start().await.unwrap();
    let added = call(
        &idp,
        reqwest::Method::POST,
        "/applications",
        Some(json!({
            "name": "Second app",
            "type": "Traditional",
            "oidcClientMetadata": {"redirectUris": ["http://localhost:4000/cb"]}
        })),
    )
    .await;
    assert_eq!(added.status, 201, "{added:?}");
    let app = added.json();
    let id = app["id"].as_str().unwrap();
    assert_eq!(id.len(), 21);
    assert_eq!(app["secret"].as_str().unwrap().len(), 32);
    let event = idp.events().pop().unwrap();
    assert_eq!(event.kind, "application.created");
    assert!(
        !event
            .data
            .to_string()
            .contains(app["secret"].as_str().unwrap()),
        "no secret in the log"
    );

    let authorize = format!(
        "{}?client_id={id}&redirect_uri=http%3A%2F%2Flocalhost%3A4000%2Fcb&response_type=code&scope=openid",
        idp.authorization_endpoint()
    );
    assert_eq!(
        Agent::new().get(&authorize).await.status,
        303,
        "the new client is known"
    );

    let retyped = call(
        &idp,
        reqwest::Method::PATCH,
        &format!("/applications/{id}"),
        Some(json!({"type": "SPA"})),
    )
    .await;
    assert_control_error(&retyped, 400, "control.invalid_input");
    let deleted = call(
        &idp,
        reqwest::Method::DELETE,
        &format!("/applications/{id}"),
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
    assert!(idp.tenant().application(id).is_none());
}

#[tokio::test]
async fn the_clock_is_set_and_advanced_over_http() {
    let idp = MockIdp::builder()
        .clock(mock_idp::Clock::fixed(
            time::macros::datetime!(2026-01-01 09:00 UTC),
        ))
        .start()
        .await
        .unwrap();
    let read = call(&idp, reqwest::Method::GET, "/clock", None)
        .await
        .json();
    assert_eq!(read, json!({"now": "2026-01-01T09:00:00Z", "fixed": true}));
    let advanced = call(
        &idp,
        reqwest::Method::POST,
        "/clock",
        Some(json!({"advance": "1h30m"})),
    )
    .await;
    assert_eq!(advanced.json()["now"], "2026-01-01T10:30:00Z");
    let set = call(
        &idp,
        reqwest::Method::POST,
        "/clock",
        Some(json!({"set": "2025-12-31T23:00:00+01:00"})),
    )
    .await;
    assert_eq!(set.json()["now"], "2025-12-31T22:00:00Z");
    assert_eq!(
        idp.clock().now(),
        time::macros::datetime!(2025-12-31 22:00 UTC)
    );
    let both = call(
        &idp,
        reqwest::Method::POST,
        "/clock",
        Some(json!({"set": "2026-01-01T00:00:00Z", "advance": 5})),
    )
    .await;
    assert_control_error(&both, 400, "control.invalid_input");
    let bad = call(
        &idp,
        reqwest::Method::POST,
        "/clock",
        Some(json!({"advance": "5 years"})),
    )
    .await;
    assert_control_error(&bad, 400, "control.invalid_input");
}

#[tokio::test]
async fn faults_are_added_listed_and_removed_and_a_bad_batch_schedules_nothing() {
    let idp = MockIdp::start().await.unwrap();
    let added = call(
        &idp,
        reqwest::Method::POST,
        "/faults",
        Some(json!([
            {"kind": "token_error", "grant_type": "refresh_token", "error": "invalid_grant"},
            {"kind": "userinfo_unauthorized", "times": 3}
        ])),
    )
    .await;
    assert_eq!(added.status, 201, "{added:?}");
    let listed = call(&idp, reqwest::Method::GET, "/faults", None)
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[1]["kind"], "userinfo_unauthorized");
    assert_eq!(listed[1]["times"], 3);
    let id = listed[0]["id"].as_u64().unwrap();
    assert_eq!(
        call(
            &idp,
            reqwest::Method::DELETE,
            &format!("/faults/{id}"),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(idp.faults().len(), 1);

    let bad = call(
        &idp,
        reqwest::Method::POST,
        "/faults",
        Some(json!([{"kind": "userinfo_unauthorized"}, {"kind": "token_error", "status": 200}])),
    )
    .await;
    let message = assert_control_error(&bad, 400, "control.invalid_input");
    assert!(message.starts_with("fault 1:"), "{message}");
    assert_eq!(
        idp.faults().len(),
        1,
        "the good fault of a bad batch is not scheduled"
    );
    assert_eq!(
        call(&idp, reqwest::Method::DELETE, "/faults", None)
            .await
            .status,
        204
    );
    assert!(idp.faults().is_empty());
}

#[tokio::test]
async fn events_come_as_json_or_json_lines_and_stream_as_they_happen() {
    let idp = MockIdp::start().await.unwrap();
    idp.advance_clock(std::time::Duration::from_secs(1));
    let json = call(&idp, reqwest::Method::GET, "/events", None)
        .await
        .json();
    assert_eq!(json[0]["kind"], "clock.advanced");
    let lines = call(&idp, reqwest::Method::GET, "/events?format=jsonl", None).await;
    assert_eq!(lines.header("content-type"), Some("application/x-ndjson"));
    let first: mock_idp::Event = serde_json::from_str(lines.body.lines().next().unwrap()).unwrap();
    assert_eq!(first.seq, 1);
    let after = call(&idp, reqwest::Method::GET, "/events?after=1", None)
        .await
        .json();
    assert_eq!(after, json!([]));

    let mut response = reqwest::get(format!("{}/events/stream", idp.control_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let old = response.chunk().await.unwrap().unwrap();
    assert!(
        std::str::from_utf8(&old)
            .unwrap()
            .contains("clock.advanced")
    );
    idp.inject(mock_idp::Fault::UserinfoUnauthorized).unwrap();
    let new = response.chunk().await.unwrap().unwrap();
    let event: mock_idp::Event = serde_json::from_slice(new.trim_ascii()).unwrap();
    assert_eq!(event.kind, "fault.scheduled");
    drop(idp);
    assert!(
        response.chunk().await.unwrap().is_none(),
        "the stream ends with the IdP"
    );
}

#[tokio::test]
async fn reset_puts_back_the_tenant_the_clock_the_seed_and_empties_the_inbox() {
    let idp = MockIdp::builder()
        .clock(mock_idp::Clock::fixed(
            time::macros::datetime!(2026-01-01 09:00 UTC),
        ))
        .start()
        .await
        .unwrap();
    let agent = Agent::new();
    let home = agent.get(&idp.sign_in_url()).await;
    agent
        .sign_in_with_email_code(&idp, &home, "alice@example.com")
        .await;
    let first_code = idp.latest_code("alice@example.com").unwrap();
    idp.add_user(mock_idp::User::email("dana@example.com"))
        .unwrap();
    idp.advance_clock(std::time::Duration::from_secs(3600));
    assert_eq!(
        call(&idp, reqwest::Method::POST, "/reset", None)
            .await
            .status,
        204
    );
    assert!(idp.user("dana@example.com").is_none());
    assert_eq!(
        idp.clock().now(),
        time::macros::datetime!(2026-01-01 09:00 UTC)
    );
    assert!(idp.inbox().messages().is_empty());
    assert!(idp.events().is_empty());
    // The same flow after the reset draws the same code: the seed started over.
    let agent = Agent::new();
    let home = agent.get(&idp.sign_in_url()).await;
    agent
        .sign_in_with_email_code(&idp, &home, "alice@example.com")
        .await;
    assert_eq!(idp.latest_code("alice@example.com").unwrap(), first_code);
    let cleared = call(&idp, reqwest::Method::DELETE, "/inbox", None).await;
    assert_eq!(cleared.json(), json!({"cleared": 1}));
}

#[tokio::test]
async fn off_loopback_the_control_plane_needs_a_token_and_with_one_it_checks_it() {
    let anywhere = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
    let open = MockIdp::builder().bind(anywhere).start().await.unwrap();
    let url = format!("http://127.0.0.1:{}/_mock/clock", open.address().port());
    let refused = Agent::new().get(&url).await;
    let message = assert_control_error(&refused, 403, "control.disabled");
    assert!(message.contains("--control-token"), "{message}");
    // The IdP itself answers as usual.
    let discovery = format!(
        "http://127.0.0.1:{}/oidc/.well-known/openid-configuration",
        open.address().port()
    );
    assert_eq!(Agent::new().get(&discovery).await.status, 200);

    let guarded = MockIdp::builder()
        .bind(anywhere)
        .control_token("s3cret")
        .start()
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}/_mock/clock", guarded.address().port());
    let agent = Agent::new();
    let anonymous = agent.get(&url).await;
    assert_control_error(&anonymous, 401, "control.unauthorized");
    assert!(anonymous.header("www-authenticate").is_some());
    let wrong = agent
        .send(agent.http().get(&url).bearer_auth("guess"))
        .await;
    assert_control_error(&wrong, 401, "control.unauthorized");
    let right = agent
        .send(agent.http().get(&url).bearer_auth("s3cret"))
        .await;
    assert_eq!(right.status, 200, "{right:?}");
}

#[tokio::test]
async fn the_index_lists_the_routes_with_or_without_a_trailing_slash() {
    let idp = MockIdp::start().await.unwrap();
    for url in [idp.control_url(), format!("{}/", idp.control_url())] {
        let index = Agent::new().get(&url).await;
        assert_eq!(index.status, 200, "{url}: {index:?}");
        assert_eq!(index.json()["issuer"], idp.issuer().as_str());
        assert!(index.json()["routes"].as_array().unwrap().len() > 5);
    }
}

#[tokio::test]
async fn the_events_file_keeps_the_whole_run_and_marks_a_reset() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("events-reset.jsonl");
    let idp = MockIdp::builder().events_file(&path).start().await.unwrap();
    idp.advance_clock(std::time::Duration::from_secs(1));
    idp.reset();
    idp.advance_clock(std::time::Duration::from_secs(2));
    drop(idp); // the file is whole once the instance is gone
    let lines: Vec<(u64, String)> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|line| {
            let event: mock_idp::Event = serde_json::from_str(line).unwrap();
            (event.seq, event.kind)
        })
        .collect();
    assert_eq!(
        lines,
        [
            (1, "clock.advanced".to_owned()),
            (0, "instance.reset".to_owned()),
            (1, "clock.advanced".to_owned()),
        ]
    );
}

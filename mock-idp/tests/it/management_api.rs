//! Logto's Management API: its token check, users (read, list and search, create, update,
//! custom data, delete), user roles, and what no route serves. What it changes is what the
//! next sign-in sees.

use mock_idp::{Agent, MockIdp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::idp_support::{Idp, answer, encode, jwt_part};

const ALICE: &str = "tlpsr5rx0v82";
const BOB: &str = "ycyz5qhv7urk";

/// The fixture's machine-to-machine app's token for `resource` with `scope`.
async fn m2m_token(idp: &Idp, resource: &str, scope: &str) -> String {
    let app = idp.idp.machine_to_machine_app().unwrap();
    let request = idp
        .http
        .post(idp.idp.token_endpoint())
        .basic_auth(&app.id, app.secret.as_deref())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("grant_type", "client_credentials"),
            ("resource", resource),
            ("scope", scope),
        ]));
    let page = answer(request.send().await.unwrap()).await;
    assert_eq!(page.status, 200, "{page:?}");
    page.json()["access_token"].as_str().unwrap().to_owned()
}

/// A Management API token, as a backend gets it.
async fn token(idp: &Idp) -> String {
    m2m_token(idp, MockIdp::MANAGEMENT_API, "all").await
}

async fn call(
    idp: &Idp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> mock_idp::Page {
    let mut request = idp
        .http
        .request(method, format!("{}{path}", idp.idp.base_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    answer(request.send().await.unwrap()).await
}

fn assert_error(page: &mock_idp::Page, status: u16, code: &str) -> Value {
    assert_eq!(page.status, status, "{page:?}");
    let body = page.json();
    assert_eq!(body["code"], code, "{page:?}");
    body
}

#[tokio::test]
async fn every_route_needs_a_bearer_jwt_for_the_management_api_with_all() {
    let idp = Idp::start().await;
    let path = format!("/api/users/{ALICE}");
    let none = call(&idp, None, Method::GET, &path, None).await;
    assert_eq!(
        assert_error(&none, 401, "auth.authorization_header_missing")["message"],
        "Authorization header is missing."
    );
    let basic = idp
        .http
        .get(format!("{}{path}", idp.idp.base_url()))
        .basic_auth("a", Some("b"))
        .send()
        .await
        .unwrap();
    let basic = answer(basic).await;
    assert_eq!(
        assert_error(&basic, 401, "auth.authorization_token_type_not_supported")["data"],
        json!({"supportedTypes": ["Bearer"]})
    );
    let garbage = call(&idp, Some("not-a-jwt"), Method::GET, &path, None).await;
    assert_error(&garbage, 401, "auth.unauthorized");
    let other_api = m2m_token(&idp, "https://api.example.com", "read:messages").await;
    let wrong_audience = call(&idp, Some(&other_api), Method::GET, &path, None).await;
    assert_error(&wrong_audience, 401, "auth.unauthorized");
    let no_all = m2m_token(&idp, MockIdp::MANAGEMENT_API, "").await;
    let forbidden = call(&idp, Some(&no_all), Method::GET, &path, None).await;
    assert_eq!(
        assert_error(&forbidden, 403, "auth.forbidden")["message"],
        "Forbidden. Please check your user roles and permissions."
    );
    let good = token(&idp).await;
    assert_eq!(
        call(&idp, Some(&good), Method::GET, &path, None)
            .await
            .status,
        200
    );
    idp.idp.advance_clock(std::time::Duration::from_secs(3600));
    let expired = call(&idp, Some(&good), Method::GET, &path, None).await;
    assert_error(&expired, 401, "auth.unauthorized");
}

#[tokio::test]
async fn a_user_is_read_in_logtos_shape_and_an_unknown_one_is_entity_not_found() {
    let idp = Idp::start().await;
    let token = token(&idp).await;
    let alice = call(
        &idp,
        Some(&token),
        Method::GET,
        &format!("/api/users/{ALICE}"),
        None,
    )
    .await;
    assert_eq!(alice.status, 200, "{alice:?}");
    let body = alice.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "username",
            "primaryEmail",
            "primaryPhone",
            "name",
            "avatar",
            "customData",
            "identities",
            "lastSignInAt",
            "createdAt",
            "updatedAt",
            "profile",
            "applicationId",
            "isSuspended",
            "hasPassword"
        ]
    );
    assert_eq!(body["primaryEmail"], "alice@example.com");
    assert_eq!(
        body["createdAt"], 1_767_225_600_000_i64,
        "epoch milliseconds"
    );
    assert_eq!(body["hasPassword"], true);
    let unknown = call(&idp, Some(&token), Method::GET, "/api/users/nobody", None).await;
    assert_eq!(
        unknown.json(),
        json!({"message": "The resource does not exist.", "code": "entity.not_found"})
    );
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn a_user_created_through_the_api_signs_in_and_a_deleted_one_cannot() {
    let idp = Idp::start().await;
    let token = token(&idp).await;
    let created = call(
        &idp,
        Some(&token),
        Method::POST,
        "/api/users",
        Some(
            json!({"primaryEmail": "erin@example.com", "password": "erin-Secret-1", "name": "Erin",
                    "customData": {"plan": "pro"}}),
        ),
    )
    .await;
    assert_eq!(created.status, 200, "{created:?}");
    let erin = created.json();
    assert_eq!(erin["hasPassword"], true);
    assert_eq!(erin["customData"], json!({"plan": "pro"}));
    let id = erin["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 12);

    let agent = Agent::new();
    let to_logto = agent.get(&idp.idp.sign_in_url()).await;
    let back = agent
        .sign_in_with_password(&idp.idp, &to_logto, "erin@example.com", "erin-Secret-1")
        .await;
    assert!(
        back.location_param("code").is_some(),
        "the next sign-in sees her: {back:?}"
    );

    let taken = call(
        &idp,
        Some(&token),
        Method::POST,
        "/api/users",
        Some(json!({"primaryEmail": "ERIN@example.com"})),
    )
    .await;
    assert_error(&taken, 422, "user.email_already_in_use");
    let both = call(
        &idp,
        Some(&token),
        Method::POST,
        "/api/users",
        Some(json!({"username": "zed", "password": "x", "passwordDigest": "00", "passwordAlgorithm": "SHA256"})),
    )
    .await;
    assert_error(&both, 400, "user.password_and_digest");
    let bad = call(
        &idp,
        Some(&token),
        Method::POST,
        "/api/users",
        Some(json!({"primaryEmail": "not an email"})),
    )
    .await;
    let body = assert_error(&bad, 400, "guard.invalid_input");
    assert_eq!(
        body["details"],
        "Error in key path \"primaryEmail\": (invalid_string) Invalid"
    );

    let path = format!("/api/users/{id}");
    assert_eq!(
        call(&idp, Some(&token), Method::DELETE, &path, None)
            .await
            .status,
        204
    );
    assert_error(
        &call(&idp, Some(&token), Method::GET, &path, None).await,
        404,
        "entity.not_found",
    );
    assert!(
        idp.idp.user("erin@example.com").is_none(),
        "gone from the tenant"
    );
}

#[tokio::test]
async fn updates_replace_custom_data_while_the_custom_data_route_merges_it() {
    let idp = Idp::start().await;
    let token = token(&idp).await;
    let path = format!("/api/users/{BOB}");
    let before = call(&idp, Some(&token), Method::GET, &path, None)
        .await
        .json();
    idp.idp.advance_clock(std::time::Duration::from_secs(5));
    let updated = call(
        &idp,
        Some(&token),
        Method::PATCH,
        &path,
        Some(json!({"name": "Bob Builder", "customData": {"a": 1, "b": 2}})),
    )
    .await;
    assert_eq!(updated.status, 200, "{updated:?}");
    assert_eq!(updated.json()["name"], "Bob Builder");
    assert_ne!(updated.json()["updatedAt"], before["updatedAt"]);
    let merged = call(
        &idp,
        Some(&token),
        Method::PATCH,
        &format!("{path}/custom-data"),
        Some(json!({"customData": {"b": 3, "c": 4}})),
    )
    .await;
    assert_eq!(
        merged.json(),
        json!({"a": 1, "b": 3, "c": 4}),
        "shallow merge, data alone"
    );
    let read = call(
        &idp,
        Some(&token),
        Method::GET,
        &format!("{path}/custom-data"),
        None,
    )
    .await;
    assert_eq!(read.json(), json!({"a": 1, "b": 3, "c": 4}));
    let replaced = call(
        &idp,
        Some(&token),
        Method::PATCH,
        &path,
        Some(json!({"customData": {"z": 0}})),
    )
    .await;
    assert_eq!(
        replaced.json()["customData"],
        json!({"z": 0}),
        "PATCH replaces it whole"
    );
    let empty = call(&idp, Some(&token), Method::PATCH, &path, Some(json!({}))).await;
    assert_eq!(
        assert_error(&empty, 422, "entity.invalid_input")["message"],
        "Invalid input. Value list must not be empty."
    );
    let taken = call(
        &idp,
        Some(&token),
        Method::PATCH,
        &path,
        Some(json!({"primaryEmail": "alice@example.com"})),
    )
    .await;
    assert_error(&taken, 422, "user.email_already_in_use");
    assert_eq!(
        idp.idp.user("bob@example.com").unwrap().name.as_deref(),
        Some("Bob Builder")
    );
}

#[tokio::test]
async fn users_are_listed_newest_first_in_pages_and_searched_as_logto_searches() {
    let idp = Idp::start_with(
        MockIdp::builder().user(mock_idp::tenant::User::email("carol@example.com")),
    )
    .await;
    let token = token(&idp).await;
    let all = call(&idp, Some(&token), Method::GET, "/api/users", None).await;
    assert_eq!(all.status, 200, "{all:?}");
    assert_eq!(all.header("total-number"), Some("3"));
    let emails: Vec<Value> = all
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["primaryEmail"].clone())
        .collect();
    assert_eq!(
        emails[0], "carol@example.com",
        "the newest first: {emails:?}"
    );
    assert!(
        all.json()[0].get("hasPassword").is_none(),
        "lists have no hasPassword"
    );
    let page = call(
        &idp,
        Some(&token),
        Method::GET,
        "/api/users?page=2&page_size=1",
        None,
    )
    .await;
    assert_eq!(page.json().as_array().unwrap().len(), 1);
    let link = page.header("link").unwrap();
    assert!(link.contains("page_size=1&page=3>; rel=\"next\""), "{link}");
    let search = |query: &'static str| {
        let token = token.clone();
        let idp = &idp;
        async move {
            let page = call(
                idp,
                Some(&token),
                Method::GET,
                &format!("/api/users?{query}"),
                None,
            )
            .await;
            assert_eq!(page.status, 200, "{query}: {page:?}");
            page.json()
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("search=%25alice%25").await, [ALICE]);
    assert!(
        search("search=alice").await.is_empty(),
        "Logto adds no wildcards"
    );
    assert_eq!(
        search("search=ALICE@example.com").await,
        [ALICE],
        "any case"
    );
    assert_eq!(search("search.username=bob").await, [BOB]);
    assert_eq!(search("search.primaryEmail=bob@example.com&search.primaryEmail=alice@example.com&mode.primaryEmail=exact").await.len(), 2);
    assert!(
        search("search=ALICE@example.com&isCaseSensitive=true")
            .await
            .is_empty()
    );
    let bad = call(
        &idp,
        Some(&token),
        Method::GET,
        "/api/users?page_size=101",
        None,
    )
    .await;
    assert_error(&bad, 400, "guard.invalid_pagination");
    let empty = call(&idp, Some(&token), Method::GET, "/api/users?search=", None).await;
    assert_eq!(
        assert_error(&empty, 400, "request.invalid_input")["message"],
        "Input is invalid. Search value cannot be empty."
    );
}

#[tokio::test]
async fn roles_are_assigned_and_removed_and_the_next_tokens_carry_them() {
    let idp = Idp::start().await;
    let token = token(&idp).await;
    let tenant = idp.idp.tenant();
    let reader = tenant
        .roles
        .iter()
        .find(|r| r.name == "reader")
        .unwrap()
        .id
        .clone();
    let m2m = tenant
        .roles
        .iter()
        .find(|r| r.role_type == "MachineToMachine")
        .unwrap()
        .id
        .clone();
    let alice_roles = call(
        &idp,
        Some(&token),
        Method::GET,
        &format!("/api/users/{ALICE}/roles"),
        None,
    )
    .await;
    assert_eq!(alice_roles.json()[0]["name"], "reader");
    assert_eq!(alice_roles.json()[0]["type"], "User");
    assert_eq!(alice_roles.header("total-number"), Some("1"));

    let path = format!("/api/users/{BOB}/roles");
    let assigned = call(
        &idp,
        Some(&token),
        Method::POST,
        &path,
        Some(json!({"roleIds": [reader]})),
    )
    .await;
    assert_eq!(assigned.status, 201, "{assigned:?}");
    let again = call(
        &idp,
        Some(&token),
        Method::POST,
        &path,
        Some(json!({"roleIds": [reader]})),
    )
    .await;
    assert_eq!(again.status, 201, "assigning it twice is a no-op");
    let code = idp
        .code("bob@example.com", &[("scope", "openid roles")])
        .await;
    let claims = jwt_part(
        idp.exchange(&code).await.json()["id_token"]
            .as_str()
            .unwrap(),
        1,
    );
    assert_eq!(
        claims["roles"],
        json!(["reader"]),
        "the next sign-in sees the role"
    );

    let wrong_type = call(
        &idp,
        Some(&token),
        Method::POST,
        &path,
        Some(json!({"roleIds": [m2m]})),
    )
    .await;
    assert_error(&wrong_type, 422, "user.invalid_role_type");
    let unknown = call(
        &idp,
        Some(&token),
        Method::POST,
        &path,
        Some(json!({"roleIds": ["nope"]})),
    )
    .await;
    assert_eq!(
        assert_error(&unknown, 404, "entity.not_exists_with_id")["message"],
        "The roles with ID `nope` does not exist."
    );
    let one = format!("{path}/{reader}");
    assert_eq!(
        call(&idp, Some(&token), Method::DELETE, &one, None)
            .await
            .status,
        204
    );
    assert_error(
        &call(&idp, Some(&token), Method::DELETE, &one, None).await,
        404,
        "entity.not_found",
    );
    assert!(idp.idp.tenant().role_names(BOB).is_empty());
}

#[tokio::test]
async fn what_no_route_serves_is_koas_plain_text_before_any_token_check() {
    let idp = Idp::start().await;
    let unknown = call(&idp, None, Method::GET, "/api/nope", None).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(unknown.body, "Not Found");
    let wrong_method = call(
        &idp,
        None,
        Method::PUT,
        &format!("/api/users/{ALICE}"),
        None,
    )
    .await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.body, "Method Not Allowed");
    let allow = wrong_method.header("allow").unwrap_or_default();
    assert!(
        allow.contains("GET") && allow.contains("PATCH") && allow.contains("DELETE"),
        "{allow}"
    );
}

#[tokio::test]
async fn organizations_list_their_members_with_roles_and_members_come_and_go() {
    let idp = Idp::start().await;
    let token = token(&idp).await;
    let acme = "24l7enrqcaw3x9e87div7";
    let of_alice = call(
        &idp,
        Some(&token),
        Method::GET,
        &format!("/api/users/{ALICE}/organizations"),
        None,
    )
    .await;
    assert_eq!(of_alice.status, 200, "{of_alice:?}");
    let first = &of_alice.json()[0];
    assert_eq!(first["name"], "Acme");
    assert_eq!(first["organizationRoles"][0]["name"], "admin");
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "tenantId",
            "id",
            "name",
            "description",
            "customData",
            "isMfaRequired",
            "createdAt",
            "organizationRoles"
        ]
    );
    let members = call(
        &idp,
        Some(&token),
        Method::GET,
        &format!("/api/organizations/{acme}/users"),
        None,
    )
    .await;
    assert_eq!(members.header("total-number"), Some("1"));
    assert_eq!(members.json()[0]["id"], ALICE);
    assert_eq!(
        members.json()[0]["organizationRoles"],
        json!([{"id": members.json()[0]["organizationRoles"][0]["id"], "name": "admin"}])
    );

    let path = format!("/api/organizations/{acme}/users");
    let added = call(
        &idp,
        Some(&token),
        Method::POST,
        &path,
        Some(json!({"userIds": [BOB]})),
    )
    .await;
    assert_eq!(added.status, 201, "{added:?}");
    assert_eq!(
        idp.idp.tenant().organizations_of(BOB).len(),
        2,
        "Globex and now Acme"
    );
    let stranger = call(
        &idp,
        Some(&token),
        Method::POST,
        &path,
        Some(json!({"userIds": ["nobody"]})),
    )
    .await;
    assert_error(&stranger, 422, "entity.relation_foreign_key_not_found");
    let one = format!("{path}/{BOB}");
    assert_eq!(
        call(&idp, Some(&token), Method::DELETE, &one, None)
            .await
            .status,
        204
    );
    assert_error(
        &call(&idp, Some(&token), Method::DELETE, &one, None).await,
        404,
        "entity.not_found",
    );
    let unknown = call(
        &idp,
        Some(&token),
        Method::GET,
        "/api/organizations/nope/users",
        None,
    )
    .await;
    assert_eq!(
        unknown.json(),
        json!([]),
        "Logto does not look the organization up"
    );
    let no_user = call(
        &idp,
        Some(&token),
        Method::GET,
        "/api/users/nobody/organizations",
        None,
    )
    .await;
    assert_error(&no_user, 404, "entity.not_found");
}

#[tokio::test]
async fn passwords_and_suspension_are_set_through_their_own_routes() {
    let idp = Idp::start().await;
    let token = token(&idp).await;
    let path = format!("/api/users/{BOB}");
    let has = call(
        &idp,
        Some(&token),
        Method::GET,
        &format!("{path}/has-password"),
        None,
    )
    .await;
    assert_eq!(has.json(), json!({"hasPassword": true}));
    let changed = call(
        &idp,
        Some(&token),
        Method::PATCH,
        &format!("{path}/password"),
        Some(json!({"password": "bob-New-Secret-3"})),
    )
    .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    let verify = |password: &'static str| {
        let token = token.clone();
        let path = path.clone();
        let idp = &idp;
        async move {
            call(
                idp,
                Some(&token),
                Method::POST,
                &format!("{path}/password/verify"),
                Some(json!({"password": password})),
            )
            .await
        }
    };
    assert_eq!(verify("bob-New-Secret-3").await.status, 204);
    assert_error(
        &verify("bob-Secret-1").await,
        422,
        "session.invalid_credentials",
    );
    let agent = Agent::new();
    let to_logto = agent.get(&idp.idp.sign_in_url()).await;
    let back = agent
        .sign_in_with_password(&idp.idp, &to_logto, "bob", "bob-New-Secret-3")
        .await;
    assert!(
        back.location_param("code").is_some(),
        "the next sign-in takes it: {back:?}"
    );

    let suspended = call(
        &idp,
        Some(&token),
        Method::PATCH,
        &format!("{path}/is-suspended"),
        Some(json!({"isSuspended": true})),
    )
    .await;
    assert_eq!(suspended.json()["isSuspended"], true);
    assert!(idp.idp.user("bob@example.com").unwrap().is_suspended);
    let not_bool = call(
        &idp,
        Some(&token),
        Method::PATCH,
        &format!("{path}/is-suspended"),
        Some(json!({"isSuspended": "yes"})),
    )
    .await;
    assert_error(&not_bool, 400, "guard.invalid_input");
    let empty_header = idp
        .http
        .get(format!("{}{path}", idp.idp.base_url()))
        .header("Authorization", "")
        .send()
        .await
        .unwrap();
    assert_error(
        &answer(empty_header).await,
        401,
        "auth.authorization_header_missing",
    );
    let bad_digest = call(
        &idp,
        Some(&token),
        Method::POST,
        "/api/users",
        Some(json!({"username": "zed", "passwordDigest": "abc", "passwordAlgorithm": "SHA256"})),
    )
    .await;
    let body = assert_error(&bad_digest, 400, "guard.invalid_input");
    assert!(
        body["details"].as_str().unwrap().contains("passwordDigest"),
        "{body}"
    );
}

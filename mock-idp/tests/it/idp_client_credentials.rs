//! `grant_type=client_credentials`: machine-to-machine apps and their JWT access tokens, as
//! Logto issues them, and the grant types each kind of app may use.

use mock_idp::MockIdp;
use mock_idp::tenant::{Application, Resource};
use serde_json::{Value, json};

use crate::idp_support::{Idp, OidcAssert, answer, encode, jwt_part};

const API: &str = "https://api.example.com";

/// POSTs `form` to the token endpoint as the fixture's machine-to-machine app (HTTP Basic).
async fn as_m2m(idp: &Idp, form: &[(&str, &str)]) -> mock_idp::Page {
    let app = idp
        .idp
        .machine_to_machine_app()
        .expect("the fixture has one");
    let request = idp
        .http
        .post(idp.idp.token_endpoint())
        .basic_auth(&app.id, app.secret.as_deref())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(encode(form));
    answer(request.send().await.unwrap()).await
}

#[tokio::test]
async fn an_m2m_app_gets_a_jwt_with_the_scopes_its_roles_grant_of_those_it_asked_for() {
    let idp = Idp::start().await;
    let app = idp.idp.machine_to_machine_app().unwrap();
    let tokens = as_m2m(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("resource", API),
            ("scope", "write:messages read:messages nope read:messages"),
        ],
    )
    .await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    let body = tokens.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["access_token", "expires_in", "token_type", "scope"]);
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["scope"], "read:messages",
        "write:messages is not granted"
    );
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(jwt_part(token, 0)["typ"], "at+jwt");
    let claims = jwt_part(token, 1);
    let names: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        [
            "jti",
            "sub",
            "iat",
            "exp",
            "scope",
            "client_id",
            "iss",
            "aud"
        ]
    );
    assert_eq!(claims["sub"], app.id.as_str(), "no user: the app itself");
    assert_eq!(claims["client_id"], app.id.as_str());
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["iss"], idp.idp.issuer());
    assert_eq!(claims["scope"], "read:messages");
}

#[tokio::test]
async fn nothing_is_granted_unasked_and_then_scope_is_left_out() {
    let idp = Idp::start().await;
    let tokens = as_m2m(
        &idp,
        &[("grant_type", "client_credentials"), ("resource", API)],
    )
    .await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    assert!(tokens.json().get("scope").is_none(), "{tokens:?}");
    let claims = jwt_part(tokens.json()["access_token"].as_str().unwrap(), 1);
    assert!(claims.get("scope").is_none(), "{claims}");
}

#[tokio::test]
async fn without_resource_the_default_api_resource_is_used_or_invalid_target() {
    let idp = Idp::start().await;
    let none = as_m2m(
        &idp,
        &[("grant_type", "client_credentials"), ("scope", "all")],
    )
    .await;
    assert_eq!(
        none.assert_oidc_error(400, "invalid_target"),
        "both `resource` and `organization_id` are not provided"
    );
    let default = Resource::new("Default API", "https://default.example.com")
        .scope("ping")
        .default_resource()
        .access_token_ttl(600);
    let idp = Idp::start_with(MockIdp::builder().resource(default)).await;
    let tokens = as_m2m(&idp, &[("grant_type", "client_credentials")]).await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    assert_eq!(
        tokens.json()["expires_in"],
        600,
        "the resource's accessTokenTtl"
    );
    let claims = jwt_part(tokens.json()["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["aud"], "https://default.example.com");
}

#[tokio::test]
async fn resources_are_checked_as_logto_checks_them() {
    let idp = Idp::start().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("resource", "https://unknown.example.com")],
            "resource indicator is missing, or unknown",
        ),
        (
            &[("resource", "not-a-uri")],
            "resource indicator must be an absolute URI",
        ),
        (
            &[("resource", "urn:example:orders")],
            "resource indicator is missing, or unknown",
        ),
        (
            &[("resource", "https://api.example.com#x")],
            "resource indicator must not contain a fragment component",
        ),
        (
            &[
                ("resource", API),
                ("resource", "https://default.logto.app/api"),
            ],
            "only a single resource indicator value is supported for this grant type",
        ),
    ];
    for (extra, description) in cases {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(extra);
        let answer = as_m2m(&idp, &form).await;
        assert_eq!(
            &answer.assert_oidc_error(400, "invalid_target"),
            description,
            "{extra:?}"
        );
    }
    let org = as_m2m(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("resource", API),
            ("organization_id", "org1"),
        ],
    )
    .await;
    assert_eq!(
        org.assert_oidc_error(403, "access_denied"),
        "app has not associated with the organization"
    );
}

#[tokio::test]
async fn each_kind_of_app_uses_only_its_own_grants() {
    let idp = Idp::start().await;
    // The fixture's traditional web app may not use client_credentials...
    let web = idp
        .token(&[("grant_type", "client_credentials"), ("resource", API)])
        .await;
    assert_eq!(
        web.assert_oidc_error(400, "unauthorized_client"),
        "requested grant type is not allowed for this client"
    );
    assert_eq!(
        web.json()["message"],
        "An OIDC error occurred: oidc.unauthorized_client."
    );
    // ...and the machine-to-machine app nothing else.
    for grant in ["authorization_code", "refresh_token"] {
        let m2m = as_m2m(
            &idp,
            &[("grant_type", grant), ("code", "x"), ("refresh_token", "x")],
        )
        .await;
        assert_eq!(
            m2m.assert_oidc_error(400, "unauthorized_client"),
            "requested grant type is not allowed for this client",
            "{grant}"
        );
    }
    let unknown = as_m2m(&idp, &[("grant_type", "password")]).await;
    unknown.assert_oidc_error(400, "unsupported_grant_type");
    // Nor may it sign users in.
    let app = idp.idp.machine_to_machine_app().unwrap();
    let auth = idp.get(&idp.auth_url(&[("client_id", &app.id)]), &[]).await;
    assert!(auth.raw_location().is_none(), "{auth:?}");
    assert_eq!(auth.status, 400, "{auth:?}");
}

#[tokio::test]
async fn a_wrong_secret_is_401_and_an_unknown_client_400() {
    let idp = Idp::start().await;
    let app = idp.idp.machine_to_machine_app().unwrap();
    let post = |form: Vec<(&'static str, String)>| {
        let http = idp.http.clone();
        let url = idp.idp.token_endpoint();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let request = http
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(encode(&form));
            answer(request.send().await.unwrap()).await
        }
    };
    let wrong = post(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", app.id.clone()),
        ("client_secret", "wrong".into()),
        ("resource", API.into()),
    ])
    .await;
    assert_eq!(
        wrong.assert_oidc_error(401, "invalid_client"),
        "client authentication failed"
    );
    let right = post(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", app.id.clone()),
        ("client_secret", app.secret.clone().unwrap()),
        ("resource", API.into()),
    ])
    .await;
    assert_eq!(right.status, 200, "client_secret_post works too: {right:?}");
    let unknown = post(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", "not-found".into()),
        ("client_secret", "x".into()),
    ])
    .await;
    assert_eq!(
        unknown.assert_oidc_error(400, "invalid_client"),
        "invalid client not-found"
    );
}

#[tokio::test]
async fn the_builder_adds_m2m_apps_and_roles_and_discovery_lists_the_grant() {
    use mock_idp::tenant::Role;
    let idp = Idp::start_with(
        MockIdp::builder()
            .application(Application::machine_to_machine(
                "cronjob0000000000000",
                "s3cret-s3cret-s3cret-s3cret-s3cr",
            ))
            .role(
                Role::machine_to_machine("cron")
                    .application("cronjob0000000000000")
                    .scope(API, "write:messages"),
            ),
    )
    .await;
    let tokens = idp
        .http
        .post(idp.idp.token_endpoint())
        .basic_auth(
            "cronjob0000000000000",
            Some("s3cret-s3cret-s3cret-s3cret-s3cr"),
        )
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", API),
            ("scope", "write:messages read:messages"),
        ])
        .send()
        .await
        .unwrap();
    let tokens: Value = tokens.json().await.unwrap();
    assert_eq!(tokens["scope"], "write:messages");
    let discovery: Value = idp
        .http
        .get(idp.idp.discovery_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    let refused = MockIdp::builder()
        .role(Role::machine_to_machine("cron").member("alice@example.com"))
        .start()
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("MachineToMachine"),
        "{refused}"
    );
}

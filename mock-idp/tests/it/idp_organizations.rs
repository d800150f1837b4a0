//! Organizations as Logto serves them: the organization scopes and claims, organization
//! tokens from the refresh grant with `organization_id` (and Logto's refusals), and the
//! builder's organizations.

use mock_idp::MockIdp;
use mock_idp::tenant::{Organization, OrganizationRole};
use serde_json::{Value, json};

use crate::idp_support::{Idp, OidcAssert, jwt_part};

const ACME: &str = "24l7enrqcaw3x9e87div7";
const GLOBEX: &str = "f9c7kojso0swg0zvrfyg4";
const ORGS: &str = "urn:logto:scope:organizations";
const ORG_ROLES: &str = "urn:logto:scope:organization_roles";

/// Signs `email` in with `scope` (and the organizations resource) and returns the tokens.
async fn sign_in(idp: &Idp, email: &str, scope: &str) -> Value {
    let code = idp
        .code(
            email,
            &[
                ("scope", scope),
                ("resource", "urn:logto:resource:organizations"),
            ],
        )
        .await;
    let tokens = idp.exchange(&code).await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    tokens.json()
}

async fn refresh(idp: &Idp, tokens: &Value, extra: &[(&str, &str)]) -> mock_idp::Page {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ];
    form.extend_from_slice(extra);
    idp.token(&form).await
}

#[tokio::test]
async fn the_organization_scopes_release_ids_roles_and_data_as_logto_does() {
    let idp = Idp::start().await;
    let scope = format!("openid {ORGS} {ORG_ROLES}");
    let alice = sign_in(&idp, "alice@example.com", &scope).await;
    let claims = jwt_part(alice["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["organizations"], json!([ACME, GLOBEX]));
    assert_eq!(
        claims["organization_roles"],
        json!([format!("{ACME}:admin"), format!("{GLOBEX}:member")])
    );
    assert!(
        claims.get("organization_data").is_none(),
        "not in Logto's default enabledExtendedClaims"
    );
    let me = idp
        .userinfo(alice["access_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(me["organizations"], json!([ACME, GLOBEX]));
    assert_eq!(
        me["organization_data"][0],
        json!({"id": ACME, "name": "Acme", "description": "Alice's company"})
    );
    let bob = sign_in(&idp, "bob@example.com", &scope).await;
    let claims = jwt_part(bob["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["organizations"], json!([GLOBEX]));
    let plain = sign_in(&idp, "bob@example.com", "openid").await;
    let claims = jwt_part(plain["id_token"].as_str().unwrap(), 1);
    assert!(claims.get("organizations").is_none(), "{claims}");
}

#[tokio::test]
async fn an_organization_token_carries_the_scopes_of_the_members_roles_there() {
    let idp = Idp::start().await;
    let alice = sign_in(
        &idp,
        "alice@example.com",
        &format!("openid offline_access {ORGS} read:data write:data"),
    )
    .await;
    let acme = refresh(&idp, &alice, &[("organization_id", ACME)]).await;
    assert_eq!(acme.status, 200, "{acme:?}");
    let body = acme.json();
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read:data write:data", "admin in Acme");
    let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["aud"], format!("urn:logto:organization:{ACME}"));
    assert_eq!(
        claims["sub"],
        idp.idp.user("alice@example.com").unwrap().id.as_str()
    );
    assert_eq!(claims["scope"], "read:data write:data");
    assert!(claims.get("organization_id").is_none(), "{claims}");
    assert!(
        body["id_token"].is_string(),
        "openid held: a fresh ID token"
    );

    let alice = json!({"refresh_token": body["refresh_token"]});
    let globex = refresh(&idp, &alice, &[("organization_id", GLOBEX)]).await;
    assert_eq!(globex.json()["scope"], "read:data", "a member in Globex");
    let narrowed = refresh(
        &idp,
        &alice,
        &[("organization_id", GLOBEX), ("scope", "write:data")],
    )
    .await;
    assert_eq!(narrowed.status, 200, "{narrowed:?}");
    assert_eq!(
        narrowed.json()["scope"],
        "",
        "asked, not granted there: empty, as Logto answers"
    );
    assert!(narrowed.json().get("id_token").is_none(), "no openid asked");
    let unheld = refresh(
        &idp,
        &alice,
        &[("organization_id", ACME), ("scope", "delete:data")],
    )
    .await;
    assert_eq!(
        unheld.assert_oidc_error(400, "invalid_scope"),
        "refresh token missing requested scope"
    );
    assert_eq!(unheld.json()["scope"], "delete:data");
}

#[tokio::test]
async fn logto_refuses_non_members_and_refresh_tokens_without_the_organizations_scope() {
    let idp = Idp::start().await;
    let bob = sign_in(
        &idp,
        "bob@example.com",
        &format!("openid offline_access {ORGS} read:data"),
    )
    .await;
    for organization in [ACME, "no-such-organization"] {
        let refused = refresh(&idp, &bob, &[("organization_id", organization)]).await;
        assert_eq!(
            refused.assert_oidc_error(403, "access_denied"),
            "user is not a member of the organization"
        );
        assert_eq!(refused.json()["message"], "Access denied.");
    }
    let without = sign_in(&idp, "bob@example.com", "openid offline_access read:data").await;
    let refused = refresh(&idp, &without, &[("organization_id", GLOBEX)]).await;
    assert_eq!(
        refused.assert_oidc_error(403, "insufficient_scope"),
        "refresh token missing required scope"
    );
    assert_eq!(refused.json()["scope"], ORGS);
}

#[tokio::test]
async fn organization_id_with_a_resource_gives_the_resource_token_with_the_organization() {
    let idp = Idp::start().await;
    let code = idp
        .code(
            "alice@example.com",
            &[
                (
                    "scope",
                    &format!("openid offline_access {ORGS} read:messages"),
                ),
                ("resource", "https://api.example.com"),
            ],
        )
        .await;
    let tokens = idp.exchange(&code).await.json();
    let answer = refresh(
        &idp,
        &tokens,
        &[
            ("organization_id", ACME),
            ("resource", "https://api.example.com"),
        ],
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let claims = jwt_part(answer.json()["access_token"].as_str().unwrap(), 1);
    let names: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names[0], "organization_id",
        "Logto's extra claims come first"
    );
    assert_eq!(claims["organization_id"], ACME);
    assert_eq!(claims["aud"], "https://api.example.com");
    assert_eq!(claims["scope"], "read:messages");
}

#[tokio::test]
async fn the_builder_adds_organizations_and_roles_and_refuses_strangers() {
    let idp = Idp::start_with(
        MockIdp::builder()
            .organization_role(OrganizationRole::new("auditor").scope("audit:data"))
            .organization(
                Organization::new("Initech")
                    .id("initech")
                    .member("bob@example.com", &["auditor"]),
            ),
    )
    .await;
    let bob = sign_in(
        &idp,
        "bob@example.com",
        &format!("openid offline_access {ORGS} {ORG_ROLES} audit:data"),
    )
    .await;
    let claims = jwt_part(bob["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["organizations"], json!([GLOBEX, "initech"]));
    assert_eq!(
        claims["organization_roles"],
        json!([format!("{GLOBEX}:member"), "initech:auditor"])
    );
    let token = refresh(&idp, &bob, &[("organization_id", "initech")]).await;
    assert_eq!(token.json()["scope"], "audit:data");
    let twin = MockIdp::builder()
        .organization(Organization::new("Twin").id(ACME))
        .start()
        .await
        .unwrap_err();
    assert!(twin.to_string().contains(ACME), "{twin}");
    let refused = MockIdp::builder()
        .organization(Organization::new("Nowhere").member("nobody@example.com", &[]))
        .start()
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("nobody@example.com"),
        "{refused}"
    );
}

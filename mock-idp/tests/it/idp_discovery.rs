//! Discovery and JWKS: Logto's fields for what is implemented, this instance's URLs.

use mock_idp::{MockIdp, SigningAlg};

use crate::idp_support::{Idp, OidcAssert, answer, jwt_part};

#[tokio::test]
async fn discovery_lists_logtos_fields_for_this_instance() {
    let idp = Idp::start().await;
    let issuer = idp.idp.issuer();
    assert_eq!(issuer, format!("{}/oidc", idp.idp.base_url()));
    let response = answer(idp.http.get(idp.idp.discovery_url()).send().await.unwrap()).await;
    assert_eq!(response.status, 200);
    assert!(
        response.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc = response.json();
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        keys, sorted,
        "keys in the order of Logto's snapshot (alphabetical)"
    );
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["authorization_endpoint"], format!("{issuer}/auth"));
    assert_eq!(doc["token_endpoint"], format!("{issuer}/token"));
    assert_eq!(doc["userinfo_endpoint"], format!("{issuer}/me"));
    assert_eq!(doc["jwks_uri"], format!("{issuer}/jwks"));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES384"])
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(doc["end_session_endpoint"], format!("{issuer}/session/end"));
    assert_eq!(
        doc["revocation_endpoint"],
        format!("{issuer}/token/revocation")
    );
    assert_eq!(
        doc["introspection_endpoint"],
        format!("{issuer}/token/introspection")
    );
    assert_eq!(
        doc["grant_types_supported"],
        serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    for absent in [
        "device_authorization_endpoint",
        "pushed_authorization_request_endpoint",
    ] {
        assert!(
            doc.get(absent).is_none(),
            "{absent} is not implemented, so not advertised"
        );
    }
    let same = answer(
        idp.http
            .get(format!("{issuer}/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(same.json(), doc);
}

#[tokio::test]
async fn jwks_has_rfc_7638_kids_use_and_alg_with_logtos_headers() {
    let idp = Idp::start().await;
    let response = answer(idp.http.get(idp.idp.jwks_uri()).send().await.unwrap()).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.headers["content-type"],
        "application/jwk-set+json; charset=utf-8"
    );
    assert_eq!(
        response.headers["cache-control"],
        "no-cache, max-age=0, must-revalidate"
    );
    let jwks = response.json();
    let first = &jwks["keys"][0];
    assert_eq!(
        (first["kty"].as_str(), first["crv"].as_str()),
        (Some("EC"), Some("P-384"))
    );
    assert_eq!(
        (first["alg"].as_str(), first["use"].as_str()),
        (Some("ES384"), Some("sig"))
    );
    assert_eq!(
        first["kid"].as_str().unwrap().len(),
        43,
        "base64url SHA-256"
    );
    assert!(first.get("d").is_none(), "no private parts");
    assert_eq!(jwks["keys"][1]["kty"], "RSA");
    assert!(jwks["keys"][1].get("d").is_none());
}

#[tokio::test]
async fn rs256_is_selectable_and_advertised() {
    let idp = Idp::start_with(MockIdp::builder().signing_alg(SigningAlg::Rs256)).await;
    let doc = answer(idp.http.get(idp.idp.discovery_url()).send().await.unwrap())
        .await
        .json();
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    let jwks = answer(idp.http.get(idp.idp.jwks_uri()).send().await.unwrap())
        .await
        .json();
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
}

#[tokio::test]
async fn a_public_url_is_the_origin_of_every_url() {
    let idp = Idp::start_with(MockIdp::builder().public_url("https://idp.example.test/")).await;
    assert_eq!(idp.idp.issuer(), "https://idp.example.test/oidc");
    let url = format!(
        "http://{}/oidc/.well-known/openid-configuration",
        idp.idp.address()
    );
    let doc = answer(idp.http.get(url).send().await.unwrap()).await.json();
    assert_eq!(doc["issuer"], "https://idp.example.test/oidc");
    assert_eq!(doc["token_endpoint"], "https://idp.example.test/oidc/token");
}

#[tokio::test]
async fn unknown_routes_answer_in_logtos_shape() {
    let idp = Idp::start().await;
    let response = answer(
        idp.http
            .get(format!("{}/nope", idp.idp.issuer()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let description = response.assert_oidc_error(404, "invalid_request");
    assert!(description.contains("unrecognized route"), "{description}");
    let wrong_method = answer(
        idp.http
            .delete(idp.idp.token_endpoint())
            .send()
            .await
            .unwrap(),
    )
    .await;
    wrong_method.assert_oidc_error(404, "invalid_request");
}

#[tokio::test]
async fn a_builder_key_signs_and_the_fixture_keys_stay_published() {
    let rsa = mock_idp::tenant::Tenant::fixture()
        .unwrap()
        .logto_configs
        .oidc_private_keys[1]
        .value
        .clone();
    let idp = Idp::start_with(MockIdp::builder().signing_key(rsa)).await;
    assert_eq!(idp.idp.signing_alg(), SigningAlg::Rs256);
    let jwks = answer(idp.http.get(idp.idp.jwks_uri()).send().await.unwrap())
        .await
        .json();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2, "the same key is published once: {kids:?}");
    assert_eq!(
        jwks["keys"][0]["alg"], "RS256",
        "the current key comes first"
    );
    let code = idp.code("alice@example.com", &[]).await;
    let tokens = idp.exchange(&code).await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    let header = jwt_part(tokens.json()["id_token"].as_str().unwrap(), 0);
    assert_eq!(header["alg"], "RS256", "{header}");
    assert_eq!(header["kid"], jwks["keys"][0]["kid"], "{header}");
}

#[tokio::test]
async fn dropping_the_idp_stops_it_and_its_fake_postmark() {
    let idp = MockIdp::start().await.unwrap();
    let (idp_addr, postmark_addr) = (idp.address(), idp.postmark().unwrap().address());
    drop(idp);
    std::net::TcpListener::bind(idp_addr).expect("the IdP port is free");
    std::net::TcpListener::bind(postmark_addr).expect("the fake Postmark port is free");
}

#[tokio::test]
async fn a_builder_user_with_a_fixture_email_replaces_that_user() {
    let fixture = MockIdp::start().await.unwrap();
    let alice = fixture.user("alice@example.com").unwrap();
    let idp = MockIdp::builder()
        .user(mock_idp::User::email("alice@example.com").name("Alice Renamed"))
        .start()
        .await
        .unwrap();
    let renamed = idp.user("alice@example.com").unwrap();
    assert_eq!(renamed.id, alice.id, "she keeps her id");
    assert_eq!(renamed.name.as_deref(), Some("Alice Renamed"));
    let alices = idp
        .tenant()
        .users
        .iter()
        .filter(|u| u.primary_email.as_deref() == Some("alice@example.com"))
        .count();
    assert_eq!(alices, 1);
}

//! An independent, strict client: the `openidconnect` crate does discovery, PKCE, the code
//! exchange, ID-token verification (signature, issuer, audience, nonce, expiry) and userinfo
//! against the mock, for ES384 (Logto's default) and RS256.

use std::future::Future;
use std::pin::Pin;

use mock_idp::{MockIdp, SigningAlg};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::idp_support::{Idp, REDIRECT};

pub(crate) type Pending =
    Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send>>;

/// openidconnect's HTTP client as a closure over our reqwest (no redirects followed).
pub(crate) fn http(client: reqwest::Client) -> impl Fn(HttpRequest) -> Pending {
    move |request: HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let mut builder = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            Ok(builder
                .body(response.bytes().await?.to_vec())
                .expect("a response"))
        })
    }
}

async fn full_flow(alg: SigningAlg) {
    let idp = Idp::start_with(MockIdp::builder().signing_alg(alg)).await;
    let http = http(idp.http.clone());
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(idp.idp.issuer()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(idp.client_id.clone()),
        Some(ClientSecret::new(idp.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    let started = idp.get(url.as_str(), &[]).await;
    let interaction = started.cookie("_interaction").expect("an interaction");
    let resume = idp.idp.test_only_login("alice@example.com").unwrap();
    let done = idp.get(&resume, &[("_interaction", &interaction)]).await;
    assert_eq!(
        done.location_param("state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = done.location_param("code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("a token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("a valid ID token");
    let alice = idp.idp.user("alice@example.com").unwrap();
    assert_eq!(claims.subject().as_str(), alice.id);
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    assert_eq!(claims.email_verified(), Some(true));

    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .expect("a userinfo endpoint")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject().as_str(), alice.id);
    assert_eq!(
        userinfo.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );

    // A nonce other than the one sent is refused by the client: the mock echoes the real one.
    let wrong = id_token.claims(&client.id_token_verifier(), &Nonce::new("other".into()));
    assert!(wrong.is_err());
}

#[tokio::test]
async fn openidconnect_signs_in_with_es384() {
    full_flow(SigningAlg::Es384).await;
}

#[tokio::test]
async fn openidconnect_signs_in_with_rs256() {
    full_flow(SigningAlg::Rs256).await;
}

#[tokio::test]
async fn the_same_seed_and_clock_give_the_same_codes_and_tokens() {
    async fn run(alg: SigningAlg) -> (String, serde_json::Value) {
        let clock = mock_idp::Clock::fixed(time::macros::datetime!(2026-02-02 10:00 UTC));
        // The issuer is part of every token: a fixed public URL keeps it the same across ports.
        let builder = MockIdp::builder()
            .seed(7)
            .clock(clock)
            .signing_alg(alg)
            .public_url("http://idp.test");
        let mut idp = Idp::start_with(builder).await;
        idp.http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve("idp.test", idp.idp.address())
            .build()
            .unwrap();
        let code = idp.code("alice@example.com", &[]).await;
        let exchanged = idp.exchange(&code).await;
        assert_eq!(exchanged.status, 200, "{exchanged:?}");
        let body = exchanged.json();
        assert!(body["id_token"].is_string(), "{body}");
        (code, body)
    }
    /// The ID token's header and payload, without the signature.
    fn signed_part(body: &serde_json::Value) -> &str {
        let token = body["id_token"].as_str().unwrap();
        token.rsplit_once('.').unwrap().0
    }

    // ES384 (Logto's): every byte but the ECDSA signature, which aws-lc randomises.
    let (first, second) = (run(SigningAlg::Es384).await, run(SigningAlg::Es384).await);
    assert_eq!(first.0, second.0, "the authorization code replays");
    assert_eq!(signed_part(&first.1), signed_part(&second.1));
    let without_id_token = |body: &serde_json::Value| {
        let mut body = body.clone();
        body["id_token"] = serde_json::Value::Null;
        body
    };
    assert_eq!(without_id_token(&first.1), without_id_token(&second.1));
    assert_ne!(first.1["id_token"], second.1["id_token"]);

    // RS256: PKCS#1 v1.5 signatures are deterministic, so the whole answer replays.
    assert_eq!(run(SigningAlg::Rs256).await, run(SigningAlg::Rs256).await);
}

//! The peer: `oauth2-test-server` (crates.io), a Rust mock OAuth 2.0 / OpenID Connect server for
//! tests. Its sign-in is three requests: `/authorize` consents at once and redirects with a
//! code, then `/token` and `/userinfo`. It starts on the caller's runtime and generates its RSA
//! key at start.

use oauth2_test_server::OAuthTestServer;
use serde_json::{Value, json};

use crate::harness::Target;

const REDIRECT: &str = "http://localhost:3000/callback";

/// One peer server with one registered client.
pub struct Peer {
    server: OAuthTestServer,
    client_id: String,
    client_secret: String,
}

impl Target for Peer {
    const NAME: &'static str = "oauth2-test-server 0.2";
    const REQUESTS: u32 = 3;

    async fn start(_users: usize) -> Self {
        let server = OAuthTestServer::start().await;
        let client = server
            .register_client(json!({
                "client_name": "bench",
                "redirect_uris": [REDIRECT],
                "scope": "openid profile email",
            }))
            .await;
        Self {
            client_id: client.client_id,
            client_secret: client.client_secret.unwrap_or_default(),
            server,
        }
    }

    fn ready_url(&self) -> String {
        self.server.endpoints.discovery.clone()
    }

    async fn flow(&self, http: &reqwest::Client, user: usize) -> Result<(), String> {
        let err = |e: reqwest::Error| e.to_string();
        let state = format!("state-{user}");
        let authorize = http
            .get(&self.server.endpoints.authorize)
            .query(&[
                ("response_type", "code"),
                ("client_id", self.client_id.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", "openid profile email"),
                ("state", state.as_str()),
                ("nonce", "nonce"),
            ])
            .send()
            .await
            .map_err(err)?;
        let location = authorize
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("authorize: {}", authorize.status()))?;
        let code = reqwest::Url::parse(location)
            .map_err(|e| e.to_string())?
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .ok_or("no code")?;
        let tokens: Value = http
            .post(&self.server.endpoints.token)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.as_str()),
            ])
            .send()
            .await
            .map_err(err)?
            .json()
            .await
            .map_err(err)?;
        let access = tokens["access_token"].as_str().ok_or("no access token")?;
        let me = http
            .get(&self.server.endpoints.userinfo)
            .bearer_auth(access)
            .send()
            .await
            .map_err(err)?;
        if !me.status().is_success() {
            return Err(format!("userinfo: {}", me.status()));
        }
        Ok(())
    }
}

//! The README's "sign in from a Rust test" example, kept compiling and passing.

use mock_idp::MockIdp;
use reqwest::redirect::Policy;
use serde_json::Value;

#[tokio::test]
async fn readme_sign_in_example() -> Result<(), Box<dyn std::error::Error>> {
    let idp = MockIdp::start().await?;
    let app = idp.app();
    let callback: &'static str = "http://localhost:3000/callback"; // the sample app's redirect URI
    let browser = reqwest::Client::builder()
        .cookie_store(true) // reqwest's "cookies" feature
        .redirect(Policy::custom(move |a| {
            if a.url().as_str().starts_with(callback) {
                a.stop()
            } else {
                a.follow()
            }
        }))
        .build()?;
    let auth = format!(
        "{}?client_id={}&redirect_uri={callback}&response_type=code&scope=openid%20email",
        idp.authorization_endpoint(),
        app.id
    );
    browser.get(auth).send().await?; // 303 → the sign-in page
    browser
        .post(format!("{}/sign-in", idp.base_url()))
        .form(&[("identifier", "alice@example.com")])
        .send()
        .await?;
    let code = idp
        .inbox()
        .unwrap()
        .wait_for("alice@example.com")
        .await?
        .code()
        .unwrap()
        .to_owned();
    let back = browser
        .post(format!("{}/sign-in/verification-code", idp.base_url()))
        .form(&[("code", code)])
        .send()
        .await?;
    let location = url_query(back.headers()["location"].to_str()?, "code"); // callback?code=…&iss=…
    let tokens: Value = browser
        .post(idp.token_endpoint())
        .basic_auth(&app.id, app.secret.as_ref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", location.as_str()),
            ("redirect_uri", callback),
        ])
        .send()
        .await?
        .json()
        .await?;
    assert!(tokens["id_token"].is_string());
    Ok(())
}

/// One query parameter of a URL.
fn url_query(url: &str, name: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

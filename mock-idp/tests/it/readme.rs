//! The README's Rust examples, run as tests. What lies between a `README begin` and a
//! `README end` line here is what the README shows: `the_readme_shows_the_tested_examples`
//! fails when the two drift apart (whitespace and end-of-line comments aside).

use mock_idp::MockIdp;
use reqwest::redirect::Policy;
use serde_json::Value;

use crate::idp_support::jwt_part;

#[tokio::test]
async fn readme_sign_in_example() -> Result<(), Box<dyn std::error::Error>> {
    // README begin: ### In your tests
    let idp = MockIdp::start().await?; // Logto + its fake Postmark, port 0
    let app = idp.app(); // the registered sample app
    let callback = "http://localhost:3000/callback";
    let browser = reqwest::Client::builder()
        .cookie_store(true)
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
    let auth_code = url_query(back.headers()["location"].to_str()?, "code"); // callback?code=…
    let tokens: Value = browser
        .post(idp.token_endpoint())
        .basic_auth(&app.id, app.secret.as_ref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", auth_code.as_str()),
            ("redirect_uri", callback),
        ])
        .send()
        .await?
        .json()
        .await?;
    // README end
    let claims = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["aud"], app.id);
    Ok(())
}

// README begin: ## The fake Postmark in your tests
use mock_idp::FakePostmark;

#[tokio::test]
async fn sends_the_sign_in_code() -> Result<(), Box<dyn std::error::Error>> {
    // Arrange: a fake Postmark on a free port, with Logto's default templates.
    let postmark = FakePostmark::start().await?;
    let inbox = postmark.inbox();

    // Act: your code sends through Postmark's API (here by hand).
    reqwest::Client::new()
        .post(format!("{}/email/withTemplate", postmark.base_url()))
        .header("X-Postmark-Server-Token", postmark.server_token())
        .json(&serde_json::json!({
            "From": "noreply@example.com",
            "To": "alice@example.com",
            "TemplateAlias": "logto-sign-in",
            "TemplateModel": {"code": "123456"},
        }))
        .send()
        .await?
        .error_for_status()?;

    // Assert: the mail is there, rendered, with its code. No sleep anywhere.
    let mail = inbox.wait_for("alice@example.com").await?;
    assert_eq!(mail.code(), Some("123456"));
    assert_eq!(mail.subject(), Some("123456 is your sign-in code"));
    Ok(())
}
// README end

/// One query parameter of a URL.
fn url_query(url: &str, name: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Code without whitespace, end-of-line comments (` // …`) and trailing commas, so that
/// rustfmt's layout here and the README's compact one compare equal.
fn normalized(code: &str) -> String {
    let code: String = code
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("//") {
                ""
            } else {
                line.find(" //").map_or(line, |at| &line[..at])
            }
        })
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace())
        .collect();
    code.replace(",]", "]")
        .replace(",)", ")")
        .replace(",}", "}")
}

/// The first ```rust block of the README after `heading`.
fn readme_block<'a>(readme: &'a str, heading: &str) -> &'a str {
    let after = &readme[readme.find(heading).expect(heading)..];
    let start = after.find("```rust\n").expect("a rust block") + "```rust\n".len();
    let length = after[start..].find("\n```").expect("its end");
    &after[start..start + length]
}

#[test]
fn the_readme_shows_the_tested_examples() {
    let readme = include_str!("../../../README.md");
    let source = include_str!("readme.rs");
    // Built from pieces, so that these lines are no markers themselves.
    let (begin, end) = (
        concat!("// README ", "begin: "),
        concat!("// README ", "end"),
    );
    let mut checked = 0;
    for section in source.split(begin).skip(1) {
        let (heading, rest) = section.split_once('\n').unwrap();
        let tested = &rest[..rest.find(end).unwrap()];
        let shown = readme_block(readme, heading);
        assert_eq!(
            normalized(shown),
            normalized(tested),
            "the README's example under {heading:?} is not the one tested here"
        );
        checked += 1;
    }
    assert_eq!(checked, 2, "both examples were compared");
}

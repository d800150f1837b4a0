use mock_idp::MockIdp;
use mock_idp::browser::Browser;

#[tokio::test]
async fn alice_signs_in_with_the_code_logto_emails_her() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let idp = MockIdp::builder().redirect_uri(format!("{app_url}/callback"));
    let idp = idp.start().await.unwrap(); // mock Logto + fake Postmark, on free ports
    let (id, secret) = (&idp.client().id, &idp.client().secret);
    let config = axum_app::Config::new(&app_url, &idp.issuer(), id, secret);
    let app = axum_app::app(config).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let browser = Browser::start().await.unwrap(); // headless Chromium via chromedriver
    browser.goto(&app_url).await;
    browser.click("#login").await; // your app sends the browser to Logto
    browser.sign_in_with_email_code(&idp, "alice@example.com").await;
    browser.wait_for_text("#who", "Signed in as alice@example.com").await;
}

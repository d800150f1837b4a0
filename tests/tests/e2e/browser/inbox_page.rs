//! The fake Postmark's inbox page, used as a person uses it: open in a second tab, watch the
//! code arrive, filter by recipient, copy the code back into Logto's page.

use super::support::journey;

#[tokio::test]
async fn the_inbox_page_shows_the_code_live_and_it_signs_in() {
    journey(|j| async move {
        let client = j.browser.client().clone();
        let logto_tab = client.window().await.unwrap();
        j.open_logto("#sign-in", "Sign in").await;

        let inbox_tab = client.new_window(true).await.unwrap().handle;
        client.switch_to_window(inbox_tab.clone()).await.unwrap();
        let inbox_url = j.stack.idp.postmark().unwrap().inbox_url();
        j.browser.goto(&inbox_url).await;
        j.browser.wait_for_text("#rows", "No messages yet.").await;

        client.switch_to_window(logto_tab.clone()).await.unwrap();
        j.submit_email("alice@example.com").await;

        // The open page updates itself when the message arrives.
        client.switch_to_window(inbox_tab).await.unwrap();
        let code = j.browser.wait_for("[data-code]").await;
        let code = code.attr("data-code").await.unwrap().expect("a data-code");
        let sent = j.stack.inbox().latest_to("alice@example.com").unwrap();
        assert_eq!(Some(code.as_str()), sent.code());
        j.browser
            .wait_for_text_containing("#rows tr[data-seq]", "alice@example.com")
            .await;

        // Filtering by another recipient hides it; by Alice shows it again.
        j.browser.fill("#to", "bob@example.com").await;
        j.browser.click("#filter").await;
        j.browser
            .wait_for_text("#rows", "No messages to this recipient yet.")
            .await;
        j.browser.fill("#to", "alice@example.com").await;
        j.browser.click("#filter").await;
        j.browser.wait_for_text("#rows [data-code]", &code).await;

        client.switch_to_window(logto_tab).await.unwrap();
        j.submit_code(&code).await;
        j.assert_signed_in("alice@example.com").await;
    })
    .await;
}

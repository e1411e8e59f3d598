//! The generated public form page in Chromium, as a visitor uses it: a
//! wrong email is reported beside its field, the fixed form is taken, and
//! exactly one lead is stored. With JavaScript on and off: the page is plain
//! HTML posted by the browser, so both must work alike.

use std::time::Duration;

use leadhost_tests::browser::{Browser, BrowserOptions};
use leadhost_tests::{Backend, StatusCode, TestServer};
use serde_json::Value;

const FORM_PAGE: &str = "/f/acme/website-demo-request";
const EMAIL: &str = "#f-email";
const EMAIL_ERROR: &str = "#f-email-error";
const SUBMIT: &str = "form button[type=submit]";
/// The page takes a post sent sooner after it was shown for a script's and
/// stores nothing (host/src/forms/screening.rs, `MIN_FILL_TIME`, 3 s): the
/// visitor here takes at least that long, as a person would.
const A_PERSONS_PACE: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_email_is_shown_beside_its_field_then_the_fixed_form_is_taken() -> anyhow::Result<()> {
    wrong_email_then_fixed(BrowserOptions::default(), "js").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_works_without_javascript() -> anyhow::Result<()> {
    wrong_email_then_fixed(BrowserOptions::default().without_javascript(), "nojs").await
}

/// A server with tenant `acme` and its website demo request form.
async fn demo_server() -> anyhow::Result<(TestServer, String)> {
    let server = TestServer::start(Backend::Sqlite).await?;
    let token = server.create_tenant("acme").await?;
    server
        .create_form_from_file(&token, "website-demo-request.json")
        .await?;
    Ok((server, token))
}

async fn leads(server: &TestServer, token: &str) -> anyhow::Result<Vec<Value>> {
    let (status, list) = server.get_json(token, "/api/v1/leads").await?;
    assert_eq!(status, StatusCode::OK, "{list}");
    Ok(list["leads"].as_array().cloned().unwrap_or_default())
}

/// Screenshots are named `form-page-<label>-<step>`, e.g. form-page-js-3-server-error.png.
async fn wrong_email_then_fixed(options: BrowserOptions, label: &str) -> anyhow::Result<()> {
    let (server, token) = demo_server().await?;
    let browser = Browser::open(options).await?;
    let shot = |step: &str| format!("form-page-{label}-{step}");
    let page_url = server.url(FORM_PAGE);

    browser.goto(&page_url).await?;
    // After the server stamped the page with its render time.
    let shown = tokio::time::Instant::now();
    browser.wait_for("form[method=post]").await?;
    browser.screenshot(&shot("1-empty")).await?;

    // The required fields (consent is a checkbox), with an address that has
    // nothing after its @.
    browser.fill("#f-name", "李伟").await?;
    browser.fill(EMAIL, "li@").await?;
    browser.fill("#f-company", "ACME").await?;
    browser.click("#f-consent").await?;
    browser.screenshot(&shot("2-filled")).await?;

    // The form is `novalidate`: the browser's own check does not stop
    // "li@", so the server is the one that answers.
    assert!(
        browser.attr_of("form[method=post]", "novalidate").await?.is_some(),
        "the public form leaves checking to the server"
    );
    browser.click(SUBMIT).await?;

    // The server's answer: the page again, the error beside the email field.
    let error = browser.text_of(EMAIL_ERROR).await?;
    assert!(!error.is_empty(), "the error says what is wrong");
    assert_eq!(browser.attr_of(EMAIL, "aria-invalid").await?.as_deref(), Some("true"));
    let described_by = browser.attr_of(EMAIL, "aria-describedby").await?.unwrap_or_default();
    assert!(
        described_by.split(' ').any(|id| id == "f-email-error"),
        "the error is read out with the field: {described_by:?}"
    );
    assert_eq!(
        browser.attr_of("#f-name", "value").await?.as_deref(),
        Some("李伟"),
        "typed values kept"
    );
    assert_eq!(
        browser.attr_of(EMAIL, "value").await?.as_deref(),
        Some("li@"),
        "the address as typed, to fix"
    );
    browser.screenshot(&shot("3-server-error")).await?;
    assert!(
        leads(&server, &token).await?.is_empty(),
        "nothing stored from a wrong email"
    );

    browser.fill(EMAIL, "li.wei@example.com").await?;
    // The page shown again keeps the first one's render time.
    tokio::time::sleep_until(shown + A_PERSONS_PACE).await;
    browser.click(SUBMIT).await?;
    let thanks = browser.text_of("p[role=status]").await?;
    assert!(thanks.contains("Thank you"), "{thanks}");
    assert!(!browser.is_present(EMAIL_ERROR).await?);
    browser.screenshot(&shot("4-thank-you")).await?;

    let leads = leads(&server, &token).await?;
    assert_eq!(leads.len(), 1, "exactly one lead: {leads:?}");
    assert_eq!(leads[0]["email"], "li.wei@example.com");
    assert_eq!(leads[0]["channel"], "form_page");
    browser.close().await
}

//! The admin pages in Chromium: an admin breaks the scoring model's JSON and
//! sees the problem at its pointer, then fixes it; pauses a workflow; adds a
//! field in the form designer, sees the live preview change, publishes it
//! and sees the public page change; a manager opens the dashboard.
//! The same flows over plain HTTP, on both backends, are in
//! tests/tests/e2e/admin_pages.rs.
//!
//! Screenshots are named `admin-<test>-<step>` under target/screenshots/.

use leadhost_tests::browser::{Browser, BrowserOptions};
use leadhost_tests::workspace::{ADMIN_EMAIL, PASSWORD, Workspace};
use leadhost_tests::{Backend, StatusCode, TestServer};
use reqwest::Method;
use serde_json::json;

const LOG_IN: &str = "main form[action='/login'] button[type=submit]";

/// A SQLite server with the workspace, and an English browser logged in as
/// its admin.
async fn admin_session() -> anyhow::Result<(TestServer, Workspace, Browser)> {
    let server = TestServer::start(Backend::Sqlite).await?;
    let ws = Workspace::create(&server).await?;
    let browser = Browser::open(BrowserOptions::default().languages("en-US,en")).await?;
    browser.goto(&server.url("/login?tenant=acme")).await?;
    browser.fill("#email", ADMIN_EMAIL).await?;
    browser.fill("#password", PASSWORD).await?;
    browser.click(LOG_IN).await?;
    browser.wait_for("header nav").await?;
    Ok((server, ws, browser))
}

/// Replaces the editor's text, as pasting would.
async fn paste_document(browser: &Browser, text: &str) -> anyhow::Result<()> {
    browser.wait_for("#document").await?;
    let script = "const field = document.querySelector('#document');\
                  field.value = arguments[0];\
                  field.dispatchEvent(new Event('input', {bubbles: true}));";
    browser.client().execute(script, vec![json!(text)]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sees_a_broken_scoring_model_at_its_pointer_and_fixes_it() -> anyhow::Result<()> {
    let (server, ws, browser) = admin_session().await?;
    let shot = |step: &str| format!("admin-scoring-model-{step}");

    browser
        .click("header nav a[href='/app/admin/setup/scoring_model']")
        .await?;
    let text = browser.text_of("#document").await?;
    assert!(text.contains("\"tiers\""), "the current model to start from: {text}");
    browser.screenshot(&shot("1-editor")).await?;

    let broken = r#"{"tiers": {"warm": 5, "hot": 10}, "promote": {"mql": 5, "sql": 10}, "rules": [
  {"kind": "attribute", "id": "size", "field": "company_size",
   "cases": [{"equals": "200-999", "points": "twelve"}]}
]}"#;
    paste_document(&browser, broken).await?;
    browser.click("form#json-form button[type=submit]").await?;
    let problem = browser
        .text_of("#setup-problems li[data-pointer='/rules/0/cases/0/points']")
        .await?;
    assert!(problem.starts_with("/rules/0/cases/0/points"), "{problem}");
    assert!(problem.contains("\"twelve\""), "what is there: {problem}");
    assert_eq!(
        browser.attr_of("#document", "aria-invalid").await?.as_deref(),
        Some("true")
    );
    assert!(
        browser.text_of("#document").await?.contains("twelve"),
        "the typed text is kept"
    );
    browser.screenshot(&shot("2-problem-at-pointer")).await?;
    let (_, model) = server.get_json(&ws.admin, "/api/v1/scoring/model").await?;
    assert_eq!(model["version"], 0, "nothing saved: {model}");

    paste_document(&browser, &broken.replace("\"twelve\"", "12")).await?;
    browser.click("form#json-form button[type=submit]").await?;
    browser.wait_for_text("p.notice[role=status]", "Saved.").await?;
    let by = browser.text_of("#changes tbody tr td:nth-child(2)").await?;
    assert!(!by.is_empty() && by != "—", "who saved it: {by:?}");
    browser.screenshot(&shot("3-saved")).await?;
    let (_, model) = server.get_json(&ws.admin, "/api/v1/scoring/model").await?;
    assert_eq!(model["model"]["rules"][0]["cases"][0]["points"], 12, "{model}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_pauses_a_workflow() -> anyhow::Result<()> {
    let (server, ws, browser) = admin_session().await?;
    let shot = |step: &str| format!("admin-workflow-{step}");
    let workflow = json!({
        "name": "Slow drip",
        "trigger": {"on": "manual"},
        "steps": [{"id": "pause", "kind": "wait", "for": "3d"}]
    });
    let (status, body) = server
        .send_json(Method::PUT, &ws.admin, "/api/v1/workflows/slow-drip", &workflow)
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    browser.click("header nav a[href='/app/admin/workflows']").await?;
    assert_eq!(browser.text_of("#workflow-slow-drip dd.status").await?, "Active");
    browser.screenshot(&shot("1-active")).await?;
    browser.click("#workflow-slow-drip button[value=paused]").await?;
    browser
        .wait_for_text("p.notice[role=status]", "The workflow is now: Paused")
        .await?;
    assert_eq!(browser.text_of("#workflow-slow-drip dd.status").await?, "Paused");
    browser.screenshot(&shot("2-paused")).await?;
    let (_, stored) = server.get_json(&ws.admin, "/api/v1/workflows/slow-drip").await?;
    assert_eq!(stored["status"], "paused");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_opens_the_dashboard_and_narrows_it_to_a_team() -> anyhow::Result<()> {
    let server = TestServer::start(Backend::Sqlite).await?;
    let ws = Workspace::create(&server).await?;
    let browser = Browser::open(BrowserOptions::default().languages("en-US,en")).await?;
    let shot = |step: &str| format!("admin-dashboard-{step}");
    browser.goto(&server.url("/login?tenant=acme")).await?;
    browser.fill("#email", &ws.person("manager_a").email).await?;
    browser.fill("#password", PASSWORD).await?;
    browser.click(LOG_IN).await?;
    browser.wait_for("header nav").await?;

    browser.click("header nav a[href='/app/dashboard']").await?;
    browser.wait_for("#view-funnel svg.bars").await?;
    let (_, api) = server
        .get_json(&ws.person("manager_a").token, "/api/v1/dashboard?team=east")
        .await?;
    let leads = browser
        .text_of("#view-summary tr[data-key=leads] td:nth-child(2)")
        .await?;
    assert_eq!(
        leads,
        api["total"].to_string(),
        "the API's figure for the manager's teams"
    );
    browser.screenshot(&shot("1-manager")).await?;

    let script = "document.querySelector('#team').value = 'east'; return true;";
    browser.client().execute(script, vec![]).await?;
    browser
        .click_to_next_page("#dashboard-filters button[type=submit]")
        .await?;
    browser.wait_for("#view-funnel").await?;
    let url = browser.current_url().await?;
    assert!(url.contains("team=east"), "{url}");
    assert_eq!(
        browser
            .attr_of("#team option[value=east]", "selected")
            .await?
            .as_deref(),
        Some("true")
    );
    browser.screenshot(&shot("2-team-east")).await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_field_sees_the_preview_change_and_publishes_it() -> anyhow::Result<()> {
    let (server, ws, browser) = admin_session().await?;
    let shot = |step: &str| format!("admin-form-designer-{step}");
    let designer = "/app/admin/forms/website-demo-request";

    browser.click("header nav a[href='/app/admin/forms']").await?;
    browser.click(&format!("#forms a[href='{designer}']")).await?;
    browser.wait_for("#preview[srcdoc*='name=\"company\"']").await?;
    assert!(!browser.is_present("#preview[srcdoc*='Annual budget']").await?);
    browser.screenshot(&shot("1-designer")).await?;

    // A new choice field: the round trip adds it to the editor and the preview.
    browser.fill("#new-name", "annual_budget").await?;
    let script = "document.querySelector('#new-type').value = 'select'; return true;";
    browser.client().execute(script, vec![]).await?;
    browser.fill("#new-label-en", "Annual budget").await?;
    browser.click("#new-field button[value=add]").await?;
    browser.wait_for("#field-annual_budget").await?;
    browser.wait_for("#preview[srcdoc*='Annual budget']").await?;

    // Typing its options: the live preview (the server's renderer) shows them
    // without leaving the page.
    let before = browser.current_url().await?;
    browser
        .fill(
            "#field-annual_budget textarea",
            "small | 十万以下 | Under 100k\nlarge | 十万以上 | 100k or more",
        )
        .await?;
    browser.wait_for("#preview[srcdoc*='100k or more']").await?;
    assert_eq!(browser.current_url().await?, before, "no round trip");
    browser.screenshot(&shot("2-live-preview")).await?;
    let (_, form) = server.get_json(&ws.admin, "/api/v1/forms/website-demo-request").await?;
    assert_eq!(form["form"]["current_version"], 1, "a draft is not published: {form}");

    browser.click("#publish").await?;
    browser
        .wait_for_text(
            "p.notice[role=status]",
            "Published version 2; the public page shows it now.",
        )
        .await?;
    browser.screenshot(&shot("3-published")).await?;
    let (_, form) = server.get_json(&ws.admin, "/api/v1/forms/website-demo-request").await?;
    assert_eq!(form["form"]["current_version"], 2, "{form}");

    browser.click("#public-link").await?;
    let label = browser.text_of("label[for='f-annual_budget']").await?;
    assert!(label.starts_with("Annual budget"), "{label}");
    let options = browser.text_of("#f-annual_budget").await?;
    assert!(options.contains("100k or more"), "{options}");
    browser.screenshot(&shot("4-public-page")).await?;
    browser.close().await
}

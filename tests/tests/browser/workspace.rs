//! The rep workspace in Chromium, as its users work it: a rep's day (the
//! agenda, the pool, a claim, a call logged), what managers and reps may not
//! see or do, a rep leaving mid-session, and the login page in both
//! languages. The same flows over plain HTTP, on both backends, are in
//! tests/tests/e2e/workspace.rs; here they run on SQLite only.
//!
//! Screenshots are named `workspace-<test>-<step>` under target/screenshots/.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use leadhost_tests::browser::{Browser, BrowserOptions};
use leadhost_tests::workspace::{PASSWORD, Workspace};
use leadhost_tests::{Backend, StatusCode, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

/// The login form's button (the only form in a login page's `main`).
const LOG_IN: &str = "main form[action='/login'] button[type=submit]";
/// The activity form's button (every workspace page also has the header's
/// logout button).
const SAVE_ACTIVITY: &str = "#log-activity button[type=submit]";
/// rep_a's display name, as the header and a lead's owner show it.
const REP_A: &str = "王芳 Wang Fang";
/// How long a departing rep's open lead may take to be routed again.
const REROUTE_LIMIT: Duration = Duration::from_secs(30);
const POLL_EVERY: Duration = Duration::from_millis(100);

/// A browser that asks for English, whatever the machine's locale (the
/// assertions below read the English words).
async fn english_browser() -> anyhow::Result<Browser> {
    Browser::open(BrowserOptions::default().languages("en-US,en")).await
}

/// A fresh SQLite server with the workspace (tenant `acme`, two teams).
async fn workspace_server() -> anyhow::Result<(TestServer, Workspace)> {
    let server = TestServer::start(Backend::Sqlite).await?;
    let ws = Workspace::create(&server).await?;
    Ok((server, ws))
}

/// Fills in and sends the login form of the page open now.
async fn submit_login(browser: &Browser, email: &str, password: &str) -> anyhow::Result<()> {
    browser.fill("#email", email).await?;
    browser.fill("#password", password).await?;
    browser.click(LOG_IN).await
}

/// Opens the login page of `acme` and logs in; returns once the workspace
/// (its navigation) has loaded.
async fn log_in(browser: &Browser, server: &TestServer, email: &str) -> anyhow::Result<()> {
    browser.goto(&server.url("/login?tenant=acme")).await?;
    submit_login(browser, email, PASSWORD).await?;
    browser.wait_for("header nav").await?;
    Ok(())
}

/// The path (and query) of the page open now, without the server's base.
async fn path_now(browser: &Browser, server: &TestServer) -> anyhow::Result<String> {
    let url = browser.current_url().await?;
    Ok(url.strip_prefix(&server.base).unwrap_or(&url).to_owned())
}

/// The text of what a page outside the workspace says (an error page, the
/// login page's problem): its `role=alert` paragraph.
async fn alert_text(browser: &Browser) -> anyhow::Result<String> {
    browser.text_of("[role=alert]").await
}

/// Sets a field's value as a script would and tells the page, as typing
/// does (a `datetime-local` field's keys depend on the browser's locale).
async fn set_value(browser: &Browser, css: &str, value: &str) -> anyhow::Result<String> {
    browser.wait_for(css).await?;
    let script = "const field = document.querySelector(arguments[0]);\
                  field.value = arguments[1];\
                  field.dispatchEvent(new Event('input', {bubbles: true}));\
                  field.dispatchEvent(new Event('change', {bubbles: true}));\
                  return field.value;";
    let now = browser.client().execute(script, vec![json!(css), json!(value)]).await?;
    Ok(now.as_str().unwrap_or_default().to_owned())
}

async fn activities(server: &TestServer, ws: &Workspace, lead: &str) -> anyhow::Result<Vec<Value>> {
    let (status, body) = server
        .get_json(&ws.admin, &format!("/api/v1/leads/{lead}/activities"))
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    Ok(body["activities"].as_array().cloned().unwrap_or_default())
}

async fn lead(server: &TestServer, ws: &Workspace, lead: &str) -> anyhow::Result<Value> {
    let (status, body) = server.get_json(&ws.admin, &format!("/api/v1/leads/{lead}")).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    Ok(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_works_the_agenda_claims_from_the_pool_and_logs_a_call() -> anyhow::Result<()> {
    let (server, ws) = workspace_server().await?;
    let browser = english_browser().await?;
    let shot = |step: &str| format!("workspace-rep-day-{step}");
    let pool_lead = ws.leads["pool"].as_str();

    browser.goto(&server.url("/login?tenant=acme")).await?;
    assert_eq!(browser.attr_of("#tenant", "value").await?.as_deref(), Some("acme"));
    browser.screenshot(&shot("1-login")).await?;
    submit_login(&browser, "rep.a@acme.example", PASSWORD).await?;

    // The agenda: the lead given by hand, not yet touched, with its countdown.
    let untouched = browser.wait_for("#new-untouched").await?;
    assert_eq!(path_now(&browser, &server).await?, "/app/agenda");
    assert!(browser.text_of("header .who").await?.contains(REP_A));
    assert!(untouched.text().await?.contains("New and not yet touched"));
    let row = browser.text_of("#new-untouched tr.lead").await?;
    assert!(row.contains("张伟"), "{row}");
    assert!(row.contains("due in"), "an SLA countdown: {row}");
    assert_eq!(
        browser.attr_of("#new-untouched tr.lead a", "href").await?,
        Some(format!("/app/leads/{}", ws.leads["a"]))
    );
    browser.screenshot(&shot("2-agenda")).await?;

    // The pool, through the navigation; its lead's page, and the claim.
    browser.click("header nav a[href='/app/pool']").await?;
    let pool_row = format!("#leads tr.lead[data-id='{pool_lead}']");
    assert!(browser.text_of(&pool_row).await?.contains("陈静"));
    assert_eq!(path_now(&browser, &server).await?, "/app/pool");
    browser.screenshot(&shot("3-pool")).await?;
    browser.click(&format!("{pool_row} a")).await?;
    assert_eq!(browser.text_of("#owner").await?, "Pool");
    browser.screenshot(&shot("4-pool-lead")).await?;
    browser.click("#claim").await?;
    browser
        .wait_for_text("p.notice[role=status]", "You claimed this lead.")
        .await?;
    assert_eq!(
        path_now(&browser, &server).await?,
        format!("/app/leads/{pool_lead}?done=claimed")
    );
    assert_eq!(browser.text_of("#owner").await?, REP_A);
    assert!(!browser.is_present("#claim").await?, "nothing left to claim");
    browser.screenshot(&shot("5-claimed")).await?;

    // A call, its outcome and the next follow-up (in the tenant's zone, UTC).
    browser.wait_for("#kind").await?.select_by_value("call").await?;
    browser.fill("#outcome", "接通，约下周演示").await?;
    browser.fill("#note", "Wants to see the phone app.").await?;
    let typed = set_value(&browser, "#next_follow_up_at", "2099-03-02T10:30").await?;
    assert_eq!(typed, "2099-03-02T10:30", "the field took the value");
    browser.screenshot(&shot("6-call-filled")).await?;
    browser.click(SAVE_ACTIVITY).await?;

    browser
        .wait_for_text("p.notice[role=status]", "Activity logged.")
        .await?;
    assert_eq!(
        path_now(&browser, &server).await?,
        format!("/app/leads/{pool_lead}?done=activity")
    );
    let call = browser.text_of("#timeline li[data-kind='activity · call']").await?;
    for expected in [
        "activity · call",
        REP_A,
        "接通，约下周演示",
        "Wants to see the phone app.",
        "2099-03-02",
    ] {
        assert!(call.contains(expected), "{expected:?} on the timeline: {call}");
    }
    browser.screenshot(&shot("7-call-logged")).await?;

    let stored = lead(&server, &ws, pool_lead).await?;
    assert_eq!(stored["owner_id"], ws.person("rep_a").id.as_str());
    assert!(!stored["touched_at"].is_null(), "the call touched the lead");
    let due = stored["follow_up_due_at"].as_str().unwrap_or_default();
    assert!(due.starts_with("2099-03-02T10:30:00"), "{due}");
    let logged = activities(&server, &ws, pool_lead).await?;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["kind"], "call");
    assert_eq!(logged[0]["outcome"], "接通，约下周演示");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_sees_their_teams_leads_and_not_another_teams() -> anyhow::Result<()> {
    let (server, ws) = workspace_server().await?;
    let browser = english_browser().await?;
    let shot = |step: &str| format!("workspace-manager-{step}");
    let (own, other) = (ws.leads["a"].as_str(), ws.leads["b"].as_str());
    log_in(&browser, &server, "manager.a@acme.example").await?;

    browser.click("header nav a[href='/app/leads']").await?;
    assert_eq!(browser.text_of("main h1").await?, "Team leads");
    assert!(
        browser
            .text_of(&format!("#leads tr.lead[data-id='{own}']"))
            .await?
            .contains("张伟"),
        "team east's lead"
    );
    assert!(
        !browser.is_present(&format!("tr.lead[data-id='{other}']")).await?,
        "not team west's"
    );
    assert!(!browser.text_of("#leads").await?.contains("李娜"));
    browser.screenshot(&shot("1-team-leads")).await?;

    // The search finds their team's lead by name, and not the other's.
    browser.fill("#q", "张伟").await?;
    browser.click_to_next_page("form.filters button[type=submit]").await?;
    browser.wait_for(&format!("#leads tr.lead[data-id='{own}']")).await?;
    let rows = browser.client().find_all(Locator::Css("tr.lead")).await?;
    assert_eq!(rows.len(), 1, "张伟's row alone");
    browser.fill("#q", "李娜").await?;
    browser.click_to_next_page("form.filters button[type=submit]").await?;
    assert!(path_now(&browser, &server).await?.starts_with("/app/leads?"));
    assert!(!browser.is_present("tr.lead").await?, "no lead named 李娜 in sight");
    browser.screenshot(&shot("2-searched-other-team")).await?;

    // Its page, by its address: the 404 page.
    browser.goto(&server.url(&format!("/app/leads/{other}"))).await?;
    let refused = alert_text(&browser).await?;
    assert!(refused.contains("No such page, or you may not see it."), "{refused}");
    assert!(!refused.contains("李娜"));
    assert_eq!(browser.client().title().await?, "404 Not Found");
    browser.screenshot(&shot("3-other-team-lead-404")).await?;

    // Their own team's lead opens, with its owner.
    browser.goto(&server.url(&format!("/app/leads/{own}"))).await?;
    assert_eq!(browser.text_of("main h1").await?, "张伟");
    assert_eq!(browser.text_of("#owner").await?, REP_A);
    assert!(!browser.is_present("#claim").await?);
    browser.screenshot(&shot("4-own-team-lead")).await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_may_not_open_another_reps_lead_nor_post_without_the_csrf_token() -> anyhow::Result<()> {
    let (server, ws) = workspace_server().await?;
    let browser = english_browser().await?;
    let shot = |step: &str| format!("workspace-refusals-{step}");
    let (own, other) = (ws.leads["a"].as_str(), ws.leads["b"].as_str());
    log_in(&browser, &server, "rep.a@acme.example").await?;

    browser.goto(&server.url(&format!("/app/leads/{other}"))).await?;
    let refused = alert_text(&browser).await?;
    assert!(refused.contains("No such page, or you may not see it."), "{refused}");
    assert!(!browser.source().await?.contains("李娜"), "nothing of the lead shows");
    browser.screenshot(&shot("1-other-reps-lead-404")).await?;

    // The activity form without its hidden token, as a forged post would be.
    let lead_page = server.url(&format!("/app/leads/{own}"));
    browser.goto(&lead_page).await?;
    browser.wait_for("#log-activity input[name=_csrf]").await?;
    browser
        .client()
        .execute(
            "document.querySelector('#log-activity input[name=_csrf]').remove()",
            vec![],
        )
        .await?;
    assert!(!browser.is_present("#log-activity input[name=_csrf]").await?);
    browser.wait_for("#kind").await?.select_by_value("call").await?;
    browser.fill("#outcome", "should not be stored").await?;
    browser.click(SAVE_ACTIVITY).await?;

    let expired = alert_text(&browser).await?;
    assert!(
        expired.contains("This form has expired or did not come from leadhost"),
        "{expired}"
    );
    assert_eq!(browser.client().title().await?, "403 Forbidden");
    assert_eq!(
        path_now(&browser, &server).await?,
        format!("/app/leads/{own}/activities")
    );
    browser.screenshot(&shot("2-no-csrf-403")).await?;
    assert!(activities(&server, &ws, own).await?.is_empty(), "nothing was logged");

    // As the page says: back, reload, try again; now it is taken.
    browser.client().back().await?;
    browser.client().refresh().await?;
    browser.wait_for("#log-activity input[name=_csrf]").await?;
    browser.wait_for("#kind").await?.select_by_value("call").await?;
    browser.fill("#outcome", "reached, call back Friday").await?;
    browser.click(SAVE_ACTIVITY).await?;
    browser
        .wait_for_text("p.notice[role=status]", "Activity logged.")
        .await?;
    browser.screenshot(&shot("3-retried")).await?;
    let logged = activities(&server, &ws, own).await?;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["outcome"], "reached, call back Friday");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_rep_is_sent_to_login_and_their_open_lead_is_routed_again() -> anyhow::Result<()> {
    let (server, ws) = workspace_server().await?;
    let browser = english_browser().await?;
    let shot = |step: &str| format!("workspace-departure-{step}");
    let open = ws.leads["a"].as_str();
    let rep_a = ws.person("rep_a").id.as_str();
    log_in(&browser, &server, "rep.a@acme.example").await?;
    browser.goto(&server.url(&format!("/app/leads/{open}"))).await?;
    assert_eq!(browser.text_of("#owner").await?, REP_A);
    browser.screenshot(&shot("1-rep-on-their-lead")).await?;

    let (status, departed) = server
        .send_json(
            Method::POST,
            &ws.admin,
            &format!("/api/v1/users/{rep_a}/deactivate"),
            &json!({}),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{departed}");
    assert_eq!(departed["departure"]["leads_rerouted"], 1, "{departed}");

    // The rep's next page load: the login page, which would bring them back.
    browser.client().refresh().await?;
    browser.wait_for("#password").await?;
    assert_eq!(
        path_now(&browser, &server).await?,
        format!("/login?next=%2Fapp%2Fleads%2F{open}")
    );
    assert!(!browser.is_present("header nav").await?, "out of the workspace");
    browser.screenshot(&shot("2-rep-sent-to-login")).await?;
    // Their password no longer works.
    submit_login(&browser, "rep.a@acme.example", PASSWORD).await?;
    assert_eq!(
        browser.text_of("#login-problem").await?,
        "The email or password is not right."
    );
    browser.screenshot(&shot("3-rep-login-refused")).await?;

    // Their team's manager, on the same form, comes to the lead's page
    // (the form kept where the rep was going); the lead is soon out of the
    // rep's hands. No routing rules here, so to the pool.
    submit_login(&browser, "manager.a@acme.example", PASSWORD).await?;
    browser.wait_for("header nav").await?;
    assert_eq!(path_now(&browser, &server).await?, format!("/app/leads/{open}"));
    let deadline = Instant::now() + REROUTE_LIMIT;
    let owner = loop {
        let owner = browser.text_of("#owner").await?;
        if owner != REP_A {
            break owner;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the open lead was not routed again within {REROUTE_LIMIT:?}"
        );
        tokio::time::sleep(POLL_EVERY).await;
        browser.client().refresh().await?;
    };
    assert_eq!(owner, "Pool");
    browser.screenshot(&shot("4-manager-sees-lead-rerouted")).await?;
    let stored = lead(&server, &ws, open).await?;
    assert!(stored["owner_id"].is_null(), "in the pool: {stored}");

    browser.click("header nav a[href='/app/pool']").await?;
    assert!(
        browser
            .text_of(&format!("#leads tr.lead[data-id='{open}']"))
            .await?
            .contains("张伟"),
        "the manager finds it in the pool"
    );
    browser.screenshot(&shot("5-pool")).await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_told_and_the_email_kept() -> anyhow::Result<()> {
    let (server, _ws) = workspace_server().await?;
    let browser = english_browser().await?;
    browser.goto(&server.url("/login?tenant=acme")).await?;
    assert_eq!(browser.client().title().await?, "Log in");
    submit_login(&browser, "rep.b@acme.example", "not the password").await?;

    assert_eq!(
        browser.text_of("#login-problem").await?,
        "The email or password is not right."
    );
    assert_eq!(path_now(&browser, &server).await?, "/login");
    assert_eq!(
        browser.attr_of("#email", "value").await?.as_deref(),
        Some("rep.b@acme.example"),
        "the email is kept"
    );
    assert_eq!(
        browser.wait_for("#password").await?.prop("value").await?.as_deref(),
        Some("")
    );
    assert_eq!(
        browser.attr_of("#email", "aria-describedby").await?.as_deref(),
        Some("login-problem")
    );
    browser.screenshot("workspace-login-wrong-password").await?;

    // The right one, on the form as it came back.
    browser.fill("#password", PASSWORD).await?;
    browser.click(LOG_IN).await?;
    browser.wait_for("#new-untouched").await?;
    assert_eq!(path_now(&browser, &server).await?, "/app/agenda");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_are_in_chinese_when_the_browser_asks_for_it() -> anyhow::Result<()> {
    let (server, _ws) = workspace_server().await?;
    let browser = Browser::open(BrowserOptions::default().languages("zh-CN")).await?;
    let shot = |step: &str| format!("workspace-zh-{step}");
    browser.goto(&server.url("/login?tenant=acme")).await?;

    assert_eq!(browser.attr_of("html", "lang").await?.as_deref(), Some("zh-CN"));
    assert_eq!(browser.client().title().await?, "登录");
    assert_eq!(browser.text_of("main h1").await?, "登录");
    for (field, label) in [("tenant", "工作区"), ("email", "邮箱"), ("password", "密码")] {
        assert_eq!(browser.text_of(&format!("label[for={field}]")).await?, label);
    }
    assert_eq!(browser.text_of(LOG_IN).await?, "登录");
    browser.screenshot(&shot("1-login")).await?;

    submit_login(&browser, "rep.a@acme.example", "不是这个密码").await?;
    assert_eq!(browser.text_of("#login-problem").await?, "邮箱或密码不正确。");
    browser.screenshot(&shot("2-wrong-password")).await?;

    browser.fill("#password", PASSWORD).await?;
    browser.click(LOG_IN).await?;
    // The agenda's own section: the login page (with its own `main h1`)
    // may still be showing while the redirect lands.
    browser.wait_for("#new-untouched").await?;
    assert_eq!(browser.text_of("main h1").await?, "今日待办");
    assert!(browser.text_of("#new-untouched h2").await?.contains("新分配、尚未跟进"));
    let row = browser.text_of("#new-untouched tr.lead").await?;
    assert!(row.contains("张伟") && row.contains("剩余"), "{row}");
    browser.screenshot(&shot("3-agenda")).await?;
    browser.close().await
}

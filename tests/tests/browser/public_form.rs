//! The public form page's behaviour in Chromium: conditional fields shown
//! only when they apply (and all shown without JavaScript), a layout that
//! fits a phone, a returning visitor asked only what is not known, and a
//! trade-show kiosk that keeps leads while the server is down and sends
//! each exactly once when it is back.
//!
//! The kiosk's page must keep its origin across the server's restart (its
//! queue is in that origin's localStorage, and it posts to its own URL),
//! while a restarted server gets a new port: the page is opened through
//! [`StableOrigin`], a fixed local address that forwards to whichever
//! server is running and drops connections while none is.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leadhost_tests::browser::{Browser, BrowserOptions};
use leadhost_tests::{Backend, StatusCode, TestServer, eventually};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A person needs this long after the page to be taken for one (the server
/// asks for 3 s).
const HUMAN_PAUSE: Duration = Duration::from_millis(3500);
const KIOSK_QUEUE: &str = "leadhost-kiosk-queue:/f/acme/trade-show-badge-scan";

/// A server with tenant `acme` and the forms from forms/.
async fn server_with(forms: &[&str]) -> anyhow::Result<(TestServer, String)> {
    let server = TestServer::start(Backend::Sqlite).await?;
    let token = server.create_tenant("acme").await?;
    for form in forms {
        server.create_form_from_file(&token, form).await?;
    }
    Ok((server, token))
}

async fn leads(server: &TestServer, token: &str) -> anyhow::Result<Vec<Value>> {
    let (status, list) = server.get_json(token, "/api/v1/leads").await?;
    assert_eq!(status, StatusCode::OK, "{list}");
    Ok(list["leads"].as_array().cloned().unwrap_or_default())
}

/// Waits out the rest of [`HUMAN_PAUSE`] since `since`.
async fn pause_like_a_person(since: Instant) {
    tokio::time::sleep(HUMAN_PAUSE.saturating_sub(since.elapsed())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_fields_follow_their_condition_with_javascript_and_all_show_without() -> anyhow::Result<()> {
    let (server, _token) = server_with(&["partner-referral.json"]).await?;
    let url = server.url("/f/acme/partner-referral?lang=en");

    let browser = Browser::open(BrowserOptions::default()).await?;
    browser.goto(&url).await?;
    browser.wait_for("form[data-form]").await?;
    let customer_id = browser.wait_for("#f-customer_id").await?;
    show_the_relationship(&browser).await?;
    assert!(
        !customer_id.is_displayed().await?,
        "hidden while the partner refers a new prospect"
    );
    browser.screenshot("public-form-conditional-1-hidden").await?;
    browser.click("#f-relationship-1").await?;
    assert!(customer_id.is_displayed().await?, "shown for an existing customer");
    let label = browser.text_of("label[for=f-customer_id]").await?;
    assert!(label.contains('*'), "marked required while it is: {label:?}");
    browser.screenshot("public-form-conditional-2-shown").await?;
    browser.click("#f-relationship-0").await?;
    assert!(!customer_id.is_displayed().await?, "hidden again");
    assert!(
        customer_id.prop("disabled").await?.as_deref() == Some("true"),
        "a hidden field is not posted"
    );
    browser.close().await?;

    let browser = Browser::open(BrowserOptions::default().without_javascript()).await?;
    browser.goto(&url).await?;
    let customer_id = browser.wait_for("#f-customer_id").await?;
    assert!(
        customer_id.is_displayed().await?,
        "without JavaScript every field shows"
    );
    let note = browser.text_of("#f-customer_id-condition").await?;
    assert_eq!(note, "Required when Relationship is Existing customer");
    let described_by = browser
        .attr_of("#f-customer_id", "aria-describedby")
        .await?
        .unwrap_or_default();
    assert!(
        described_by.split(' ').any(|id| id == "f-customer_id-condition"),
        "{described_by}"
    );
    show_the_relationship(&browser).await?;
    browser.screenshot("public-form-conditional-3-no-javascript").await?;
    browser.close().await
}

/// Scrolls the partner referral's relationship and customer id into the
/// screenshots. (WebDriver's scripts run with the page's own switched off.)
async fn show_the_relationship(browser: &Browser) -> anyhow::Result<()> {
    browser
        .client()
        .execute(
            "const top = document.querySelector('#f-relationship-0').getBoundingClientRect().top;
             window.scrollTo(0, window.scrollY + top - 200)",
            vec![],
        )
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_fits_a_phone_screen() -> anyhow::Result<()> {
    let (server, _token) = server_with(&["website-demo-request.json"]).await?;
    let browser = Browser::open(BrowserOptions::default().mobile()).await?;
    browser.goto(&server.url("/f/acme/website-demo-request")).await?;
    browser.wait_for("form[data-form]").await?;
    let layout = browser
        .client()
        .execute(
            "const width = window.innerWidth;
             const controls = [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
                 .filter(c => c.closest('.trap') === null);
             const outside = controls.filter(c => { const r = c.getBoundingClientRect(); return r.left < 0 || r.right > width; })
                 .map(c => c.name || c.tagName);
             const small = [...document.querySelectorAll('input[type=text], input[type=email], input[type=tel], select, textarea')]
                 .filter(c => parseFloat(getComputedStyle(c).fontSize) < 16).map(c => c.name);
             const button = document.querySelector('button[type=submit]').getBoundingClientRect();
             return {width, scroll: document.documentElement.scrollWidth, outside, small, button: button.width};",
            vec![],
        )
        .await?;
    assert_eq!(layout["width"], 390, "{layout}");
    assert!(
        layout["scroll"].as_f64() <= Some(390.0),
        "no sideways scrolling: {layout}"
    );
    assert_eq!(
        layout["outside"],
        Value::Array(vec![]),
        "every control on screen: {layout}"
    );
    assert_eq!(
        layout["small"],
        Value::Array(vec![]),
        "16px text (iOS zooms in on less): {layout}"
    );
    assert!(
        layout["button"].as_f64().unwrap_or(0.0) > 300.0,
        "a full-width button: {layout}"
    );
    browser.screenshot("public-form-mobile-1-top").await?;
    browser
        .client()
        .execute("document.querySelector('#f-company_size-0').scrollIntoView()", vec![])
        .await?;
    browser.screenshot("public-form-mobile-2-choices").await?;
    // The server's errors fit too.
    browser.click("button[type=submit]").await?;
    browser.wait_for(".summary").await?;
    let scroll = browser
        .client()
        .execute("return document.documentElement.scrollWidth", vec![])
        .await?;
    assert!(scroll.as_f64() <= Some(390.0), "{scroll}");
    browser.screenshot("public-form-mobile-3-errors").await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_visitor_sees_only_the_fields_not_yet_known() -> anyhow::Result<()> {
    let (server, token) = server_with(&["website-demo-request.json"]).await?;
    let page_url = server.url("/f/acme/website-demo-request?lang=en");
    let browser = Browser::open(BrowserOptions::default()).await?;

    browser.goto(&page_url).await?;
    let opened = Instant::now();
    browser.fill("#f-name", "Li Wei").await?;
    browser.fill("#f-email", "li.wei@example.com").await?;
    browser.fill("#f-company", "ACME").await?;
    browser.fill("#f-job_title", "CTO").await?;
    browser.click("#f-consent").await?;
    pause_like_a_person(opened).await;
    browser.click("button[type=submit]").await?;
    assert!(browser.text_of("p[role=status]").await?.contains("Thank you"));
    browser.screenshot("public-form-returning-1-first-visit").await?;

    let cookie = browser
        .client()
        .get_all_cookies()
        .await?
        .into_iter()
        .find(|c| c.name() == "lh_visitor")
        .expect("the visitor is remembered");
    assert_eq!(cookie.http_only(), Some(true), "no script reads it");
    assert!(format!("{:?}", cookie.same_site()).contains("Lax"));

    // Back again: name, email, company, job title, consent, budget and
    // timeline (sent with their defaults) are known; three new fields are asked.
    browser.goto(&page_url).await?;
    let opened = Instant::now();
    browser.wait_for("p.welcome").await?;
    for known in [
        "#f-name",
        "#f-email",
        "#f-company",
        "#f-job_title",
        "#f-consent",
        "#f-budget",
    ] {
        assert!(!browser.is_present(known).await?, "{known} is known and not asked");
    }
    for asked in ["#f-phone", "#f-province", "#f-company_size-0"] {
        assert!(browser.is_present(asked).await?, "{asked} is asked");
    }
    assert_eq!(
        browser
            .client()
            .find_all(fantoccini::Locator::Css("form .field"))
            .await?
            .len(),
        3
    );
    let source = browser.source().await?;
    assert!(
        !source.contains("li.wei@example.com"),
        "a known value never reaches the page"
    );
    browser.screenshot("public-form-returning-2-only-new-fields").await?;

    browser.click("#f-company_size-1").await?;
    pause_like_a_person(opened).await;
    browser.click("button[type=submit]").await?;
    assert!(browser.text_of("p[role=status]").await?.contains("Thank you"));

    let all = leads(&server, &token).await?;
    assert_eq!(all.len(), 1, "the same lead: {all:?}");
    let (_, lead) = server
        .get_json(&token, &format!("/api/v1/leads/{}", all[0]["id"].as_str().unwrap()))
        .await?;
    assert_eq!(lead["fields"]["company_size"], "50-199");
    assert_eq!(lead["touches"].as_array().unwrap().len(), 2);

    // The third time, the next unknown fields.
    browser.goto(&page_url).await?;
    browser.wait_for("p.welcome").await?;
    assert!(browser.is_present("#f-industry").await?);
    assert!(!browser.is_present("#f-company_size-0").await?);
    browser.screenshot("public-form-returning-3-next-fields").await?;

    // Someone else at this browser starts over with the whole form.
    browser.click("p.welcome a").await?;
    browser.wait_for("#f-email").await?;
    assert!(!browser.is_present("p.welcome").await?);
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_keeps_leads_while_the_server_is_down_and_sends_each_once() -> anyhow::Result<()> {
    let (server, token) = server_with(&["trade-show-badge-scan.json"]).await?;
    let origin = StableOrigin::start(&server).await?;
    let browser = Browser::open(BrowserOptions::default()).await?;
    browser
        .goto(&origin.url("/f/acme/trade-show-badge-scan?lang=en"))
        .await?;
    browser.wait_for("form[data-kiosk]").await?;
    let opened = Instant::now();
    let status = || async { Ok::<_, anyhow::Error>(browser.text_of(".kiosk-status").await.unwrap_or_default()) };
    let queued = || async {
        let kept = browser
            .client()
            .execute(&format!("return localStorage.getItem('{KIOSK_QUEUE}')"), vec![])
            .await?;
        let entries: Vec<Value> = kept.as_str().map(serde_json::from_str).transpose()?.unwrap_or_default();
        Ok::<_, anyhow::Error>(entries)
    };

    // Online: saved, and the form is empty for the next visitor.
    browser.fill("#f-name", "Chen Jie").await?;
    browser.fill("#f-company", "Logistics Co").await?;
    pause_like_a_person(opened).await;
    browser.click("button[type=submit]").await?;
    eventually("the first lead saved", || async {
        Ok((status().await?.contains("Saved")).then_some(()))
    })
    .await?;
    let typed_name = || async { Ok::<_, anyhow::Error>(browser.wait_for("#f-name").await?.prop("value").await?) };
    assert_eq!(
        typed_name().await?.as_deref(),
        Some(""),
        "an empty form for the next visitor"
    );
    assert_eq!(leads(&server, &token).await?.len(), 1);
    browser.screenshot("public-form-kiosk-1-saved").await?;

    // The server goes away: the lead is kept on the tablet.
    origin.point_at(None);
    let database = server.stop();
    browser.fill("#f-name", "Wang Fang").await?;
    browser.fill("#f-company", "Expo Co").await?;
    browser.click("button[type=submit]").await?;
    eventually("the second lead kept", || async {
        Ok((status().await?.contains("1 waiting")).then_some(()))
    })
    .await?;
    assert_eq!(typed_name().await?.as_deref(), Some(""));
    let kept = queued().await?;
    assert_eq!(kept.len(), 1, "{kept:?}");
    browser.screenshot("public-form-kiosk-2-offline").await?;

    // Back on the same database, behind the same origin: sent by itself.
    let server = TestServer::start_on(database, &[]).await?;
    origin.point_at(Some(&server));
    eventually("the kept lead arriving", || async {
        Ok((leads(&server, &token).await?.len() == 2).then_some(()))
    })
    .await?;
    eventually("the queue emptied", || async {
        Ok((queued().await?.is_empty() && status().await?.contains("has been sent")).then_some(()))
    })
    .await?;
    browser.screenshot("public-form-kiosk-3-sent").await?;

    // Had its answer been lost on the way, the tablet would send it again:
    // the same key lands on the same lead, with no second touch.
    let replay = serde_json::to_string(&kept)?;
    browser
        .client()
        .execute(
            "localStorage.setItem(arguments[0], arguments[1])",
            vec![Value::from(KIOSK_QUEUE), Value::from(replay)],
        )
        .await?;
    eventually("the replay sent", || async {
        Ok((queued().await?.is_empty()).then_some(()))
    })
    .await?;
    let all = leads(&server, &token).await?;
    assert_eq!(all.len(), 2, "each lead once: {all:?}");
    let wang = all.iter().find(|l| l["name"] == "Wang Fang").expect("the kept lead");
    let (_, lead) = server
        .get_json(&token, &format!("/api/v1/leads/{}", wang["id"].as_str().unwrap()))
        .await?;
    assert_eq!(lead["touches"].as_array().unwrap().len(), 1, "{lead}");
    assert!(
        browser
            .client()
            .get_all_cookies()
            .await?
            .iter()
            .all(|c| c.name() != "lh_visitor"),
        "a kiosk remembers nobody"
    );
    browser.close().await
}

/// A fixed local address forwarding to the running test server. While none
/// runs, connections are closed at once, as on a dropped network.
struct StableOrigin {
    base: String,
    /// `host:port` of the server behind it.
    upstream: Arc<Mutex<Option<String>>>,
    task: JoinHandle<()>,
}

impl StableOrigin {
    async fn start(server: &TestServer) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let upstream = Arc::new(Mutex::new(Some(host_port(server))));
        let current = upstream.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = current.lock().unwrap().clone();
                tokio::spawn(async move {
                    // No server: the connection closes unanswered.
                    let Some(target) = target else { return };
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Ok(Self { base, upstream, task })
    }

    fn point_at(&self, server: Option<&TestServer>) {
        *self.upstream.lock().unwrap() = server.map(host_port);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for StableOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn host_port(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

//! Nurture workflows at work, through the real server on a manual clock and
//! a real SMTP server (aiosmtpd, started by the test): a held lead gets a
//! drip of emails and is handed to sales when it turns hot; a restart in
//! the middle of a wait; delivery through a relay that is down, then
//! answers 4xx, then accepts (each Message-ID received once); a permanent
//! refusal suppressing the address; one-click unsubscribe; no email without
//! consent; and a nurture-step plugin's actions checked one by one.

use std::time::Duration;

use leadhost_tests::smtp::{ReceivedEmail, SmtpSink};
use leadhost_tests::{Backend, StatusCode, TestServer, eventually, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

use crate::followup::{advance, sla_tenant};
use crate::intake::demo_lead;
use crate::scoring::{lead, post, set_model};

on_both_backends!(
    a_held_lead_gets_a_drip_and_goes_to_sales_when_it_turns_hot,
    delivery_outlasts_a_dead_relay_and_4xx_and_a_5xx_suppresses,
    one_click_unsubscribe_and_missing_consent_stop_email,
    a_plugin_steps_actions_are_checked_and_a_failure_keeps_the_run,
    an_awaited_event_wakes_a_run_a_pause_holds_it_and_archiving_ends_it,
    owners_hear_of_hot_leads_deadlines_notices_and_key_behaviour,
    the_sending_rate_holds_the_rest_for_the_next_minute,
);

const DAY: u64 = 24 * 3600;
const WAIT: Duration = leadhost_tests::EVENTUALLY;

/// A tenant (see `followup::sla_tenant`: an SLA policy and a team `inside`
/// with one rep) whose warm and cold leads are held for nurture, a model
/// where a company of 50-199 is warm and a pricing-page visit or a click in
/// an email makes it hot (and SQL), and a sender identity.
async fn nurture_server(backend: Backend, sink: &SmtpSink) -> anyhow::Result<(TestServer, String, Value)> {
    let server = TestServer::start_with(backend, &["--manual-clock", "--smtp-url", &sink.url()]).await?;
    let (server, token, people) = sla_tenant(server).await?;
    set_model(
        &server,
        &token,
        &json!({
            "tiers": {"warm": 5, "hot": 10}, "promote": {"mql": 5, "sql": 10},
            "rules": [
                {"kind": "attribute", "id": "size", "field": "company_size",
                 "cases": [{"equals": "200-999", "points": 12}, {"equals": "50-199", "points": 6}]},
                {"kind": "behaviour", "id": "pricing", "event": "pricing_page_viewed", "window_days": 30,
                 "cases": [{"min_count": 1, "points": 6}]},
                {"kind": "behaviour", "id": "clicks", "event": "email_clicked", "window_days": 30,
                 "cases": [{"min_count": 1, "points": 6}]}
            ]
        }),
    )
    .await?;
    let rules = json!({"rules": [
        {"id": "nurture", "when": {"tier": ["cold", "warm"]}, "assign": {"hold": true}},
        {"id": "all", "assign": {"team": "inside"}}
    ]});
    let (status, body) = server
        .send_json(Method::PUT, &token, "/api/v1/routing/rules", &rules)
        .await?;
    anyhow::ensure!(status == StatusCode::OK, "{body}");
    let settings = json!({"email_from": "Acme Sales <sales@acme.example>", "time_zone": "Asia/Shanghai"});
    let (status, body) = server
        .send_json(Method::PATCH, &token, "/api/v1/settings", &settings)
        .await?;
    anyhow::ensure!(status == StatusCode::OK, "{body}");
    Ok((server, token, people))
}

/// The demo's drip: a welcome email at once, then two more two days apart
/// unless the lead turns hot, then the hand-over.
fn drip() -> Value {
    json!({
        "name": "Welcome and drip",
        "trigger": {"on": "lead_created", "forms": ["website-demo-request"]},
        "steps": [
            {"id": "welcome", "kind": "send_email", "email": {
                "subject": "Welcome, {{ fields.name }}",
                "text": "Hello {{ fields.name }} of {{ fields.company }}.",
                "html": "<p>Hello <b>{{ fields.name }}</b> of {{ fields.company }}.</p>"}},
            {"id": "pause-1", "kind": "wait", "for": "2d"},
            {"id": "case-study", "kind": "send_email", "email": {
                "subject": "How others in {{ fields.industry }} use it",
                "text": "A case study for {{ fields.name }}: https://acme.example/case-study?from=email",
                "html": "<p>A <a href=\"https://acme.example/case-study?from=email\">case study</a> for {{ fields.name }}.</p>",
                "fallbacks": {"industry": "your industry"}}},
            {"id": "pause-2", "kind": "wait", "for": "2d"},
            {"id": "last-call", "kind": "send_email", "email": {
                "subject": "Shall we talk?", "text": "Reply to book a call."}},
            {"id": "handoff", "kind": "hand_to_sales"}
        ]
    })
}

async fn put_workflow(server: &TestServer, token: &str, slug: &str, body: &Value) -> anyhow::Result<()> {
    let path = format!("/api/v1/workflows/{slug}");
    let (status, body) = server.send_json(Method::PUT, token, &path, body).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {body}");
    Ok(())
}

/// A warm lead (a company of 50-199) from the demo form.
async fn warm_lead(server: &TestServer, token: &str, email: &str, phone: &str) -> anyhow::Result<Value> {
    let mut body = demo_lead(email, phone);
    body["company_size"] = json!("50-199");
    let (status, created) = server.submit("acme", "website-demo-request", &body).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {created}");
    server.processed_lead(token, created["id"].as_str().unwrap()).await
}

async fn emails_of(server: &TestServer, token: &str, lead_id: &str) -> anyhow::Result<Vec<Value>> {
    let (status, body) = server
        .get_json(token, &format!("/api/v1/leads/{lead_id}/emails"))
        .await?;
    anyhow::ensure!(status == StatusCode::OK, "{body}");
    Ok(body["emails"].as_array().cloned().unwrap_or_default())
}

async fn runs_of(server: &TestServer, token: &str, lead_id: &str) -> anyhow::Result<Vec<Value>> {
    let (status, body) = server.get_json(token, &format!("/api/v1/leads/{lead_id}/runs")).await?;
    anyhow::ensure!(status == StatusCode::OK, "{body}");
    Ok(body["runs"].as_array().cloned().unwrap_or_default())
}

/// The lead's emails once `n` of them have the status `status`.
async fn emails_with_status(
    server: &TestServer,
    token: &str,
    lead_id: &str,
    n: usize,
    status: &str,
) -> anyhow::Result<Vec<Value>> {
    eventually(&format!("{n} emails {status}"), || async {
        let emails = emails_of(server, token, lead_id).await?;
        let done = emails.iter().filter(|e| e["status"] == status).count() >= n;
        Ok(done.then_some(emails))
    })
    .await
}

/// The first tracked URL (`/email/click/` or `/email/open/`) in an HTML body.
fn tracked(html: &str, route: &str) -> String {
    let at = html.find(route).expect("a tracked URL");
    let start = html[..at].rfind('"').expect("an attribute's quote") + 1;
    let end = at + html[at..].find('"').expect("the closing quote");
    html[start..end].to_owned()
}

fn unsubscribe_link(email: &ReceivedEmail) -> String {
    let header = email.header("List-Unsubscribe").expect("a List-Unsubscribe header");
    header.trim().trim_start_matches('<').trim_end_matches('>').to_owned()
}

async fn a_held_lead_gets_a_drip_and_goes_to_sales_when_it_turns_hot(backend: Backend) -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let (server, token, people) = nurture_server(backend, &sink).await?;
    put_workflow(&server, &token, "drip", &drip()).await?;

    let created = warm_lead(&server, &token, "li.wei@example.com", "138 0013 8000").await?;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["tier"], "warm");
    assert_eq!(created["owner_id"], Value::Null, "held: no owner");
    assert!(!created["held_at"].is_null(), "{created}");
    assert_eq!(created["follow_up_due_at"], Value::Null, "held: no SLA timer");
    let (_, pool) = server.get_json(&token, "/api/v1/pool").await?;
    assert!(
        !pool.to_string().contains(&id),
        "a held lead is not in the public pool: {pool}"
    );

    // The welcome email, at once.
    let received = sink.wait_for(1, WAIT).await?;
    let welcome = &received[0];
    assert_eq!(welcome.to, "li.wei@example.com");
    assert!(welcome.from.contains("sales@acme.example"), "{}", welcome.from);
    assert_eq!(welcome.subject, "Welcome, 李伟 Li Wei");
    assert_eq!(welcome.content_type, "multipart/alternative");
    let text = welcome.text.as_deref().unwrap();
    assert!(text.contains("Hello 李伟 Li Wei of 华东制造 East China Mfg."), "{text}");
    assert!(text.contains("Unsubscribe: http"), "{text}");
    let html = welcome.html.as_deref().unwrap();
    assert!(html.contains("<b>李伟 Li Wei</b>"), "{html}");
    let link = unsubscribe_link(welcome);
    assert!(link.starts_with(&server.url("/email/unsubscribe/")), "{link}");
    assert_eq!(
        welcome.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let emails = emails_with_status(&server, &token, &id, 1, "sent").await?;
    assert_eq!(
        welcome.message_id.as_deref(),
        Some(format!("<{}>", emails[0]["message_id"].as_str().unwrap()).as_str()),
        "the Message-ID the outbox recorded is the one received"
    );
    let runs = runs_of(&server, &token, &id).await?;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["workflow"], "drip");
    assert_eq!(runs[0]["ended_at"], Value::Null);
    assert_eq!(runs[0]["step"], 2, "waiting before the case study: {}", runs[0]);

    // A restart in the middle of the wait loses nothing.
    let db = server.stop();
    let server = TestServer::start_on(db, &["--manual-clock", "--smtp-url", &sink.url()]).await?;
    advance(&server, DAY).await?;
    assert_eq!(sink.messages()?.len(), 1, "one day in, the wait holds");
    advance(&server, DAY).await?;
    let received = sink.wait_for(2, WAIT).await?;
    assert_eq!(received[1].subject, "How others in your industry use it");
    let (_, steps) = server.get_json(&token, "/api/v1/workflows/drip/steps").await?;
    assert_eq!(steps["steps"][4]["waiting"], 1, "{steps}");

    // The case study's link is tracked. A link scanner follows it at once
    // and a privacy proxy fetches the pixel: recorded apart, no score.
    let case_study = &received[1];
    let html = case_study.html.as_deref().unwrap();
    let click = tracked(html, "/email/click/");
    let pixel = tracked(html, "/email/open/");
    assert!(
        case_study.text.as_deref().unwrap().contains(&click),
        "the text's link is the same tracked one"
    );
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let scanner = no_redirects
        .get(&click)
        .header("user-agent", "Mimecast URL Protection")
        .send()
        .await?;
    assert!(scanner.status().is_redirection());
    let proxy = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
    let fetched = no_redirects.get(&pixel).header("user-agent", proxy).send().await?;
    assert_eq!(fetched.headers()["content-type"], "image/gif");
    assert_eq!(lead(&server, &token, &id).await?["score"], 6, "machines do not score");
    // A person clicks a minute later: taken where the link went, and the
    // click scores; hot, the lead is handed to sales at once and the run
    // ends (it reached SQL).
    advance(&server, 60).await?;
    let browser = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15";
    let person = no_redirects.get(&click).header("user-agent", browser).send().await?;
    assert!(person.status().is_redirection());
    assert_eq!(
        person.headers()["location"],
        "https://acme.example/case-study?from=email"
    );
    let forged = click.replacen("/email/click/", "/email/click/x", 1);
    assert_eq!(no_redirects.get(&forged).send().await?.status(), StatusCode::NOT_FOUND);
    let rep = people["rep@acme.example"]["id"].clone();
    let handed = eventually("the hand-over", || async {
        let lead = lead(&server, &token, &id).await?;
        Ok((lead["owner_id"] == rep).then_some(lead))
    })
    .await?;
    assert_eq!(handed["tier"], "hot");
    assert_eq!(handed["held_at"], Value::Null);
    assert!(
        !handed["follow_up_due_at"].is_null(),
        "a first-touch deadline: {handed}"
    );
    let runs = runs_of(&server, &token, &id).await?;
    assert_eq!(runs[0]["end_reason"], "the lead reached sql", "{}", runs[0]);
    let emails = emails_of(&server, &token, &id).await?;
    let (_, engaged) = server
        .get_json(&token, &format!("/api/v1/emails/{}", emails[1]["id"].as_str().unwrap()))
        .await?;
    let readers: Vec<&str> = engaged["engagement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reader"].as_str().unwrap())
        .collect();
    assert_eq!(readers, ["link_scanner", "privacy_proxy", "person"], "{engaged}");
    assert!(
        !engaged["clicked_at"].is_null() && !engaged["opened_at"].is_null(),
        "{engaged}"
    );
    advance(&server, 3 * DAY).await?;
    let to_lead: Vec<ReceivedEmail> = sink
        .messages()?
        .into_iter()
        .filter(|m| m.to == "li.wei@example.com")
        .collect();
    assert_eq!(to_lead.len(), 2, "no email after the run ended");
    assert_ne!(to_lead[0].message_id, to_lead[1].message_id);
    // The rep it went to hears of the hot lead, by email too.
    let to_rep = sink
        .messages()?
        .into_iter()
        .filter(|m| m.to == "rep@acme.example")
        .count();
    assert_eq!(to_rep, 1);
    Ok(())
}

async fn delivery_outlasts_a_dead_relay_and_4xx_and_a_5xx_suppresses(backend: Backend) -> anyhow::Result<()> {
    let mut sink = SmtpSink::start().await?;
    let (server, token, _) = nurture_server(backend, &sink).await?;
    put_workflow(&server, &token, "drip", &drip()).await?;

    // The relay is down: the first attempt fails and the email waits.
    sink.stop();
    let id = warm_lead(&server, &token, "wang.fang@example.com", "138 0013 8001").await?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deferred = eventually("a failed first attempt", || async {
        let emails = emails_of(&server, &token, &id).await?;
        Ok(emails.first().filter(|e| e["attempts"] == 1).cloned())
    })
    .await?;
    assert_eq!(deferred["status"], "queued");
    // Back, but answering 4xx: the retry (after a minute) is deferred again.
    sink.restart().await?;
    sink.answer_with("451 4.3.0 try again later")?;
    advance(&server, 61).await?;
    let deferred = eventually("a 4xx attempt", || async {
        let emails = emails_of(&server, &token, &id).await?;
        Ok(emails.first().filter(|e| e["attempts"] == 2).cloned())
    })
    .await?;
    assert!(deferred["last_answer"].as_str().unwrap().contains("451"), "{deferred}");
    // Then it accepts: sent, once.
    sink.answer_with("")?;
    advance(&server, 121).await?;
    let emails = emails_with_status(&server, &token, &id, 1, "sent").await?;
    let message_id = format!("<{}>", emails[0]["message_id"].as_str().unwrap());
    let received: Vec<_> = sink
        .messages()?
        .into_iter()
        .filter(|m| m.message_id.as_deref() == Some(&message_id))
        .collect();
    assert_eq!(received.len(), 1, "each Message-ID is received once");
    assert_eq!(
        sink.refused()?,
        vec![message_id.clone()],
        "the 4xx saw the same Message-ID"
    );
    let (_, log) = server
        .get_json(&token, &format!("/api/v1/emails/{}", emails[0]["id"].as_str().unwrap()))
        .await?;
    let outcomes: Vec<&str> = log["attempts_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["deferred", "deferred", "accepted"], "{log}");

    // A permanent refusal: failed for good, and the address suppressed.
    sink.answer_with("550 5.1.1 no such user")?;
    let bounced = warm_lead(&server, &token, "nobody@example.com", "138 0013 8002").await?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let emails = emails_with_status(&server, &token, &bounced, 1, "failed").await?;
    assert!(emails[0]["last_answer"].as_str().unwrap().contains("550"));
    let (_, suppressions) = server.get_json(&token, "/api/v1/suppressions").await?;
    assert_eq!(suppressions["suppressions"][0]["address"], "nobody@example.com");
    assert_eq!(suppressions["suppressions"][0]["reason"], "rejected");
    sink.answer_with("")?;
    advance(&server, 2 * DAY).await?;
    let runs = runs_of(&server, &token, &bounced).await?;
    let skipped = runs[0]["log"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["step_id"] == "case-study" && l["outcome"] == "skipped");
    assert!(skipped, "no more email to a suppressed address: {}", runs[0]);
    assert_eq!(emails_of(&server, &token, &bounced).await?.len(), 1);
    Ok(())
}

async fn one_click_unsubscribe_and_missing_consent_stop_email(backend: Backend) -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let (server, token, _) = nurture_server(backend, &sink).await?;
    server
        .create_form_from_file(&token, "webinar-registration.json")
        .await?;
    let mut any_form = drip();
    any_form["trigger"] = json!({"on": "lead_created"});
    put_workflow(&server, &token, "drip", &any_form).await?;

    let id = warm_lead(&server, &token, "zhao.min@example.com", "138 0013 8003").await?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let welcome = sink.wait_for(1, WAIT).await?.remove(0);
    let link = unsubscribe_link(&welcome);

    // A GET (a mail scanner's prefetch) only asks.
    let page = server.http.get(&link).send().await?;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await?.contains("method=\"post\""));
    let (_, suppressions) = server.get_json(&token, "/api/v1/suppressions").await?;
    assert_eq!(suppressions["suppressions"], json!([]));
    // A forged token is refused.
    let (head, last) = link.split_at(link.len() - 1);
    let forged = format!("{head}{}", if last == "0" { "1" } else { "0" });
    assert_eq!(server.http.post(&forged).send().await?.status(), StatusCode::NOT_FOUND);
    // The one-click POST (RFC 8058) unsubscribes and ends the run.
    let done = server
        .http
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await?;
    assert_eq!(done.status(), StatusCode::OK);
    let (_, suppressions) = server.get_json(&token, "/api/v1/suppressions").await?;
    assert_eq!(suppressions["suppressions"][0]["address"], "zhao.min@example.com");
    assert_eq!(suppressions["suppressions"][0]["reason"], "unsubscribed");
    let runs = runs_of(&server, &token, &id).await?;
    assert_eq!(runs[0]["end_reason"], "the lead unsubscribed");
    advance(&server, 5 * DAY).await?;
    assert_eq!(sink.messages()?.len(), 1, "no email after unsubscribing");

    // A webinar registration without consent: enrolled, but no email.
    let (status, created) = server
        .submit(
            "acme",
            "webinar-registration",
            &json!({"name": "Qian Jun", "email": "qian.jun@example.com", "session": "2025-07-15-1400-cst"}),
        )
        .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{created}");
    let no_consent = created["id"].as_str().unwrap();
    let runs = eventually("the run's first step", || async {
        let runs = runs_of(&server, &token, no_consent).await?;
        Ok(runs.first().filter(|r| r["step"] != 0).map(|_| runs.clone()))
    })
    .await?;
    let log = &runs[0]["log"][0];
    assert_eq!(log["outcome"], "skipped", "{}", runs[0]);
    assert_eq!(log["detail"]["reason"], "the lead gave no consent to email");
    assert!(emails_of(&server, &token, no_consent).await?.is_empty());
    assert_eq!(sink.messages()?.len(), 1);
    Ok(())
}

async fn a_plugin_steps_actions_are_checked_and_a_failure_keeps_the_run(backend: Backend) -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let (server, token, _) = nurture_server(backend, &sink).await?;
    server
        .install_plugin(&token, "welcome", "nurture-step", "welcome_step", json!({}))
        .await?;
    let workflow = json!({
        "name": "Plugin steps",
        "trigger": {"on": "lead_created"},
        "steps": [
            // An email to the lead, a tag, then the plugin's own wait of an hour.
            {"id": "welcome", "kind": "plugin", "plugin": "welcome",
             "config": {"subject": "Hi {name}", "wait_seconds": 3600, "tag": "welcomed"}},
            // An email to the address in another field: refused.
            {"id": "elsewhere", "kind": "plugin", "plugin": "welcome",
             "config": {"email_field": "need", "wait_seconds": 0}},
            // A configuration the plugin rejects: the call fails.
            {"id": "broken", "kind": "plugin", "plugin": "welcome", "config": {"no_such_key": 1}},
            {"id": "after", "kind": "send_email", "email": {"subject": "Still here", "text": "The run went on."}}
        ]
    });
    put_workflow(&server, &token, "plugins", &workflow).await?;
    let mut body = demo_lead("sun.li@example.com", "138 0013 8001");
    body["company_size"] = json!("50-199");
    body["need"] = "boss@elsewhere.example".into();
    let (status, created) = server.submit("acme", "website-demo-request", &body).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();

    let first = sink.wait_for(1, WAIT).await?.remove(0);
    assert_eq!(first.subject, "Hi 李伟 Li Wei");
    assert_eq!(first.to, "sun.li@example.com");
    let tagged = eventually("the tag", || async {
        let lead = lead(&server, &token, id).await?;
        Ok(crate::scoring::events(&lead, "tag_added").first().map(|e| (*e).clone()))
    })
    .await?;
    assert_eq!(tagged["detail"]["tag"], "welcomed");
    advance(&server, 3601).await?;
    let received = sink.wait_for(2, WAIT).await?;
    assert_eq!(received[1].subject, "Still here");
    assert!(
        received.iter().all(|m| m.to == "sun.li@example.com"),
        "nothing to another address"
    );
    let runs = runs_of(&server, &token, id).await?;
    let outcomes: Vec<(String, String)> = runs[0]["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["step_id"].as_str().unwrap().into(),
                l["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    let has = |step: &str, outcome: &str| outcomes.iter().any(|(s, o)| s == step && o == outcome);
    assert!(has("welcome", "queued") && has("welcome", "waiting"), "{outcomes:?}");
    assert!(has("elsewhere", "refused"), "{outcomes:?}");
    assert!(has("broken", "plugin_failed"), "{outcomes:?}");
    assert_eq!(runs[0]["end_reason"], "completed", "{}", runs[0]);
    let lead = lead(&server, &token, id).await?;
    assert!(!crate::scoring::events(&lead, "nurture_action_refused").is_empty());
    assert!(!crate::scoring::events(&lead, "plugin_failed").is_empty());
    Ok(())
}

/// The demo tenant (the server's embedded default) ships the welcome and
/// drip workflow: a hot lead goes to a rep with a first-call task and a
/// welcome email; a cold one is held, gets the welcome and three emails a
/// few days apart, then goes to sales.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_tenant_welcomes_holds_drips_and_hands_over() -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let db = leadhost_tests::TestDatabase::embedded_default()?;
    let server = TestServer::start_on(db, &["--manual-clock", "--smtp-url", &sink.url()]).await?;
    let token = server
        .cli(&["token", "create", "--tenant", "demo", "--user", "admin@demo.example"])?
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();

    let mut hot = demo_lead("hot@example.com", "138 0013 9000");
    for (field, value) in [
        ("job_title", "CEO"),
        ("industry", "manufacturing"),
        ("budget", ">1m"),
        ("timeline", "this_month"),
    ] {
        hot[field] = json!(value);
    }
    let cold = json!({"name": "Zhou Xun", "email": "cold@example.com", "company": "Small Shop",
                      "consent": true});
    let mut leads = Vec::new();
    for body in [&hot, &cold] {
        let (status, created) = server.submit("demo", "website-demo-request", body).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{created}");
        leads.push(server.processed_lead(&token, created["id"].as_str().unwrap()).await?);
    }
    let (hot, cold) = (&leads[0], &leads[1]);
    assert_eq!(hot["tier"], "hot", "{hot}");
    assert!(!hot["owner_id"].is_null(), "a hot lead goes to a rep: {hot}");
    assert_eq!(cold["tier"], "cold", "{cold}");
    assert_eq!(cold["owner_id"], Value::Null);
    assert!(!cold["held_at"].is_null(), "{cold}");

    let welcomes = sink.wait_for(2, WAIT).await?;
    let to: Vec<&str> = welcomes.iter().map(|m| m.to.as_str()).collect();
    assert!(
        to.contains(&"hot@example.com") && to.contains(&"cold@example.com"),
        "{to:?}"
    );
    assert!(welcomes.iter().all(|m| m.from.contains("sales@demo.example")));
    let hot_id = hot["id"].as_str().unwrap();
    let task = eventually("the first-call task", || async {
        let lead = lead(&server, &token, hot_id).await?;
        Ok(crate::scoring::events(&lead, "task_created")
            .first()
            .map(|e| (*e).clone()))
    })
    .await?;
    assert_eq!(task["detail"]["title"], "First call / 首次电话");
    assert_eq!(task["detail"]["owner"], hot["owner_id"]);

    // The drip: three more emails to the held lead over the next two weeks,
    // then the hand-over.
    for (day, expected) in [(3, 3), (7, 4), (11, 5)] {
        advance(&server, if day == 3 { 3 * DAY } else { 4 * DAY }).await?;
        let received = sink.wait_for(expected, WAIT).await?;
        assert_eq!(received.last().unwrap().to, "cold@example.com", "day {day}");
    }
    advance(&server, 3 * DAY).await?;
    let cold_id = cold["id"].as_str().unwrap();
    let handed = eventually("the hand-over", || async {
        let lead = lead(&server, &token, cold_id).await?;
        Ok((!lead["owner_id"].is_null()).then_some(lead))
    })
    .await?;
    assert_eq!(handed["held_at"], Value::Null);
    assert!(!handed["follow_up_due_at"].is_null(), "{handed}");
    Ok(())
}

async fn an_awaited_event_wakes_a_run_a_pause_holds_it_and_archiving_ends_it(backend: Backend) -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let (server, token, _) = nurture_server(backend, &sink).await?;
    let workflow = json!({
        "name": "Follow the download",
        "trigger": {"on": "manual"},
        "steps": [
            {"id": "until-download", "kind": "wait", "event": "download", "timeout": "7d"},
            {"id": "thanks", "kind": "send_email", "email": {"subject": "Thanks for downloading", "text": "Enjoy."}},
            {"id": "pause", "kind": "wait", "for": "1d"},
            {"id": "more", "kind": "send_email", "email": {"subject": "More to read", "text": "Here is more."}},
            {"id": "pause-2", "kind": "wait", "for": "1d"},
            {"id": "last", "kind": "send_email", "email": {"subject": "Last one", "text": "Bye."}}
        ]
    });
    put_workflow(&server, &token, "download", &workflow).await?;
    let id = warm_lead(&server, &token, "he.ping@example.com", "138 0013 8010").await?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let enrol = json!({"lead_id": id});
    let (status, run) = post(&server, &token, "/api/v1/workflows/download/enrolments", &enrol).await?;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let (status, again) = post(&server, &token, "/api/v1/workflows/download/enrolments", &enrol).await?;
    assert_eq!(status, StatusCode::CONFLICT, "one active run per lead: {again}");
    eventually("the wait for the download", || async {
        let runs = runs_of(&server, &token, &id).await?;
        Ok((runs[0]["waiting_for"] == "download").then_some(()))
    })
    .await?;

    // The event arrives long before the timeout: the run goes on at once.
    let (status, body) = post(
        &server,
        &token,
        &format!("/api/v1/leads/{id}/events"),
        &json!({"kind": "download", "url": "https://acme.example/guide.pdf"}),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(sink.wait_for(1, WAIT).await?[0].subject, "Thanks for downloading");

    // Paused, the run waits past its time; resumed, it goes on.
    let path = "/api/v1/workflows/download";
    server
        .send_json(Method::PATCH, &token, path, &json!({"status": "paused"}))
        .await?;
    advance(&server, DAY + 1).await?;
    assert_eq!(sink.messages()?.len(), 1, "a paused workflow sends nothing");
    server
        .send_json(Method::PATCH, &token, path, &json!({"status": "active"}))
        .await?;
    advance(&server, 61).await?;
    assert_eq!(sink.wait_for(2, WAIT).await?[1].subject, "More to read");

    // Archived, its runs end where they stand.
    server
        .send_json(Method::PATCH, &token, path, &json!({"status": "archived"}))
        .await?;
    advance(&server, DAY + 1).await?;
    let runs = eventually("the run's end", || async {
        let runs = runs_of(&server, &token, &id).await?;
        Ok((!runs[0]["ended_at"].is_null()).then_some(runs))
    })
    .await?;
    assert_eq!(runs[0]["end_reason"], "the workflow was archived");
    assert_eq!(sink.messages()?.len(), 2);
    let (_, log) = server.get_json(&token, "/api/v1/emails?limit=1").await?;
    assert_eq!(log["emails"].as_array().unwrap().len(), 1, "{log}");
    assert_eq!(log["emails"][0]["subject"], "More to read", "newest first");
    let before = log["next_before"].as_str().unwrap();
    let (_, older) = server
        .get_json(&token, &format!("/api/v1/emails?before={before}"))
        .await?;
    assert_eq!(older["emails"][0]["subject"], "Thanks for downloading");
    assert_eq!(older["emails"][0]["attempts_log"][0]["outcome"], "accepted");
    Ok(())
}

async fn notifications_of(server: &TestServer, token: &str) -> anyhow::Result<Value> {
    let (status, body) = server.get_json(token, "/api/v1/notifications").await?;
    anyhow::ensure!(status == StatusCode::OK, "{body}");
    Ok(body)
}

fn notice_kinds(list: &Value) -> Vec<String> {
    let mut kinds: Vec<String> = list["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds
}

async fn owners_hear_of_hot_leads_deadlines_notices_and_key_behaviour(backend: Backend) -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let (server, token, people) = nurture_server(backend, &sink).await?;
    let rep = people["rep@acme.example"]["token"].as_str().unwrap().to_owned();
    let boss = people["boss@acme.example"]["token"].as_str().unwrap().to_owned();
    let workflow = json!({
        "name": "Tell the owner",
        "trigger": {"on": "lead_created"},
        "steps": [
            {"id": "tell", "kind": "notify_owner", "message": "New hot lead from the website: call today"},
            {"id": "watch", "kind": "wait", "for": "7d"}
        ]
    });
    put_workflow(&server, &token, "tell", &workflow).await?;
    // A hot lead (a company of 200-999) goes to the rep.
    let (status, created) = server
        .submit(
            "acme",
            "website-demo-request",
            &demo_lead("hot@example.com", "138 0013 8020"),
        )
        .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let mine = eventually("the rep's two notifications", || async {
        let list = notifications_of(&server, &rep).await?;
        Ok((list["unread"] == 2).then_some(list))
    })
    .await?;
    assert_eq!(notice_kinds(&mine), ["hot_lead_assigned", "nurture"], "{mine}");
    assert_eq!(mine["notifications"][0]["lead_id"], id.as_str());
    // By default a hot lead comes by email too (a workflow's notice does not).
    let mail = sink.wait_for(1, WAIT).await?;
    let to_rep: Vec<&ReceivedEmail> = mail.iter().filter(|m| m.to == "rep@acme.example").collect();
    assert_eq!(
        to_rep.len(),
        1,
        "{:?}",
        mail.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
    );
    assert!(
        to_rep[0].subject.contains("A hot lead was assigned to you"),
        "{}",
        to_rep[0].subject
    );

    // The deadline (5 minutes for a hot lead): a warning, then the breach,
    // which also reaches the manager, both by email.
    advance(&server, 3 * 60 + 1).await?;
    advance(&server, 2 * 60 + 1).await?;
    let mine = eventually("the warning and the breach", || async {
        let list = notifications_of(&server, &rep).await?;
        Ok((list["unread"] == 4).then_some(list))
    })
    .await?;
    assert_eq!(
        notice_kinds(&mine),
        ["hot_lead_assigned", "nurture", "sla_breach", "sla_warning"]
    );
    let theirs = notifications_of(&server, &boss).await?;
    assert_eq!(notice_kinds(&theirs), ["sla_breach"], "{theirs}");
    let mail = sink.wait_for(3, WAIT).await?;
    let breach_mail: Vec<&ReceivedEmail> = mail.iter().filter(|m| m.subject.contains("passed")).collect();
    let mut to: Vec<&str> = breach_mail.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    assert_eq!(to, ["boss@acme.example", "rep@acme.example"]);

    // Reading: one, then the rest; another user's is not found.
    let first = mine["notifications"][0]["id"].as_str().unwrap();
    let (status, body) = post(
        &server,
        &rep,
        &format!("/api/v1/notifications/{first}/read"),
        &json!({}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["unread"], 3);
    let (status, _) = post(
        &server,
        &boss,
        &format!("/api/v1/notifications/{first}/read"),
        &json!({}),
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    post(&server, &rep, "/api/v1/notifications/read", &json!({})).await?;
    assert_eq!(notifications_of(&server, &rep).await?["unread"], 0);

    // A nurtured lead's repeated pricing-page visits reach the owner.
    for _ in 0..2 {
        let (status, body) = post(
            &server,
            &token,
            &format!("/api/v1/leads/{id}/events"),
            &json!({"kind": "pricing_page_viewed", "url": "https://acme.example/pricing"}),
        )
        .await?;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mine = notifications_of(&server, &rep).await?;
    assert_eq!(mine["unread"], 1, "once, on the second visit: {mine}");
    assert_eq!(mine["notifications"][0]["kind"], "key_behaviour");

    // Each user chooses what comes by email; the manager's email link stops them.
    let (status, bad) = server
        .send_json(
            Method::PUT,
            &rep,
            "/api/v1/me/notifications",
            &json!({"email": ["sla_breach", "gossip"]}),
        )
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(leadhost_tests::pointers(&bad), ["/email/1"]);
    let (status, chosen) = server
        .send_json(
            Method::PUT,
            &rep,
            "/api/v1/me/notifications",
            &json!({"email": ["key_behaviour"]}),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{chosen}");
    assert_eq!(chosen["email"], json!(["key_behaviour"]));
    let stop = unsubscribe_link(breach_mail.iter().find(|m| m.to == "boss@acme.example").unwrap());
    let stopped = server
        .http
        .post(&stop)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await?;
    assert_eq!(stopped.status(), StatusCode::OK);
    let (_, choice) = server.get_json(&boss, "/api/v1/me/notifications").await?;
    assert_eq!(choice["email"], json!([]), "{choice}");
    let (_, suppressions) = server.get_json(&token, "/api/v1/suppressions").await?;
    assert_eq!(
        suppressions["suppressions"],
        json!([]),
        "a user's address is not suppressed"
    );
    Ok(())
}

/// The tenant's sending rate is counted in the database per minute: past
/// it, emails wait for the next minute (nothing is dropped).
async fn the_sending_rate_holds_the_rest_for_the_next_minute(backend: Backend) -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let (server, token, _) = nurture_server(backend, &sink).await?;
    let (status, body) = server
        .send_json(
            Method::PATCH,
            &token,
            "/api/v1/settings",
            &json!({"emails_per_minute": 2}),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, bad) = server
        .send_json(
            Method::PATCH,
            &token,
            "/api/v1/settings",
            &json!({"emails_per_minute": 0, "time_zone": "Mars/Olympus"}),
        )
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(leadhost_tests::pointers(&bad), ["/time_zone", "/emails_per_minute"]);
    put_workflow(&server, &token, "drip", &drip()).await?;
    let mut leads = Vec::new();
    for i in 0..3 {
        let lead = warm_lead(
            &server,
            &token,
            &format!("rate{i}@example.com"),
            &format!("138 0013 803{i}"),
        )
        .await?;
        leads.push(lead["id"].as_str().unwrap().to_owned());
    }
    let sent = || async {
        let mut sent = 0;
        for id in &leads {
            sent += emails_of(&server, &token, id)
                .await?
                .iter()
                .filter(|e| e["status"] == "sent")
                .count();
        }
        anyhow::Ok(sent)
    };
    eventually("two sent", || async { Ok((sent().await? == 2).then_some(())) }).await?;
    assert_eq!(sink.wait_for(2, WAIT).await?.len(), 2);
    // The third waits for the next minute.
    advance(&server, 61).await?;
    eventually("the third sent", || async { Ok((sent().await? == 3).then_some(())) }).await?;
    assert_eq!(sink.wait_for(3, WAIT).await?.len(), 3);
    Ok(())
}

//! Follow-up through the real server on a manual clock: the SLA's warning,
//! breach, escalation and recycling; a touch moving the deadline; a restart
//! in the middle of a schedule; activities, tasks and the agenda; and
//! webhooks delivered to a real local listener, retried after failures.

use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use leadhost_tests::{Backend, OPERATOR_TOKEN, TestServer, on_both_backends, pointers};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::intake::demo_lead;
use crate::scoring::{events, lead, new_lead, post, send, set_model};

on_both_backends!(
    an_untouched_hot_lead_is_warned_breached_escalated_and_recycled,
    a_touch_moves_the_deadline_and_a_restart_runs_each_job_once,
    webhooks_reach_a_real_listener_signed_and_retried_after_failures,
    the_agenda_shows_what_is_overdue_due_today_and_new,
);

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;

/// A tenant on a manual clock with a hot-making model, an SLA policy, one
/// team (a manager and a rep) and a rule sending every lead to it.
async fn sla_server(backend: Backend) -> anyhow::Result<(TestServer, String, Value)> {
    let server = TestServer::start_with(backend, &["--manual-clock"]).await?;
    sla_tenant(server).await
}

pub(crate) async fn sla_tenant(server: TestServer) -> anyhow::Result<(TestServer, String, Value)> {
    let token = server.create_tenant("acme").await?;
    server
        .create_form_from_file(&token, "website-demo-request.json")
        .await?;
    set_model(
        &server,
        &token,
        &json!({
            "tiers": {"warm": 5, "hot": 10}, "promote": {"mql": 50, "sql": 100},
            "rules": [{"kind": "attribute", "id": "size", "field": "company_size",
                       "cases": [{"equals": "200-999", "points": 12}, {"equals": "50-199", "points": 6}]}]
        }),
    )
    .await?;
    let (status, body) = send(
        &server,
        &token,
        Method::PUT,
        "/api/v1/sla/policy",
        &json!({
            "first_touch_minutes": {"hot": 5, "warm": 60, "cold": 1440},
            "warn_before_minutes": 2, "follow_up_hours": 48, "recycle_after_hours": 24
        }),
    )
    .await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {body}");
    let (status, _) = send(
        &server,
        &token,
        Method::PUT,
        "/api/v1/pool/settings",
        &json!({"bar_hours": 72}),
    )
    .await?;
    anyhow::ensure!(status == StatusCode::OK);
    let mut people = json!({});
    for (email, role) in [
        ("boss@acme.example", "manager"),
        ("rep@acme.example", "rep"),
        ("other@acme.example", "rep"),
    ] {
        let (status, user) = post(&server, &token, "/api/v1/users", &json!({"email": email, "role": role})).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{user}");
        let (_, issued) = post(&server, &token, "/api/v1/tokens", &json!({"user": email})).await?;
        people[email] = json!({"id": user["id"], "token": issued["token"]});
    }
    let (status, team) = post(
        &server,
        &token,
        "/api/v1/teams",
        &json!({"name": "inside", "strategy": "round_robin",
        "manager": "boss@acme.example", "members": [{"email": "rep@acme.example"}]}),
    )
    .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{team}");
    let (status, rules) = send(
        &server,
        &token,
        Method::PUT,
        "/api/v1/routing/rules",
        &json!({"rules": [{"id": "all", "assign": {"team": "inside"}}]}),
    )
    .await?;
    anyhow::ensure!(status == StatusCode::OK, "{rules}");
    Ok((server, token, people))
}

pub(crate) async fn advance(server: &TestServer, seconds: u64) -> anyhow::Result<Value> {
    let (status, body) = post(
        server,
        OPERATOR_TOKEN,
        "/api/v1/clock",
        &json!({"advance_seconds": seconds}),
    )
    .await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {body}");
    Ok(body)
}

pub(crate) fn kinds(lead: &Value) -> Vec<String> {
    lead["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn an_untouched_hot_lead_is_warned_breached_escalated_and_recycled(backend: Backend) -> anyhow::Result<()> {
    let (server, token, people) = sla_server(backend).await?;
    let rep = people["rep@acme.example"]["id"].as_str().unwrap();
    let lead_id = new_lead(&server, &token, &demo_lead("hot@example.com", "")).await?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let fresh = lead(&server, &token, &lead_id).await?;
    assert_eq!(
        (fresh["tier"].as_str(), fresh["owner_id"].as_str()),
        (Some("hot"), Some(rep))
    );
    let assigned = fresh["assigned_at"].as_str().unwrap();
    // Hot: first touch within 5 minutes.
    let due = fresh["follow_up_due_at"].as_str().unwrap();
    assert!(due > assigned, "{due} {assigned}");

    advance(&server, 2 * MINUTE).await?;
    assert!(!kinds(&lead(&server, &token, &lead_id).await?).contains(&"sla_warning".to_owned()));
    advance(&server, MINUTE + 1).await?;
    let warned = lead(&server, &token, &lead_id).await?;
    assert_eq!(events(&warned, "sla_warning").len(), 1, "{:?}", kinds(&warned));
    assert!(events(&warned, "sla_breached").is_empty());

    advance(&server, 2 * MINUTE).await?;
    let breached = lead(&server, &token, &lead_id).await?;
    assert_eq!(events(&breached, "sla_breached").len(), 1);
    let escalated = events(&breached, "escalated");
    assert_eq!(escalated.len(), 1);
    assert_eq!(escalated[0]["detail"]["manager"], people["boss@acme.example"]["id"]);
    assert_eq!(
        breached["owner_id"].as_str(),
        Some(rep),
        "still the rep's until recycled"
    );

    advance(&server, 24 * HOUR).await?;
    let recycled = lead(&server, &token, &lead_id).await?;
    assert!(recycled["owner_id"].is_null(), "back in the pool");
    assert_eq!(events(&recycled, "recycled").len(), 1);
    assert!(recycled["follow_up_due_at"].is_null());
    // The previous owner is barred from claiming it back; another rep may.
    let rep_token = people["rep@acme.example"]["token"].as_str().unwrap();
    let (status, problem) = post(
        &server,
        rep_token,
        &format!("/api/v1/leads/{lead_id}/claim"),
        &json!({}),
    )
    .await?;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let other = people["other@acme.example"]["token"].as_str().unwrap();
    let (status, claimed) = post(&server, other, &format!("/api/v1/leads/{lead_id}/claim"), &json!({})).await?;
    assert_eq!(status, StatusCode::OK, "{claimed}");
    // The claimer's own first-touch clock starts.
    assert!(claimed["follow_up_due_at"].as_str().is_some());
    let (_, users) = server.get_json(&token, "/api/v1/users").await?;
    let open = |email: &str| {
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .unwrap()["open_leads"]
            .as_i64()
    };
    assert_eq!(
        (open("rep@acme.example"), open("other@acme.example")),
        (Some(0), Some(1))
    );
    Ok(())
}

async fn a_touch_moves_the_deadline_and_a_restart_runs_each_job_once(backend: Backend) -> anyhow::Result<()> {
    let (server, token, people) = sla_server(backend).await?;
    let rep_token = people["rep@acme.example"]["token"].as_str().unwrap().to_owned();
    let id = new_lead(&server, &token, &demo_lead("touch@example.com", "")).await?["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A note is not a touch; a call is.
    let (status, _) = post(
        &server,
        &rep_token,
        &format!("/api/v1/leads/{id}/activities"),
        &json!({"kind": "note", "note": "looked them up"}),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED);
    assert!(lead(&server, &token, &id).await?["touched_at"].is_null());
    let (status, activity) = post(
        &server,
        &rep_token,
        &format!("/api/v1/leads/{id}/activities"),
        &json!({"kind": "call", "outcome": "interested", "note": "wants a demo"}),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{activity}");
    let touched = lead(&server, &token, &id).await?;
    assert!(touched["touched_at"].is_string());

    // The first-touch jobs fall due but find the deadline moved: nothing happens.
    advance(&server, 10 * MINUTE).await?;
    let quiet = lead(&server, &token, &id).await?;
    assert!(
        events(&quiet, "sla_warning").is_empty() && events(&quiet, "sla_breached").is_empty(),
        "{:?}",
        kinds(&quiet)
    );

    // Restart with the follow-up deadline (48 h after the call) pending.
    let db = server.stop();
    let server = TestServer::start_on(db, &["--manual-clock"]).await?;
    // 10 minutes have passed; the warning is due 2 minutes before 48 hours.
    advance(&server, 47 * HOUR + 49 * MINUTE).await?;
    let after = lead(&server, &token, &id).await?;
    assert_eq!(events(&after, "sla_warning").len(), 1, "{:?}", kinds(&after));
    assert!(events(&after, "sla_breached").is_empty());
    advance(&server, 2 * MINUTE).await?;
    advance(&server, HOUR).await?;
    let after = lead(&server, &token, &id).await?;
    assert_eq!(
        (
            events(&after, "sla_warning").len(),
            events(&after, "sla_breached").len()
        ),
        (1, 1),
        "each job once"
    );

    // Bad activities are refused with pointers.
    let (status, problem) = post(
        &server,
        &rep_token,
        &format!("/api/v1/leads/{id}/activities"),
        &json!({"kind": "telepathy", "next_follow_up_at": "2000-01-01T00:00:00Z"}),
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/kind", "/next_follow_up_at"]);
    let (_, listed) = server
        .get_json(&token, &format!("/api/v1/leads/{id}/activities"))
        .await?;
    let logged: Vec<&str> = listed["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(logged, ["note", "call"]);
    Ok(())
}

/// A local HTTP receiver: answers 500 to its first `failures` requests,
/// then 200; keeps every request's headers and body.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<(Value, String, String)>>>,
}

async fn receiver(failures: usize) -> anyhow::Result<Receiver> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let seen: Arc<Mutex<Vec<(Value, String, String)>>> = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        let mut served = 0usize;
        while let Ok((mut socket, _)) = listener.accept().await {
            served += 1;
            let fail = served <= failures;
            let log = log.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&raw).to_string();
                    let Some(split) = text.find("\r\n\r\n") else { continue };
                    let head = text[..split].to_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if raw.len() < split + 4 + length {
                        continue;
                    }
                    let body = String::from_utf8_lossy(&raw[split + 4..split + 4 + length]).to_string();
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| l.strip_prefix(&format!("{name}:")))
                            .map(|v| v.trim().to_owned())
                            .unwrap_or_default()
                    };
                    let status = if fail { "500 Internal Server Error" } else { "200 OK" };
                    if !fail {
                        let payload: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                        log.lock().unwrap().push((payload, header("leadhost-signature"), body));
                    }
                    let _ = socket
                        .write_all(
                            format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes(),
                        )
                        .await;
                    return;
                }
            });
        }
    });
    Ok(Receiver { url, seen })
}

async fn webhooks_reach_a_real_listener_signed_and_retried_after_failures(backend: Backend) -> anyhow::Result<()> {
    let (server, token, people) = sla_server(backend).await?;
    let hook = receiver(2).await?;
    let (status, problem) = post(
        &server,
        &token,
        "/api/v1/webhooks",
        &json!({"url": "ftp://x", "events": ["lead.eaten"]}),
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/url", "/events/0"]);
    let (status, created) = post(&server, &token, "/api/v1/webhooks", &json!({"url": hook.url, "events": [
        "lead.created", "lead.assigned", "lead.claimed", "sla.warning", "sla.breached", "lead.recycled", "stage.changed"
    ]})).await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let hook_id = created["id"].as_str().unwrap().to_owned();

    let id = new_lead(&server, &token, &demo_lead("hooked@example.com", "")).await?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = post(
        &server,
        &token,
        &format!("/api/v1/leads/{id}/stage"),
        &json!({"stage": "mql"}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    advance(&server, 5 * MINUTE).await?; // warning and breach
    advance(&server, 24 * HOUR).await?; // recycled
    let other = people["other@acme.example"]["token"].as_str().unwrap();
    let (status, _) = post(&server, other, &format!("/api/v1/leads/{id}/claim"), &json!({})).await?;
    assert_eq!(status, StatusCode::OK);
    // The claimer calls at once, so moving the clock below starts no new warning.
    let (status, _) = post(
        &server,
        other,
        &format!("/api/v1/leads/{id}/activities"),
        &json!({"kind": "call"}),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED);
    // The first two attempts failed; their retries wait 10 s and 20 s.
    for _ in 0..4 {
        advance(&server, 30).await?;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let deliveries = loop {
        let (_, log) = server
            .get_json(&token, &format!("/api/v1/webhooks/{hook_id}/deliveries"))
            .await?;
        let all = log["deliveries"].as_array().unwrap().clone();
        if (all.len() >= 7 && all.iter().all(|d| d["status"] == "delivered")) || std::time::Instant::now() > deadline {
            break all;
        }
        advance(&server, 30).await?;
    };
    let mut delivered: Vec<&str> = deliveries.iter().map(|d| d["event"].as_str().unwrap()).collect();
    delivered.sort();
    assert_eq!(
        delivered,
        [
            "lead.assigned",
            "lead.claimed",
            "lead.created",
            "lead.recycled",
            "sla.breached",
            "sla.warning",
            "stage.changed"
        ],
        "{deliveries:?}"
    );
    assert!(deliveries.iter().all(|d| d["status"] == "delivered"), "{deliveries:?}");
    let retried: i64 = deliveries.iter().map(|d| d["attempts"].as_i64().unwrap() - 1).sum();
    assert_eq!(retried, 2, "the two failed attempts were retried: {deliveries:?}");

    // What arrived is what the log says, each signed with the secret.
    let seen = hook.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 7);
    for (payload, signature, body) in &seen {
        let (t, v1) = signature.split_once(",v1=").unwrap();
        let t = t.strip_prefix("t=").unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())?;
        mac.update(format!("{t}.{body}").as_bytes());
        let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(v1, expected, "signature of {payload}");
        assert!(deliveries.iter().any(|d| d["id"] == payload["id"]));
    }
    let breach = seen.iter().find(|(p, _, _)| p["event"] == "sla.breached").unwrap();
    assert_eq!(breach.0["data"]["lead_id"], id.as_str());
    assert_eq!(breach.0["data"]["manager"], people["boss@acme.example"]["id"]);
    Ok(())
}

async fn the_agenda_shows_what_is_overdue_due_today_and_new(backend: Backend) -> anyhow::Result<()> {
    let (server, token, people) = sla_server(backend).await?;
    let rep_token = people["rep@acme.example"]["token"].as_str().unwrap().to_owned();
    let rep = people["rep@acme.example"]["id"].as_str().unwrap().to_owned();
    let mut cold = demo_lead("cold@example.com", "");
    cold["company_size"] = json!("1-49");
    let hot = new_lead(&server, &token, &demo_lead("agenda-hot@example.com", "")).await?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cold = new_lead(&server, &token, &cold).await?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, now) = server.get_json(&token, "/api/v1/clock").await?;
    let now = now["now"].as_str().unwrap().to_owned();
    let (status, task) = post(
        &server,
        &rep_token,
        "/api/v1/tasks",
        &json!({"title": "send the quote", "due_at": now, "lead_id": hot}),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    let (status, _) = post(
        &server,
        &rep_token,
        "/api/v1/tasks",
        &json!({"title": "x", "due_at": now, "user_id": people["other@acme.example"]["id"]}),
    )
    .await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "reps give tasks only to themselves");

    let (status, agenda) = server.get_json(&rep_token, "/api/v1/agenda").await?;
    assert_eq!(status, StatusCode::OK, "{agenda}");
    let ids = |key: &str| -> Vec<String> {
        agenda[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids("newly_assigned").len(), 2);
    assert!(ids("overdue").is_empty());
    advance(&server, 10 * MINUTE).await?;
    let (_, agenda) = server.get_json(&rep_token, "/api/v1/agenda").await?;
    let overdue: Vec<&str> = agenda["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(overdue, [hot.as_str()], "the hot lead's 5 minutes are up: {agenda}");
    assert_eq!(agenda["overdue_tasks"].as_array().unwrap().len(), 1);
    let _ = (&cold, &rep);
    let (status, _) = post(
        &server,
        &rep_token,
        &format!("/api/v1/tasks/{}/done", task["id"].as_str().unwrap()),
        &json!({}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let (_, agenda) = server.get_json(&rep_token, "/api/v1/agenda").await?;
    assert!(agenda["overdue_tasks"].as_array().unwrap().is_empty());
    // A manager may look at a rep's agenda; a rep may not look at another's.
    let boss = people["boss@acme.example"]["token"].as_str().unwrap();
    let (status, _) = server.get_json(boss, &format!("/api/v1/agenda?user={rep}")).await?;
    assert_eq!(status, StatusCode::OK);
    let other = people["other@acme.example"]["token"].as_str().unwrap();
    let (status, _) = server.get_json(other, &format!("/api/v1/agenda?user={rep}")).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    Ok(())
}

//! Nurture workflows over the API: checked at PUT with a pointer per
//! problem, stored as versions (an earlier version stays readable), paused,
//! resumed and archived (for good), and private to their tenant.

use leadhost_tests::{Backend, StatusCode, TestServer, on_both_backends, pointers};
use reqwest::Method;
use serde_json::{Value, json};

use crate::intake::demo_server;

on_both_backends!(
    workflows_are_versioned_paused_and_archived,
    bad_workflows_are_rejected_with_pointers,
);

/// The demo's welcome-and-drip shape: a welcome email and a first-call
/// task, then emails a few days apart until the lead turns hot.
fn drip(name: &str) -> Value {
    json!({
        "name": name,
        "trigger": {"on": "lead_created", "forms": ["website-demo-request"]},
        "steps": [
            {"id": "welcome", "kind": "send_email", "email": {
                "subject": "Welcome, {{ fields.name }}",
                "text": "Hello {{ fields.name }} of {{ fields.company }}.",
                "html": "<p>Hello {{ fields.name }} of {{ fields.company }}.</p>"}},
            {"id": "first-call", "kind": "create_task", "title": "First call", "due_in": "4h"},
            {"id": "pause", "kind": "wait", "for": "3d"},
            {"id": "hot", "kind": "branch", "if": {"tier": ["hot"]}, "then": "handoff"},
            {"id": "case-study", "kind": "send_email", "email": {
                "subject": "How others in {{ fields.province }} use leadhost",
                "text": "Hello {{ fields.name }}, ...",
                "fallbacks": {"province": "your region"}}},
            {"id": "again", "kind": "branch", "if": {"email_clicked": "case-study"}, "then": "handoff", "else": "pause"},
            {"id": "handoff", "kind": "hand_to_sales"}
        ]
    })
}

async fn put(server: &TestServer, token: &str, slug: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
    let path = format!("/api/v1/workflows/{slug}");
    server.send_json(Method::PUT, token, &path, body).await
}

async fn patch(server: &TestServer, token: &str, slug: &str, status: &str) -> anyhow::Result<(StatusCode, Value)> {
    let path = format!("/api/v1/workflows/{slug}");
    server
        .send_json(Method::PATCH, token, &path, &json!({ "status": status }))
        .await
}

async fn workflows_are_versioned_paused_and_archived(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let (status, first) = put(&server, &token, "welcome", &drip("Welcome")).await?;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["current_version"], 1);
    assert_eq!(first["status"], "active");
    // Defaults are filled in, so the stored version says what will happen.
    assert_eq!(first["definition"]["exit_when"]["unsubscribed"], true);
    assert_eq!(first["definition"]["reentry"], false);

    let (status, second) = put(&server, &token, "welcome", &drip("Welcome, version 2")).await?;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["current_version"], 2);
    let (_, v1) = server.get_json(&token, "/api/v1/workflows/welcome/versions/1").await?;
    assert_eq!(
        v1["definition"]["name"], "Welcome",
        "a run keeps the version it started on"
    );
    let (_, current) = server.get_json(&token, "/api/v1/workflows/welcome").await?;
    assert_eq!(current["definition"]["name"], "Welcome, version 2");
    let (_, list) = server.get_json(&token, "/api/v1/workflows").await?;
    assert_eq!(list["workflows"].as_array().unwrap().len(), 1);

    assert_eq!(patch(&server, &token, "welcome", "paused").await?.1["status"], "paused");
    assert_eq!(patch(&server, &token, "welcome", "active").await?.1["status"], "active");
    assert_eq!(
        patch(&server, &token, "welcome", "archived").await?.1["status"],
        "archived"
    );
    let (status, body) = patch(&server, &token, "welcome", "active").await?;
    assert_eq!(status, StatusCode::CONFLICT, "archiving is final: {body}");
    let (status, _) = put(&server, &token, "welcome", &drip("After archiving")).await?;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = patch(&server, &token, "welcome", "sleeping").await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Another tenant sees nothing of it; a rep may not read workflows.
    let other = server.create_tenant("other").await?;
    let (status, _) = server.get_json(&other, "/api/v1/workflows/welcome").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.cli(&[
        "user",
        "add",
        "--tenant",
        "acme",
        "--email",
        "rep@acme.example",
        "--role",
        "rep",
    ])?;
    let rep = server.cli(&["token", "create", "--tenant", "acme", "--user", "rep@acme.example"])?;
    let rep = rep.lines().last().unwrap().trim();
    assert_eq!(
        server.get_json(rep, "/api/v1/workflows").await?.0,
        StatusCode::FORBIDDEN
    );
    Ok(())
}

async fn bad_workflows_are_rejected_with_pointers(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    // What is wrong, how to spoil the drip with it, where and what the
    // answer says.
    type Case = (&'static str, fn(&mut Value), &'static str, &'static str);
    let cases: [Case; 5] = [
        (
            "an unknown step kind",
            |w| w["steps"][1]["kind"] = json!("send_fax"),
            "/steps/1/kind",
            "send_fax",
        ),
        (
            "a branch to nowhere",
            |w| w["steps"][3]["then"] = json!("nowhere"),
            "/steps/3/then",
            "nowhere",
        ),
        (
            "a template naming a field no trigger form has",
            |w| w["steps"][0]["email"]["text"] = json!("Hi {{ fields.favourite_colour }}"),
            "/steps/0/email/text",
            "favourite_colour",
        ),
        (
            "a wait of minus one day",
            |w| w["steps"][2]["for"] = json!("-1d"),
            "/steps/2/for",
            "-1d",
        ),
        (
            "a loop with no wait",
            |w| w["steps"][5]["else"] = json!("hot"),
            "/steps/5/else",
            "no wait",
        ),
    ];
    for (what, spoil, pointer, says) in cases {
        let mut workflow = drip("Spoilt");
        spoil(&mut workflow);
        let (status, body) = put(&server, &token, "spoilt", &workflow).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_eq!(pointers(&body), [pointer], "{what}: {body}");
        assert!(body.to_string().contains(says), "{what}: {body}");
    }
    // Several problems at once: each at its pointer, nothing stored.
    let mut workflow = drip("Spoilt");
    workflow["steps"][2]["for"] = json!("-1d");
    workflow["steps"][3]["then"] = json!("nowhere");
    workflow["exit_when"] = json!({"stages": ["closed"]});
    let (status, body) = put(&server, &token, "spoilt", &workflow).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut found = pointers(&body);
    found.sort();
    assert_eq!(
        found,
        ["/exit_when/stages/0", "/steps/2/for", "/steps/3/then"],
        "{body}"
    );
    let (status, _) = server.get_json(&token, "/api/v1/workflows/spoilt").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

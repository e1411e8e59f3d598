//! The admin pages over HTTP, as a browser sends them (the browser tests
//! drive them in Chromium): the setup editors (JSON, each problem at its
//! pointer, every save logged with who made it) and the workflows page
//! (steps, waiting leads, pause and resume), the users page (add, role and
//! routing attributes, a reset link by email, deactivation) and the plugins
//! page (status, failures withheld from integrators, switching off).

use std::time::Duration;

use leadhost_tests::pages::PageVisitor;
use leadhost_tests::smtp::SmtpSink;
use leadhost_tests::workspace::{ADMIN_EMAIL, PASSWORD, Workspace};
use leadhost_tests::{Backend, StatusCode, TestServer, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    admins_edit_the_setup_as_json_with_each_problem_at_its_pointer,
    admins_pause_and_resume_a_workflow_and_see_its_steps,
    admins_add_users_set_roles_send_reset_links_and_deactivate,
    integrators_see_plugins_failures_withheld_and_switch_one_off,
    admins_edit_teams_as_json_and_add_one,
);

async fn admins_edit_the_setup_as_json_with_each_problem_at_its_pointer(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let mut admin = PageVisitor::new(&server);
    assert_eq!(
        admin.log_in(ws.tenant, ADMIN_EMAIL, PASSWORD).await?.status,
        StatusCode::SEE_OTHER
    );
    let editor = admin.get("/app/admin/setup/scoring_model").await?;
    assert_eq!(editor.status, StatusCode::OK, "{}", editor.html);
    assert!(editor.html.contains("textarea"), "{}", editor.html);
    let csrf = editor.csrf().unwrap();

    // A wrong member: the page says where, keeps the text, saves nothing.
    let broken = json!({"tiers": {"warm": "five", "hot": 10}, "rules": []}).to_string();
    let refused = admin
        .post(
            "/app/admin/setup/scoring_model",
            &[("document", &broken), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.html);
    assert!(
        refused.html.contains("data-pointer=\"/tiers/warm\""),
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("&quot;five&quot;"),
        "the value at the pointer: {}",
        refused.html
    );
    assert!(refused.html.contains("aria-invalid=\"true\""));
    let (_, model) = server.get_json(&ws.admin, "/api/v1/scoring/model").await?;
    assert_eq!(model["version"], 0, "nothing saved: {model}");

    // Not JSON at all: where it stops parsing.
    let garbled = admin
        .post(
            "/app/admin/setup/scoring_model",
            &[("document", "{\"tiers\": {"), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(garbled.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(garbled.html.contains("is not valid JSON (line 1"), "{}", garbled.html);

    // A good model is saved as the API would, re-scoring, and logged.
    let good = json!({"tiers": {"warm": 5, "hot": 10}, "promote": {"mql": 5, "sql": 10}, "rules": [
        {"kind": "attribute", "id": "size", "field": "company_size",
         "cases": [{"equals": "200-999", "points": 12}]}
    ]})
    .to_string();
    let saved = admin
        .post(
            "/app/admin/setup/scoring_model",
            &[("document", &good), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(saved.location(), Some("/app/admin/setup/scoring_model?done=1"));
    let (_, model) = server.get_json(&ws.admin, "/api/v1/scoring/model").await?;
    assert_eq!(model["version"], 1, "{model}");
    assert_eq!(model["model"]["rules"][0]["id"], "size");
    let page = admin.get("/app/admin/setup/scoring_model?done=1").await?;
    assert!(page.html.contains("Saved."), "{}", page.html);
    let (_, users) = server.get_json(&ws.admin, "/api/v1/users").await?;
    let admin_name = users["users"]
        .as_array()
        .and_then(|all| all.iter().find(|u| u["email"] == ADMIN_EMAIL))
        .and_then(|u| u["name"].as_str())
        .unwrap_or_else(|| panic!("the admin among {users}"))
        .to_owned();
    let changes = section_after(&page.html, "id=\"changes\"");
    assert!(changes.contains(&admin_name), "who saved it: {changes}");

    // The pool settings over the API land in the same log, by their user.
    let (status, body) = server
        .send_json(
            Method::PUT,
            &ws.admin,
            "/api/v1/pool/settings",
            &json!({"claim_limit": 0}),
        )
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&body), ["/claim_limit"], "{body}");
    let (status, _) = server
        .send_json(
            Method::PUT,
            &ws.admin,
            "/api/v1/pool/settings",
            &json!({"claim_limit": 5}),
        )
        .await?;
    assert_eq!(status, StatusCode::OK);
    let pool = admin.get("/app/admin/setup/pool_settings").await?;
    assert!(pool.html.contains("&quot;claim_limit&quot;: 5"), "{}", pool.html);
    assert!(
        section_after(&pool.html, "id=\"changes\"").contains("<td>"),
        "{}",
        pool.html
    );

    // The common fields without JSON: the quick form, checked the same way.
    let quick = |fields: &[(&'static str, &'static str)]| {
        let mut all = vec![("mode", "form"), ("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        all
    };
    let refused = admin
        .post(
            "/app/admin/setup/pool_settings",
            &quick(&[("/claim_limit", "ten"), ("/bar_hours", "")]),
        )
        .await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.html.contains("data-pointer=\"/claim_limit\""),
        "{}",
        refused.html
    );
    let saved = admin
        .post(
            "/app/admin/setup/pool_settings",
            &quick(&[("/claim_limit", "7"), ("/bar_hours", "")]),
        )
        .await?;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let (_, settings) = server.get_json(&ws.admin, "/api/v1/pool/settings").await?;
    assert_eq!(settings, json!({"claim_limit": 7, "bar_hours": null}));
    let saved = admin
        .post(
            "/app/admin/setup/sla_policy",
            &quick(&[
                ("/first_touch_minutes/hot", "20"),
                ("/first_touch_minutes/warm", "240"),
                ("/first_touch_minutes/cold", "1440"),
                ("/warn_before_minutes", "10"),
                ("/follow_up_hours", "48"),
                ("/recycle_after_hours", ""),
            ]),
        )
        .await?;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let (_, sla) = server.get_json(&ws.admin, "/api/v1/sla/policy").await?;
    assert_eq!(sla["policy"]["first_touch_minutes"]["hot"], 20, "{sla}");
    assert!(
        sla["policy"].get("recycle_after_hours").is_none(),
        "blank: absent: {sla}"
    );
    // The scoring model's thresholds by form: the rules are kept as they were.
    let saved = admin
        .post(
            "/app/admin/setup/scoring_model",
            &quick(&[
                ("/tiers/warm", "20"),
                ("/tiers/hot", "40"),
                ("/promote/mql", "20"),
                ("/promote/sql", "45"),
            ]),
        )
        .await?;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let (_, model) = server.get_json(&ws.admin, "/api/v1/scoring/model").await?;
    assert_eq!(model["model"]["tiers"], json!({"warm": 20, "hot": 40}), "{model}");
    assert_eq!(model["model"]["promote"]["sql"], 45, "{model}");
    assert_eq!(model["model"]["rules"][0]["id"], "size", "the rules kept: {model}");

    // Routing rules by form: added at the end, moved, removed; a bad one
    // is refused at its pointer like a JSON edit.
    let rule = |id: &'static str, target: &'static str| {
        quick(&[
            ("mode", "rule_add"),
            ("rule_id", id),
            ("rule_tier_hot", "1"),
            ("rule_target", target),
        ])
    };
    for (id, target) in [("hot-east", "team:east"), ("rest-pool", "pool")] {
        let saved = admin.post("/app/admin/setup/routing_rules", &rule(id, target)).await?;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    }
    let ids = |rules: &Value| -> Vec<String> {
        rules["rules"]["rules"]
            .as_array()
            .map(|r| r.iter().map(|r| r["id"].as_str().unwrap_or("").to_owned()).collect())
            .unwrap_or_default()
    };
    let (_, rules) = server.get_json(&ws.admin, "/api/v1/routing/rules").await?;
    assert_eq!(ids(&rules), ["hot-east", "rest-pool"], "{rules}");
    assert_eq!(rules["rules"]["rules"][0]["assign"], json!({"team": "east"}), "{rules}");
    assert_eq!(rules["rules"]["rules"][0]["when"], json!({"tier": ["hot"]}), "{rules}");
    let moved = admin
        .post("/app/admin/setup/routing_rules", &quick(&[("mode", "rule_up:1")]))
        .await?;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.html);
    let (_, rules) = server.get_json(&ws.admin, "/api/v1/routing/rules").await?;
    assert_eq!(ids(&rules), ["rest-pool", "hot-east"], "{rules}");
    let refused = admin
        .post("/app/admin/setup/routing_rules", &rule("hot-east", "team:nobody"))
        .await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("data-pointer=\"/rules/2"), "{}", refused.html);
    let removed = admin
        .post("/app/admin/setup/routing_rules", &quick(&[("mode", "rule_remove:0")]))
        .await?;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.html);
    let (_, rules) = server.get_json(&ws.admin, "/api/v1/routing/rules").await?;
    assert_eq!(ids(&rules), ["hot-east"], "{rules}");
    let page = admin.get("/app/admin/setup/routing_rules").await?;
    assert!(page.html.contains("data-rule=\"hot-east\""), "{}", page.html);

    // Only admins: a manager's and a rep's requests are refused.
    for person in ["manager_a", "rep_a"] {
        let mut visitor = PageVisitor::new(&server);
        visitor.log_in(ws.tenant, &ws.person(person).email, PASSWORD).await?;
        assert_eq!(
            visitor.get("/app/admin/setup/routing_rules").await?.status,
            StatusCode::FORBIDDEN,
            "{person}"
        );
    }
    assert_eq!(
        admin.get("/app/admin/setup/nothing").await?.status,
        StatusCode::NOT_FOUND
    );
    Ok(())
}

async fn admins_pause_and_resume_a_workflow_and_see_its_steps(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let workflow = json!({
        "name": "Slow drip",
        "trigger": {"on": "manual"},
        "steps": [
            {"id": "pause", "kind": "wait", "for": "3d"},
            {"id": "nudge", "kind": "create_task", "title": "Nudge", "due_in": "4h"}
        ]
    });
    let (status, body) = server
        .send_json(Method::PUT, &ws.admin, "/api/v1/workflows/slow-drip", &workflow)
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = server
        .send_json(
            Method::POST,
            &ws.admin,
            "/api/v1/workflows/slow-drip/enrolments",
            &json!({"lead_id": ws.leads["a"]}),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let mut admin = PageVisitor::new(&server);
    admin.log_in(ws.tenant, ADMIN_EMAIL, PASSWORD).await?;
    let page = admin.get("/app/admin/workflows").await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let section = section_after(&page.html, "id=\"workflow-slow-drip\"");
    assert!(section.contains("Slow drip"), "{section}");
    assert!(section.contains("Active"), "{section}");
    assert!(
        section.contains("<td>1. pause</td><td>1</td>"),
        "one lead waits at the first step: {section}"
    );
    let csrf = page.csrf().unwrap();

    let paused = admin
        .post(
            "/app/admin/workflows/slow-drip/status",
            &[("status", "paused"), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(paused.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&server, &ws).await?, "paused");
    let page = admin.get("/app/admin/workflows?done=paused").await?;
    assert!(page.html.contains("value=\"active\""), "a resume button: {}", page.html);

    // A manager reads the page but may not change a workflow.
    let mut manager = PageVisitor::new(&server);
    manager
        .log_in(ws.tenant, &ws.person("manager_a").email, PASSWORD)
        .await?;
    let read = manager.get("/app/admin/workflows").await?;
    assert_eq!(read.status, StatusCode::OK);
    assert!(!read.html.contains("/status\""), "no buttons for a manager");
    let refused = manager
        .post(
            "/app/admin/workflows/slow-drip/status",
            &[("status", "active"), ("_csrf", &read.csrf().unwrap())],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let resumed = admin
        .post(
            "/app/admin/workflows/slow-drip/status",
            &[("status", "active"), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&server, &ws).await?, "active");
    Ok(())
}

async fn admins_add_users_set_roles_send_reset_links_and_deactivate(backend: Backend) -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let server = TestServer::start_with(backend, &["--smtp-url", &sink.url()]).await?;
    let ws = Workspace::create(&server).await?;
    let mut admin = PageVisitor::new(&server);
    admin.log_in(ws.tenant, ADMIN_EMAIL, PASSWORD).await?;
    let page = admin.get("/app/admin/users").await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    for person in ["rep_a", "rep_b", "manager_a"] {
        assert!(page.html.contains(&ws.person(person).email), "{person}");
    }
    let csrf = page.csrf().unwrap();

    let bad = admin
        .post(
            "/app/admin/users",
            &[
                ("email", "not an email"),
                ("role", "rep"),
                ("capacity", "many"),
                ("_csrf", &csrf),
            ],
        )
        .await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.html.contains("/email") && bad.html.contains("/capacity"),
        "{}",
        bad.html
    );
    assert!(
        bad.html.contains("value=\"many\""),
        "what was typed stays: {}",
        bad.html
    );

    let added = admin
        .post(
            "/app/admin/users",
            &[
                ("email", "new.rep@acme.example"),
                ("name", "新销售 New Rep"),
                ("role", "rep"),
                ("regions", "zhejiang, 上海"),
                ("specialties", "retail"),
                ("capacity", "12"),
                ("available", "on"),
                ("send_link", "on"),
                ("_csrf", &csrf),
            ],
        )
        .await?;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    let new_rep = user(&server, &ws, "new.rep@acme.example").await?;
    assert_eq!(new_rep["role"], "rep");
    assert_eq!(new_rep["regions"], json!(["zhejiang", "上海"]));
    assert_eq!(new_rep["capacity"], 12);
    let mail = sink.wait_for(1, Duration::from_secs(30)).await?.remove(0);
    assert_eq!(mail.to, "new.rep@acme.example");
    assert!(mail.text.unwrap_or_default().contains("/login/reset/"));

    // rep_b becomes a manager with a smaller capacity; the only admin may
    // not stop being one.
    let rep_b = &ws.person("rep_b").id;
    let saved = admin
        .post(
            &format!("/app/admin/users/{rep_b}"),
            &[
                ("role", "manager"),
                ("capacity", "5"),
                ("regions", ""),
                ("_csrf", &csrf),
            ],
        )
        .await?;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let changed = user(&server, &ws, &ws.person("rep_b").email).await?;
    assert_eq!(
        (changed["role"].as_str(), changed["capacity"].as_i64()),
        (Some("manager"), Some(5))
    );
    assert_eq!(changed["available"], false, "the box was not sent: not taking leads");
    let me = user(&server, &ws, ADMIN_EMAIL).await?;
    let demoted = admin
        .post(
            &format!("/app/admin/users/{}", me["id"].as_str().unwrap()),
            &[("role", "rep"), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(demoted.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(demoted.html.contains("at least one admin"), "{}", demoted.html);
    assert_eq!(user(&server, &ws, ADMIN_EMAIL).await?["role"], "admin");

    let rep_a = &ws.person("rep_a").id;
    let reset = admin
        .post(&format!("/app/admin/users/{rep_a}/reset"), &[("_csrf", &csrf)])
        .await?;
    assert_eq!(reset.location(), Some("/app/admin/users?done=reset"));
    sink.wait_for(2, Duration::from_secs(30)).await?;
    let gone = admin
        .post(&format!("/app/admin/users/{rep_a}/deactivate"), &[("_csrf", &csrf)])
        .await?;
    assert_eq!(gone.location(), Some("/app/admin/users?done=deactivated"));
    assert!(!user(&server, &ws, &ws.person("rep_a").email).await?["deactivated_at"].is_null());
    let again = admin
        .post(&format!("/app/admin/users/{rep_a}/reset"), &[("_csrf", &csrf)])
        .await?;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no link for one who left"
    );

    let mut manager = PageVisitor::new(&server);
    manager
        .log_in(ws.tenant, &ws.person("manager_a").email, PASSWORD)
        .await?;
    assert_eq!(manager.get("/app/admin/users").await?.status, StatusCode::FORBIDDEN);
    Ok(())
}

async fn integrators_see_plugins_failures_withheld_and_switch_one_off(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let (status, body) = server
        .send_json(
            Method::POST,
            &ws.admin,
            "/api/v1/users",
            &json!({"email": "dev@acme.example", "role": "integrator", "password": PASSWORD}),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    server
        .install_plugin(&ws.admin, "panicky", "scorer", "hostile_panic", json!({}))
        .await?;
    let lead = json!({"name": "赵磊", "email": "zhao.lei@example.cn", "company": "华北物流", "consent": true});
    let (status, created) = server.submit(ws.tenant, "website-demo-request", &lead).await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    server
        .processed_lead(&ws.admin, created["id"].as_str().unwrap())
        .await?;

    let mut admin = PageVisitor::new(&server);
    admin.log_in(ws.tenant, ADMIN_EMAIL, PASSWORD).await?;
    let page = admin.get("/app/admin/plugins").await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let row = section_after(&page.html, "data-name=\"panicky\"");
    assert!(row.contains("panicked"), "the admin reads the error: {row}");
    let calls = admin.get("/app/admin/plugins/panicky").await?;
    assert!(
        section_after(&calls.html, "id=\"calls\"").contains("panicked"),
        "{}",
        calls.html
    );

    let mut integrator = PageVisitor::new(&server);
    let login = integrator.log_in(ws.tenant, "dev@acme.example", PASSWORD).await?;
    assert_eq!(login.location(), Some("/app"));
    assert_eq!(integrator.get("/app").await?.location(), Some("/app/admin/plugins"));
    let page = integrator.get("/app/admin/plugins").await?;
    let row = section_after(&page.html, "data-name=\"panicky\"");
    assert!(!row.contains("panicked") && row.contains("withheld"), "{row}");
    let calls = integrator.get("/app/admin/plugins/panicky").await?;
    let calls = section_after(&calls.html, "id=\"calls\"");
    assert!(!calls.contains("panicked") && calls.contains("withheld"), "{calls}");
    assert_eq!(integrator.get("/app/agenda").await?.status, StatusCode::FORBIDDEN);

    let off = integrator
        .post(
            "/app/admin/plugins/panicky/enabled",
            &[("enabled", "false"), ("_csrf", &page.csrf().unwrap())],
        )
        .await?;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let (_, plugin) = server.get_json(&ws.admin, "/api/v1/plugins/panicky").await?;
    assert_eq!(plugin["enabled"], false, "{plugin}");

    let mut rep = PageVisitor::new(&server);
    rep.log_in(ws.tenant, &ws.person("rep_a").email, PASSWORD).await?;
    assert_eq!(rep.get("/app/admin/plugins").await?.status, StatusCode::FORBIDDEN);
    Ok(())
}

async fn admins_edit_teams_as_json_and_add_one(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let mut admin = PageVisitor::new(&server);
    admin.log_in(ws.tenant, ADMIN_EMAIL, PASSWORD).await?;
    let page = admin.get("/app/admin/teams").await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let east = section_after(&page.html, "data-team=\"east\"");
    assert!(
        east.contains("rep.a@acme.example") && east.contains("manager.a@acme.example"),
        "{east}"
    );
    let csrf = page.csrf().unwrap();

    let weighted = json!({"name": "east", "manager": "manager.a@acme.example", "strategy": "weighted",
                          "members": [{"email": "rep.a@acme.example", "weight": 3}]})
    .to_string();
    let saved = admin
        .post(
            "/app/admin/teams",
            &[("team", "east"), ("document", &weighted), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let (_, team) = server.get_json(&ws.admin, "/api/v1/teams/east").await?;
    assert_eq!(team["strategy"], "weighted");
    assert_eq!(team["members"][0]["weight"], 3);

    let stranger =
        json!({"name": "east", "strategy": "round_robin", "members": [{"email": "nobody@acme.example"}]}).to_string();
    let refused = admin
        .post(
            "/app/admin/teams",
            &[("team", "east"), ("document", &stranger), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.html.contains("data-pointer=\"/members/0/email\""),
        "{}",
        refused.html
    );

    let north = json!({"name": "north 北区", "strategy": "least_loaded", "members": [{"email": "rep.b@acme.example"}]})
        .to_string();
    let added = admin
        .post("/app/admin/teams", &[("document", &north), ("_csrf", &csrf)])
        .await?;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    let (_, teams) = server.get_json(&ws.admin, "/api/v1/teams").await?;
    assert!(
        teams["teams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "north 北区"),
        "{teams}"
    );
    let twice = admin
        .post("/app/admin/teams", &[("document", &north), ("_csrf", &csrf)])
        .await?;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.html.contains("data-pointer=\"/name\""), "{}", twice.html);

    let page = admin.get("/app/admin/teams?done=1").await?;
    let changes = section_after(&page.html, "id=\"changes\"");
    assert!(changes.contains("north 北区") && changes.contains("east"), "{changes}");
    Ok(())
}

async fn user(server: &TestServer, ws: &Workspace, email: &str) -> anyhow::Result<Value> {
    let (_, users) = server.get_json(&ws.admin, "/api/v1/users").await?;
    users["users"]
        .as_array()
        .and_then(|all| all.iter().find(|u| u["email"] == email))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no {email} among {users}"))
}

async fn status_of(server: &TestServer, ws: &Workspace) -> anyhow::Result<String> {
    let (_, workflow) = server.get_json(&ws.admin, "/api/v1/workflows/slow-drip").await?;
    Ok(workflow["status"].as_str().unwrap_or_default().to_owned())
}

/// The page's HTML from the element carrying `marker` to the end of its
/// `section` or `table`.
fn section_after<'a>(html: &'a str, marker: &str) -> &'a str {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} is not in the page: {html}"));
    let rest = &html[start..];
    let end = ["</section>", "</table>"]
        .iter()
        .filter_map(|close| rest.find(close))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

fn pointers(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["pointer"].as_str()).collect())
        .unwrap_or_default()
}

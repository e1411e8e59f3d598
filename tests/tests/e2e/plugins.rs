//! Plugins: upload checks, the real example plugins in the pipeline, hostile
//! plugins, automatic switch-off, tenant isolation, and the CLI.

use leadhost_tests::{Backend, StatusCode, TestServer, on_both_backends, plugin_wasm, pointers};
use serde_json::{Value, json};

use crate::intake::{demo_lead, demo_server};

on_both_backends!(
    example_plugins_score_and_route_new_leads,
    concurrent_leads_through_plugins_are_each_written_once,
    successful_calls_reach_the_plugins_row,
    uploads_are_checked_against_their_world,
    hostile_plugins_never_lose_a_lead,
    a_plugin_failing_five_times_in_a_row_is_switched_off,
    a_looping_tenant_does_not_hold_up_another,
    tenants_cannot_touch_each_others_plugins,
    compiled_plugins_survive_a_restart,
    the_cli_uploads_a_plugin,
    the_cli_runs_a_plugin_on_a_lead_copied_from_the_api_or_on_bare_fields,
    a_plugin_that_connects_is_refused_and_nothing_is_reached,
);

pub(crate) async fn submit_new(server: &TestServer, tenant: &str, email: &str) -> anyhow::Result<String> {
    let (status, body) = server
        .submit(tenant, "website-demo-request", &demo_lead(email, ""))
        .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {body}");
    Ok(body["id"].as_str().unwrap().to_owned())
}

pub(crate) fn events<'a>(lead: &'a Value, kind: &str) -> Vec<&'a Value> {
    lead["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// Switches a plugin off (so that the next one tried is the only one).
pub(crate) async fn switch_off(server: &TestServer, token: &str, name: &str) -> anyhow::Result<()> {
    let res = server
        .http
        .patch(server.url(&format!("/api/v1/plugins/{name}")))
        .bearer_auth(token)
        .json(&json!({"enabled": false}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == StatusCode::OK, "switching {name} off: {}", res.status());
    Ok(())
}

/// `leadhost plugin run --lead` takes a lead as the API shows it, and a
/// bare object of form fields, and scores both as the pipeline did.
async fn the_cli_runs_a_plugin_on_a_lead_copied_from_the_api_or_on_bare_fields(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    server.install_bant_and_regions(&token).await?;
    let id = submit_new(&server, "acme", "copied@example.com").await?;
    let lead = server.processed_lead(&token, &id).await?;
    let pipeline_points: i64 = lead["score_parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["source"] == "bant")
        .map(|p| p["points"].as_f64().unwrap() as i64)
        .sum();
    let dir = server.db().dir().to_owned();
    let (copied, bare) = (dir.join("copied.json"), dir.join("bare.json"));
    std::fs::write(&copied, lead.to_string())?;
    std::fs::write(&bare, lead["fields"].to_string())?;
    let wasm = leadhost_tests::plugin_wasm("bant_scorer");
    for file in [&copied, &bare] {
        let out = server.cli(&[
            "plugin",
            "run",
            wasm.to_str().unwrap(),
            "--lead",
            file.to_str().unwrap(),
        ])?;
        let report: Value = serde_json::from_str(&out)?;
        assert_eq!(
            report["result"]["points"],
            pipeline_points,
            "{}: {report}",
            file.display()
        );
    }
    Ok(())
}

/// Installs the network fixture `wasm` (as `hostile`) aimed at a 127.0.0.1
/// listener the test owns and submits a lead. The call fails with an error
/// holding `refusal(target)`, the built-in score stands, and nothing reaches
/// the listener. A plugin test never addresses anything outside this machine.
pub(crate) async fn refused_and_unreached(
    backend: Backend,
    wasm: &str,
    refusal: impl Fn(&str) -> String,
) -> anyhow::Result<(TestServer, String)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let target = listener.local_addr()?.to_string();
    let (server, token) = demo_server(backend).await?;
    server
        .install_plugin(&token, "hostile", "scorer", wasm, json!({ "target": target }))
        .await?;
    let id = submit_new(&server, "acme", "offline@example.com").await?;
    let lead = server.processed_lead(&token, &id).await?;
    let failed = events(&lead, "plugin_failed");
    assert_eq!(failed.len(), 1, "{lead}");
    let error = failed[0]["detail"]["error"].as_str().unwrap();
    assert!(error.contains(&refusal(&target)), "{error}");
    assert_eq!(lead["score"], 0, "the built-in score stands");
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("something reached the listener: {other:?}"),
    }
    Ok((server, token))
}

/// A plugin importing `wasi:sockets` is accepted; its connect fails (an
/// error it sees, and the call record shows), the lead is kept, and the
/// listener the test owns on 127.0.0.1 is never reached.
async fn a_plugin_that_connects_is_refused_and_nothing_is_reached(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = refused_and_unreached(backend, "hostile_network", |target| {
        format!("connect to {target} failed")
    })
    .await?;
    let (_, plugin) = server.get_json(&token, "/api/v1/plugins/hostile").await?;
    assert_eq!(plugin["recent_calls"][0]["ok"], false, "{plugin}");
    Ok(())
}

async fn add_rep(server: &TestServer, token: &str, email: &str, regions: &[&str]) -> anyhow::Result<String> {
    let res = server
        .http
        .post(server.url("/api/v1/users"))
        .bearer_auth(token)
        .json(&json!({"email": email, "role": "rep", "regions": regions}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == StatusCode::CREATED);
    let body: Value = res.json().await?;
    Ok(body["id"].as_str().unwrap().to_owned())
}

async fn example_plugins_score_and_route_new_leads(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let zhejiang_rep = add_rep(&server, &token, "li@acme.example", &["zhejiang", "shanghai"]).await?;
    add_rep(&server, &token, "wang@acme.example", &["beijing"]).await?;
    server.install_bant_and_regions(&token).await?;

    let id = submit_new(&server, "acme", "buyer@example.com").await?;
    let lead = server.processed_lead(&token, &id).await?;
    // demo_lead: budget 200k-1m (+20), decision maker (+20), this quarter (+15).
    assert_eq!(lead["score"], 55, "{lead}");
    let scored = events(&lead, "scored");
    assert_eq!(scored.len(), 1);
    assert_eq!(scored[0]["detail"]["parts"].as_array().unwrap().len(), 3);
    assert!(
        scored[0]["detail"]["parts"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Budget")
    );
    assert_eq!(lead["owner_id"], zhejiang_rep.as_str(), "{lead}");
    assert_eq!(events(&lead, "routed")[0]["detail"]["by"], "regions");

    // A lead from a province nobody covers goes to the public pool.
    let mut elsewhere = demo_lead("far@example.com", "");
    elsewhere["province"] = json!("sichuan");
    let (_, body) = server.submit("acme", "website-demo-request", &elsewhere).await?;
    let lead = server.processed_lead(&token, body["id"].as_str().unwrap()).await?;
    assert!(lead["owner_id"].is_null());
    assert_eq!(events(&lead, "routed")[0]["detail"]["to"], "public_pool");

    // The plugin keeps its calls with their logs.
    let (_, plugin) = server.get_json(&token, "/api/v1/plugins/bant").await?;
    assert_eq!(plugin["calls"], 2);
    assert_eq!(plugin["failures"], 0);
    let call = &plugin["recent_calls"][0];
    assert_eq!(call["ok"], true);
    assert!(call["fuel_used"].as_i64().unwrap() > 0);
    assert!(call["logs"][0]["message"].as_str().unwrap().contains("BANT"), "{call}");

    // A test run over the API: no side effects, full report.
    let sample: Value = serde_json::from_str(&std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples/sample-lead.json"),
    )?)?;
    let res = server
        .http
        .post(server.url("/api/v1/plugins/bant/run"))
        .bearer_auth(&token)
        .json(&json!({"lead": sample}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await?;
    assert_eq!(report["result"]["points"], 70, "{report}");
    let (_, plugin) = server.get_json(&token, "/api/v1/plugins/bant").await?;
    assert_eq!(plugin["calls"], 2, "a test run is not counted");
    Ok(())
}

/// Many leads at once, each through a scorer and a router: every one is
/// scored, routed and counted exactly once, promptly (a step that lost a
/// race and was retried would come half a minute later), and the rep's
/// open-lead count agrees.
async fn concurrent_leads_through_plugins_are_each_written_once(backend: Backend) -> anyhow::Result<()> {
    const LEADS: usize = 100;
    let (server, token) = demo_server(backend).await?;
    let rep = add_rep(&server, &token, "li@acme.example", &["zhejiang"]).await?;
    server.install_bant_and_regions(&token).await?;
    let started = std::time::Instant::now();
    let emails: Vec<String> = (0..LEADS).map(|i| format!("rush{i}@example.com")).collect();
    let submissions = emails.iter().map(|email| submit_new(&server, "acme", email));
    let ids = futures::future::try_join_all(submissions).await?;
    for id in &ids {
        let lead = server.processed_lead(&token, id).await?;
        assert_eq!(lead["score"], 55, "{lead}");
        assert_eq!(lead["owner_id"], rep.as_str(), "{lead}");
        assert_eq!(events(&lead, "scored").len(), 1, "{lead}");
        assert_eq!(events(&lead, "routed").len(), 1, "{lead}");
        assert!(events(&lead, "plugin_failed").is_empty(), "{lead}");
    }
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(20),
        "{LEADS} leads took {took:?}: some step was retried"
    );
    for name in ["bant", "regions"] {
        let (_, plugin) = server.get_json(&token, &format!("/api/v1/plugins/{name}")).await?;
        assert_eq!(plugin["calls"], LEADS, "{plugin}");
        assert_eq!(plugin["failures"], 0, "{plugin}");
        // Every failure keeps its record; successes are sampled.
        let kept = plugin["recent_calls"].as_array().unwrap();
        assert!(!kept.is_empty() && kept.iter().all(|c| c["ok"] == true), "{plugin}");
    }
    let (_, users) = server.get_json(&token, "/api/v1/users").await?;
    let li = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == rep.as_str())
        .unwrap();
    assert_eq!(li["open_leads"], LEADS, "{li}");
    Ok(())
}

/// Successful calls are counted in memory and written apart from the leads
/// (at most a second later); the API shows them at once, and they reach the
/// plugin's row in the database, where another process sees them.
async fn successful_calls_reach_the_plugins_row(backend: Backend) -> anyhow::Result<()> {
    const LEADS: i64 = 3;
    let (server, token) = demo_server(backend).await?;
    server
        .install_plugin(&token, "bant", "scorer", "bant_scorer", json!({}))
        .await?;
    for i in 0..LEADS {
        let id = submit_new(&server, "acme", &format!("count{i}@example.com")).await?;
        server.processed_lead(&token, &id).await?;
    }
    let (_, plugin) = server.get_json(&token, "/api/v1/plugins/bant").await?;
    assert_eq!(plugin["calls"], LEADS, "the API counts calls not yet written: {plugin}");
    assert!(!plugin["last_called_at"].is_null(), "{plugin}");

    let sql = "SELECT calls FROM plugins WHERE name = 'bant'";
    let url = &server.db().url;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let stored: i64 = match backend {
            Backend::Sqlite => {
                sqlx::query_scalar(sql)
                    .fetch_one(&mut <sqlx::SqliteConnection as sqlx::Connection>::connect(url).await?)
                    .await?
            }
            Backend::Postgres => {
                sqlx::query_scalar(sql)
                    .fetch_one(&mut <sqlx::PgConnection as sqlx::Connection>::connect(url).await?)
                    .await?
            }
        };
        if stored == LEADS {
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the plugin's row still says {stored} calls"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn uploads_are_checked_against_their_world(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let router = std::fs::read(plugin_wasm("region_router"))?;
    let expect = |status: StatusCode, body: &Value, want: StatusCode, pointer: &str, says: &str| {
        assert_eq!(status, want, "{body}");
        if !pointer.is_empty() {
            assert_eq!(pointers(body), [pointer], "{body}");
        }
        assert!(body.to_string().contains(says), "{body} lacks {says:?}");
    };

    let (status, body) = server.upload_plugin(&token, "r", "scorer", &router, json!({})).await?;
    expect(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "/world",
        "not a scorer",
    );

    let core_module = b"\0asm\x01\0\0\0".to_vec();
    let (status, body) = server
        .upload_plugin(&token, "core", "scorer", &core_module, json!({}))
        .await?;
    expect(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "/component",
        "core WebAssembly module",
    );

    let (status, body) = server
        .upload_plugin(&token, "junk", "scorer", b"MZ\x90\0 not wasm at all", json!({}))
        .await?;
    expect(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "/component",
        "not WebAssembly",
    );

    let mut truncated = router.clone();
    truncated.truncate(router.len() / 2);
    let (status, body) = server
        .upload_plugin(&token, "cut", "router", &truncated, json!({}))
        .await?;
    expect(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "/component",
        "not valid",
    );

    let (status, body) = server.upload_plugin(&token, "r", "oracle", &router, json!({})).await?;
    expect(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "/world",
        "not a plugin world",
    );

    let huge = vec![0u8; 33 << 20];
    let (status, body) = server.upload_plugin(&token, "huge", "scorer", &huge, json!({})).await?;
    expect(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "",
        "larger than the limit",
    );

    let (status, _) = server
        .upload_plugin(&token, "regions", "router", &router, json!({}))
        .await?;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = server
        .upload_plugin(&token, "regions", "router", &router, json!({}))
        .await?;
    expect(status, &body, StatusCode::CONFLICT, "", "exists");

    let (_, list) = server.get_json(&token, "/api/v1/plugins").await?;
    assert_eq!(
        list["plugins"].as_array().unwrap().len(),
        1,
        "only the good upload is stored"
    );
    assert_eq!(
        server.http.get(server.url("/healthz")).send().await?.status(),
        StatusCode::OK
    );
    Ok(())
}

async fn hostile_plugins_never_lose_a_lead(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    add_rep(&server, &token, "li@acme.example", &["zhejiang"]).await?;
    let cases = [
        ("hostile_loop", "scorer", "ran out of CPU"),
        ("hostile_memory", "scorer", "memory limit"),
        ("hostile_recursion", "scorer", "overflowed its stack"),
        ("hostile_huge_result", "scorer", ""),
        ("hostile_panic", "scorer", "panicked"),
        ("lying_router", "router", "not among the candidates"),
    ];
    for (i, (wasm, world, says)) in cases.iter().enumerate() {
        let name = wasm.replace('_', "-");
        server.install_plugin(&token, &name, world, wasm, json!({})).await?;
        let id = submit_new(&server, "acme", &format!("victim{i}@example.com")).await?;
        let lead = server.processed_lead(&token, &id).await?;
        let failed = events(&lead, "plugin_failed");
        assert_eq!(failed.len(), 1, "{wasm}: {lead}");
        assert_eq!(failed[0]["detail"]["plugin"], name.as_str());
        let error = failed[0]["detail"]["error"].as_str().unwrap();
        assert!(error.contains(says), "{wasm}: {error}");
        assert_eq!(lead["score"], 0, "built-in rules apply");
        if *world == "router" {
            assert!(lead["owner_id"].is_null(), "a lying router's rep is not used");
            assert_eq!(events(&lead, "routed")[0]["detail"]["by"], "built-in");
        }
        let (_, plugin) = server.get_json(&token, &format!("/api/v1/plugins/{name}")).await?;
        assert_eq!(plugin["failures"], 1, "{plugin}");
        assert_eq!(plugin["last_error"], error);
        // Switched off so the next case starts clean.
        switch_off(&server, &token, &name).await?;
    }

    // A chatty plugin completes; what it printed is kept, but capped.
    server
        .install_plugin(&token, "chatty", "scorer", "hostile_chatty", json!({}))
        .await?;
    let settings = server
        .http
        .patch(server.url("/api/v1/settings"))
        .bearer_auth(&token)
        .json(&json!({"plugin_fuel": 2_000_000_000i64}))
        .send()
        .await?;
    assert_eq!(settings.status(), StatusCode::OK);
    let id = submit_new(&server, "acme", "quiet@example.com").await?;
    let lead = server.processed_lead(&token, &id).await?;
    assert_eq!(lead["score"], 1, "{lead}");
    let (_, plugin) = server.get_json(&token, "/api/v1/plugins/chatty").await?;
    let call = &plugin["recent_calls"][0];
    assert!(call["stdout"].as_str().unwrap().len() < 64 << 10);
    assert!(call["stdout"].as_str().unwrap().contains("more bytes dropped"));
    assert!(call["logs"].as_array().unwrap().len() <= 100);

    let (_, list) = server.get_json(&token, "/api/v1/leads").await?;
    assert_eq!(
        list["leads"].as_array().unwrap().len(),
        cases.len() + 1,
        "every lead was kept"
    );
    assert_eq!(
        server.http.get(server.url("/healthz")).send().await?.status(),
        StatusCode::OK
    );
    Ok(())
}

async fn a_plugin_failing_five_times_in_a_row_is_switched_off(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    server
        .install_plugin(&token, "panicky", "scorer", "hostile_panic", json!({}))
        .await?;
    for i in 0..5 {
        let id = submit_new(&server, "acme", &format!("p{i}@example.com")).await?;
        server.processed_lead(&token, &id).await?;
    }
    let (_, plugin) = server.get_json(&token, "/api/v1/plugins/panicky").await?;
    assert_eq!(plugin["enabled"], false, "{plugin}");
    assert_eq!(plugin["consecutive_failures"], 5);
    assert!(
        plugin["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("5 failures in a row"),
        "{plugin}"
    );

    let id = submit_new(&server, "acme", "after@example.com").await?;
    let lead = server.processed_lead(&token, &id).await?;
    assert!(
        events(&lead, "plugin_failed").is_empty(),
        "a switched-off plugin is not called"
    );
    let (_, plugin) = server.get_json(&token, "/api/v1/plugins/panicky").await?;
    assert_eq!(plugin["calls"], 5);

    // Switching it back on clears the streak.
    let res = server
        .http
        .patch(server.url("/api/v1/plugins/panicky"))
        .bearer_auth(&token)
        .json(&json!({"enabled": true}))
        .send()
        .await?;
    let plugin: Value = res.json().await?;
    assert_eq!(plugin["enabled"], true);
    assert_eq!(plugin["consecutive_failures"], 0);
    assert!(plugin["disabled_reason"].is_null());
    Ok(())
}

async fn a_looping_tenant_does_not_hold_up_another(backend: Backend) -> anyhow::Result<()> {
    let (server, token_a) = demo_server(backend).await?;
    let token_b = server.create_tenant("globex").await?;
    server
        .create_form_from_file(&token_b, "website-demo-request.json")
        .await?;
    server
        .install_plugin(&token_b, "bant", "scorer", "bant_scorer", json!({}))
        .await?;

    // Tenant A's plugin loops until its 2 s deadline (the fuel is set high).
    server
        .install_plugin(&token_a, "looper", "scorer", "hostile_loop", json!({}))
        .await?;
    server
        .http
        .patch(server.url("/api/v1/settings"))
        .bearer_auth(&token_a)
        .json(&json!({"plugin_fuel": 100_000_000_000i64}))
        .send()
        .await?;
    let mut a_leads = Vec::new();
    for i in 0..4 {
        a_leads.push(submit_new(&server, "acme", &format!("a{i}@example.com")).await?);
    }
    // Tenant B is served, and scored, while A's calls are still running.
    let b = submit_new(&server, "globex", "b@example.com").await?;
    let b_lead = server.processed_lead(&token_b, &b).await?;
    assert_eq!(b_lead["score"], 55);
    let mut a_unfinished = 0;
    for id in &a_leads {
        let (_, lead) = server.get_json(&token_a, &format!("/api/v1/leads/{id}")).await?;
        a_unfinished += usize::from(lead["processed_at"].is_null());
    }
    assert!(a_unfinished > 0, "B finished only after all of A's looping calls");

    for id in &a_leads {
        let lead = server.processed_lead(&token_a, id).await?;
        let failed = events(&lead, "plugin_failed");
        assert!(
            failed[0]["detail"]["error"].as_str().unwrap().contains("deadline"),
            "{lead}"
        );
    }
    Ok(())
}

async fn tenants_cannot_touch_each_others_plugins(backend: Backend) -> anyhow::Result<()> {
    let (server, token_a) = demo_server(backend).await?;
    let token_b = server.create_tenant("globex").await?;
    server
        .install_plugin(&token_a, "bant", "scorer", "bant_scorer", json!({}))
        .await?;
    let (_, list) = server.get_json(&token_b, "/api/v1/plugins").await?;
    assert!(list["plugins"].as_array().unwrap().is_empty());
    assert_eq!(
        server.get_json(&token_b, "/api/v1/plugins/bant").await?.0,
        StatusCode::NOT_FOUND
    );

    let req = |method: reqwest::Method, path: &str, body: Value| {
        server
            .http
            .request(method, server.url(path))
            .bearer_auth(&token_b)
            .json(&body)
            .send()
    };
    let run = req(
        reqwest::Method::POST,
        "/api/v1/plugins/bant/run",
        json!({"lead": {"fields": {}}}),
    )
    .await?;
    assert_eq!(run.status(), StatusCode::NOT_FOUND);
    let off = req(
        reqwest::Method::PATCH,
        "/api/v1/plugins/bant",
        json!({"enabled": false}),
    )
    .await?;
    assert_eq!(off.status(), StatusCode::NOT_FOUND);
    let delete = req(reqwest::Method::DELETE, "/api/v1/plugins/bant", json!({})).await?;
    assert_eq!(delete.status(), StatusCode::NOT_FOUND);
    use base64::Engine;
    let component = base64::engine::general_purpose::STANDARD.encode(std::fs::read(plugin_wasm("hostile_panic"))?);
    let replace = req(
        reqwest::Method::PUT,
        "/api/v1/plugins/bant",
        json!({"world": "scorer", "component": component}),
    )
    .await?;
    assert_eq!(replace.status(), StatusCode::NOT_FOUND);

    let (_, plugin) = server.get_json(&token_a, "/api/v1/plugins/bant").await?;
    assert_eq!(plugin["enabled"], true, "A's plugin is untouched");
    assert_eq!(plugin["world"], "scorer");
    // Reps and managers do not manage plugins.
    let rep = server
        .http
        .post(server.url("/api/v1/users"))
        .bearer_auth(&token_a)
        .json(&json!({"email": "rep@acme.example", "role": "rep"}))
        .send()
        .await?;
    assert_eq!(rep.status(), StatusCode::CREATED);
    let token = server.cli(&["token", "create", "--tenant", "acme", "--user", "rep@acme.example"])?;
    let rep_token = token.lines().last().unwrap().trim();
    assert_eq!(
        server.get_json(rep_token, "/api/v1/plugins").await?.0,
        StatusCode::FORBIDDEN
    );
    Ok(())
}

async fn compiled_plugins_survive_a_restart(backend: Backend) -> anyhow::Result<()> {
    let db = leadhost_tests::TestDatabase::create(backend).await?;
    let cache = db.dir().join("own-plugin-cache");
    let cache_arg = ["--plugin-cache", cache.to_str().unwrap()];
    let server = TestServer::start_on(db, &cache_arg).await?;
    let token = server.create_tenant("acme").await?;
    server
        .create_form_from_file(&token, "website-demo-request.json")
        .await?;
    server
        .install_plugin(&token, "bant", "scorer", "bant_scorer", json!({}))
        .await?;
    let (_, plugin) = server.get_json(&token, "/api/v1/plugins/bant").await?;
    let sha = plugin["sha256"].as_str().unwrap().to_owned();
    let db = server.stop();
    let cached = cache.join(format!("{sha}.cwasm"));
    assert!(cached.exists(), "the compiled component is kept on disk");

    let server = TestServer::start_on(db, &cache_arg).await?;
    let id = submit_new(&server, "acme", "again@example.com").await?;
    let lead = server.processed_lead(&token, &id).await?;
    assert_eq!(lead["score"], 55);
    Ok(())
}

async fn the_cli_uploads_a_plugin(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let wasm = plugin_wasm("bant_scorer");
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples/bant-scorer/config.json");
    let out = server.cli(&[
        "plugin",
        "upload",
        wasm.to_str().unwrap(),
        "--tenant",
        "acme",
        "--name",
        "bant",
        "--world",
        "scorer",
        "--config",
        config.to_str().unwrap(),
    ])?;
    assert!(out.contains("uploaded bant"), "{out}");
    let router = plugin_wasm("region_router");
    let refused = server.cli(&[
        "plugin",
        "upload",
        router.to_str().unwrap(),
        "--tenant",
        "acme",
        "--name",
        "r",
        "--world",
        "scorer",
    ]);
    assert!(refused.unwrap_err().to_string().contains("not a scorer"));
    let id = submit_new(&server, "acme", "cli@example.com").await?;
    assert_eq!(server.processed_lead(&token, &id).await?["score"], 55);
    Ok(())
}

/// `leadhost plugin check` and `plugin run`, without a server.
mod offline {
    use std::process::Command;

    use leadhost_tests::{leadhost_bin, plugin_wasm, shared_plugin_cache};
    use serde_json::Value;

    fn leadhost(args: &[&str]) -> (bool, Value, String) {
        let out = Command::new(leadhost_bin())
            .args(args)
            .env("LEADHOST_PLUGIN_CACHE", shared_plugin_cache())
            .output()
            .expect("running leadhost");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        (
            out.status.success(),
            json,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn example(path: &str) -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples");
        root.join(path).to_str().unwrap().to_owned()
    }

    #[test]
    fn check_names_the_world_or_the_reason_for_refusal() {
        let (ok, report, _) = leadhost(&["plugin", "check", plugin_wasm("bant_scorer").to_str().unwrap()]);
        assert!(ok);
        assert_eq!(report["world"], "scorer");
        assert_eq!(report["type_checks"], true);
        let (_, report, _) = leadhost(&["plugin", "check", plugin_wasm("workload_router").to_str().unwrap()]);
        assert_eq!(report["world"], "router");
        let (_, report, _) = leadhost(&["plugin", "check", plugin_wasm("welcome_step").to_str().unwrap()]);
        assert_eq!(report["world"], "nurture-step");
        // Sockets are linked (refusing everything), so a plugin importing
        // them is a plugin like any other.
        let (ok, report, stderr) = leadhost(&["plugin", "check", plugin_wasm("hostile_network").to_str().unwrap()]);
        assert!(ok, "{stderr}");
        assert_eq!(report["world"], "scorer");
    }

    #[test]
    fn run_reports_result_logs_fuel_and_time() {
        let lead = example("sample-lead.json");
        let (ok, report, stderr) = leadhost(&[
            "plugin",
            "run",
            plugin_wasm("bant_scorer").to_str().unwrap(),
            "--lead",
            &lead,
            "--config",
            &example("bant-scorer/config.json"),
        ]);
        assert!(ok, "{stderr}");
        assert_eq!(report["result"]["points"], 70, "{report}");
        assert!(report["fuel_used"].as_u64().unwrap() > 0);
        assert!(report["duration_us"].as_u64().is_some());
        assert_eq!(report["logs"][0]["level"], "info");

        let (ok, report, _) = leadhost(&[
            "plugin",
            "run",
            plugin_wasm("welcome_step").to_str().unwrap(),
            "--lead",
            &lead,
        ]);
        assert!(ok);
        assert!(report["result"][0]["send_email"]["subject"].is_string(), "{report}");

        let (ok, report, _) = leadhost(&[
            "plugin",
            "run",
            plugin_wasm("hostile_loop").to_str().unwrap(),
            "--lead",
            &lead,
            "--fuel",
            "5000000",
        ]);
        assert!(!ok);
        assert!(report["error"].as_str().unwrap().contains("ran out of CPU"), "{report}");
        assert_eq!(report["fuel_used"], 5_000_000);
    }

    #[test]
    fn a_router_is_run_with_candidates() {
        let dir = tempfile::tempdir().unwrap();
        let reps = dir.path().join("reps.json");
        std::fs::write(
            &reps,
            r#"[{"id": "u-1", "name": "Li", "regions": ["Zhejiang"], "open_leads": 3},
                {"id": "u-2", "name": "Wang", "regions": ["zhejiang"], "open_leads": 1},
                {"id": "u-3", "name": "Chen", "regions": ["guangdong"]}]"#,
        )
        .unwrap();
        let (ok, report, stderr) = leadhost(&[
            "plugin",
            "run",
            plugin_wasm("region_router").to_str().unwrap(),
            "--lead",
            &example("sample-lead.json"),
            "--candidates",
            reps.to_str().unwrap(),
        ]);
        assert!(ok, "{stderr}");
        assert_eq!(
            report["result"]["rep"], "u-2",
            "the least loaded rep covering Zhejiang: {report}"
        );
    }
}

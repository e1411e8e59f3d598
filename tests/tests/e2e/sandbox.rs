//! The sandbox against plugins that wait, flood or lie (issue 13): each is
//! uploaded over the API as an integrator would, and a lead goes through it.

use leadhost_tests::{Backend, StatusCode, TestServer, on_both_backends};
use serde_json::{Value, json};

use crate::access::token_for;
use crate::followup::{advance, kinds, sla_tenant};
use crate::intake::{demo_lead, demo_server};
use crate::plugins::{events, submit_new, switch_off};

on_both_backends!(
    a_plugin_that_waits_is_never_waited_for,
    huge_plugin_strings_are_cut_in_the_database_the_api_and_the_log,
    extreme_points_are_an_invalid_result_and_the_lead_is_kept,
    a_plugin_failing_every_other_call_is_switched_off,
    a_tenant_with_slow_plugins_delays_no_other_tenant,
    integrators_see_plugin_output_from_real_leads_only_when_granted,
);

async fn submit(server: &TestServer, email: &str) -> anyhow::Result<String> {
    submit_new(server, "acme", email).await
}

/// A sleep for an hour, a poll on a timer an hour away and a read of stdin
/// all return at once: the call's own clock moves to the timer. The lead is
/// scored and routed.
async fn a_plugin_that_waits_is_never_waited_for(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    for (i, (wait, moved)) in [("sleep", 3600), ("poll", 3600), ("stdin", 0)].into_iter().enumerate() {
        let name = format!("sleepy-{wait}");
        server
            .install_plugin(&token, &name, "scorer", "sleepy_scorer", json!({ "wait": wait }))
            .await?;
        let started = std::time::Instant::now();
        let id = submit(&server, &format!("waiter{i}@example.com")).await?;
        let lead = server.processed_lead(&token, &id).await?;
        assert!(started.elapsed().as_secs() < 10, "{wait}: {:?}", started.elapsed());
        let reason = format!("sleepy-scorer: {wait}: the call's clock moved {moved} s");
        let parts = lead["score_parts"].as_array().unwrap();
        assert!(parts.iter().any(|p| p["reason"] == reason.as_str()), "{wait}: {lead}");
        assert_eq!(events(&lead, "routed").len(), 1, "{wait}: the lead is routed: {lead}");
        let (_, plugin) = server.get_json(&token, &format!("/api/v1/plugins/{name}")).await?;
        let call = &plugin["recent_calls"][0];
        assert!(call["ok"].as_bool().unwrap(), "{wait}: {call}");
        let took = call["duration_us"].as_u64().unwrap();
        assert!(took < 50_000, "{wait}: the call took {took} µs");
        // What its clocks and random started from is kept with it.
        let started_at = call["started_at"].as_str().unwrap();
        let (created, processed) = (
            lead["created_at"].as_str().unwrap(),
            lead["processed_at"].as_str().unwrap(),
        );
        assert!(created <= started_at && started_at <= processed, "{wait}: {call}");
        assert!(
            call["seed"].as_str().is_some_and(|s| s.parse::<u64>().is_ok()),
            "{call}"
        );
        // Switched off so the next plugin is the only scorer.
        switch_off(&server, &token, &name).await?;
    }
    Ok(())
}

/// A 48 MiB error and a 48 MiB reason are cut before they are stored,
/// shown or logged, and the lead is kept.
async fn huge_plugin_strings_are_cut_in_the_database_the_api_and_the_log(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start_logging(backend, "info,sqlx=warn").await?;
    let token = server.create_tenant("acme").await?;
    server
        .create_form_from_file(&token, "website-demo-request.json")
        .await?;
    server
        .install_plugin(&token, "strings", "scorer", "hostile_strings", json!({"mode": "error"}))
        .await?;
    let id = submit(&server, "flooded@example.com").await?;
    let res = server
        .http
        .get(server.url(&format!("/api/v1/leads/{id}")))
        .bearer_auth(&token)
        .send()
        .await?;
    let lead_bytes = res.bytes().await?;
    let lead: Value = serde_json::from_slice(&lead_bytes)?;
    let lead = match lead["processed_at"].is_null() {
        true => server.processed_lead(&token, &id).await?,
        false => lead,
    };
    let failed = events(&lead, "plugin_failed");
    assert_eq!(failed.len(), 1, "{lead}");
    let error = failed[0]["detail"]["error"].as_str().unwrap();
    assert!(
        error.len() < 4200 && error.ends_with("more bytes]"),
        "{} bytes",
        error.len()
    );
    assert!(
        lead_bytes.len() < 64 << 10,
        "the lead view is {} bytes",
        lead_bytes.len()
    );

    let res = server
        .http
        .get(server.url("/api/v1/plugins/strings"))
        .bearer_auth(&token)
        .send()
        .await?;
    let plugin_bytes = res.bytes().await?;
    assert!(
        plugin_bytes.len() < 64 << 10,
        "the plugin view is {} bytes",
        plugin_bytes.len()
    );
    let plugin: Value = serde_json::from_slice(&plugin_bytes)?;
    assert!(
        plugin["last_error"].as_str().unwrap().ends_with("more bytes]"),
        "stored cut"
    );

    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("plugin call failed"))
        .unwrap_or_else(|| panic!("the failure is logged: {log}"));
    assert!(line.len() < 8 << 10, "the log line is {} bytes", line.len());
    assert!(!log.contains("\nFORGED LOG LINE"), "a plugin cannot start a log line");
    assert!(!log.contains('\u{1b}'), "nor send a terminal escape");

    // A 48 MiB reason: the part counts, its reason is cut.
    server
        .http
        .patch(server.url("/api/v1/plugins/strings"))
        .bearer_auth(&token)
        .json(&json!({"config": {"mode": "reason"}}))
        .send()
        .await?;
    let id = submit(&server, "reasoned@example.com").await?;
    let lead = server.processed_lead(&token, &id).await?;
    let part = lead["score_parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["source"] == "strings")
        .unwrap_or_else(|| panic!("{lead}"))
        .clone();
    let reason = part["reason"].as_str().unwrap();
    assert!(
        reason.chars().count() < 260 && reason.ends_with("more characters]"),
        "{reason}"
    );
    Ok(())
}

/// `i32::MIN` and `i32::MAX` points are refused as an invalid result: the
/// lead keeps its built-in score, and nothing overflows.
async fn extreme_points_are_an_invalid_result_and_the_lead_is_kept(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    for (i, points) in ["min", "max"].into_iter().enumerate() {
        let name = format!("extreme-{points}");
        server
            .install_plugin(&token, &name, "scorer", "extreme_points", json!({ "points": points }))
            .await?;
        let id = submit(&server, &format!("extreme{i}@example.com")).await?;
        let lead = server.processed_lead(&token, &id).await?;
        let failed = events(&lead, "plugin_failed");
        assert_eq!(failed.len(), 1, "{points}: {lead}");
        let error = failed[0]["detail"]["error"].as_str().unwrap();
        assert!(error.contains("invalid result") && error.contains("±1000"), "{error}");
        assert_eq!(lead["score"], 0, "{points}: the built-in score stands");
        switch_off(&server, &token, &name).await?;
    }
    Ok(())
}

/// Failing every other call, a plugin never fails five times in a row; it
/// is switched off once half of its last 50 calls failed.
async fn a_plugin_failing_every_other_call_is_switched_off(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    server
        .install_plugin(&token, "flaky", "scorer", "flaky_scorer", json!({}))
        .await?;
    for n in 0..49 {
        let id = submit(&server, &format!("f{n}@example.com")).await?;
        server.processed_lead(&token, &id).await?;
    }
    let (_, plugin) = server.get_json(&token, "/api/v1/plugins/flaky").await?;
    assert_eq!(plugin["enabled"], true, "24 of 49 failed: still on: {plugin}");
    let id = submit(&server, "f49@example.com").await?;
    let lead = server.processed_lead(&token, &id).await?;
    assert_eq!(events(&lead, "plugin_disabled").len(), 1, "{lead}");
    let (_, plugin) = server.get_json(&token, "/api/v1/plugins/flaky").await?;
    assert_eq!(plugin["enabled"], false, "{plugin}");
    let reason = plugin["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("25 of its last 50 calls failed"), "{reason}");
    Ok(())
}

/// Tenant A's scorer uses its whole deadline on every lead and 200 of A's
/// leads are pending; tenant B's new leads are scored and routed at once,
/// and B's SLA warning and breach fire when the manual clock passes them
/// (even once A's pending jobs are due for the sweeper too).
async fn a_tenant_with_slow_plugins_delays_no_other_tenant(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start_with(backend, &["--manual-clock"]).await?;
    let slow = server.create_tenant("slowco").await?;
    server.create_form_from_file(&slow, "website-demo-request.json").await?;
    let res = server
        .http
        .patch(server.url("/api/v1/settings"))
        .bearer_auth(&slow)
        .json(&json!({"plugin_fuel": 100_000_000_000i64}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == StatusCode::OK, "{}", res.status());
    // With this much fuel the loop runs until the 2 s deadline stops it.
    server
        .install_plugin(&slow, "loop", "scorer", "hostile_loop", json!({}))
        .await?;
    for i in 0..200 {
        let lead = demo_lead(&format!("slow{i}@example.com"), "");
        let (status, body) = server.submit("slowco", "website-demo-request", &lead).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{status} {body}");
    }

    let (server, token, people) = sla_tenant(server).await?;
    let started = std::time::Instant::now();
    let (status, body) = server
        .submit("acme", "website-demo-request", &demo_lead("fast@example.com", ""))
        .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let lead = server.processed_lead(&token, &id).await?;
    assert!(started.elapsed().as_secs() < 10, "B waited {:?}", started.elapsed());
    assert_eq!(lead["owner_id"], people["rep@acme.example"]["id"], "{lead}");

    // Past B's warning (3 min) and breach (5 min), and past the lease of
    // A's pending jobs (10 min): the sweeper sees both.
    let swept = tokio::time::timeout(std::time::Duration::from_secs(30), advance(&server, 11 * 60)).await;
    assert!(swept.is_ok(), "the clock's sweep waited for the slow tenant");
    swept??;
    let (_, lead) = server.get_json(&token, &format!("/api/v1/leads/{id}")).await?;
    let kinds = kinds(&lead);
    for kind in ["sla_warning", "sla_breached", "escalated"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} missing: {kinds:?}");
    }
    // A's backlog was real: most of its leads still wait for its scorer.
    let (_, pending) = server.get_json(&slow, "/api/v1/leads?limit=500").await?;
    let unprocessed = pending["leads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["processed_at"].is_null())
        .count();
    assert!(unprocessed > 100, "{unprocessed} of A's leads were still pending");

    // Each of A's calls is stopped at its deadline (2 s), whatever the
    // plugin does. (The margin is loose: on a loaded machine the epoch
    // ticker itself runs late; the test asserts the stop, not the timing.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let calls = loop {
        let (_, plugin) = server.get_json(&slow, "/api/v1/plugins/loop").await?;
        let calls = plugin["recent_calls"].as_array().cloned().unwrap_or_default();
        if !calls.is_empty() {
            break calls;
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "no call of A's scorer ended");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    for call in calls {
        let took = call["duration_us"].as_u64().unwrap();
        assert!((1_900_000..=2_600_000).contains(&took), "a call took {took} µs: {call}");
        assert!(call["error"].as_str().unwrap().contains("deadline"), "{call}");
    }
    Ok(())
}

/// An integrator (a tracking script's token) sees plugins' counters and
/// failures but, until an admin grants it, nothing a plugin produced from a
/// real lead: no call results, errors, logs or output, no last error, no
/// score parts in an event's answer; a test run on a lead it supplies shows
/// everything.
async fn integrators_see_plugin_output_from_real_leads_only_when_granted(backend: Backend) -> anyhow::Result<()> {
    let (server, admin) = demo_server(backend).await?;
    server
        .install_plugin(&admin, "bant", "scorer", "bant_scorer", json!({}))
        .await?;
    server
        .install_plugin(&admin, "panicky", "scorer", "hostile_panic", json!({}))
        .await?;
    let integrator = token_for(&server, &admin, "tracker@acme.example", "integrator").await?;
    let id = submit(&server, "private@example.com").await?;
    server.processed_lead(&admin, &id).await?;
    let event = json!({"lead_id": id, "kind": "page_view", "url": "https://acme.example/pricing"});

    let view = |token: &str| {
        let (server, token, event) = (&server, token.to_owned(), event.clone());
        async move {
            let (_, bant) = server.get_json(&token, "/api/v1/plugins/bant").await?;
            let (_, panicky) = server.get_json(&token, "/api/v1/plugins/panicky").await?;
            let (_, list) = server.get_json(&token, "/api/v1/plugins").await?;
            let res = server
                .http
                .post(server.url("/api/v1/events"))
                .bearer_auth(&token)
                .json(&event)
                .send()
                .await?;
            anyhow::ensure!(res.status() == StatusCode::CREATED, "{}", res.status());
            let answer: Value = res.json().await?;
            anyhow::Ok((bant, panicky, list, answer))
        }
    };
    // Without the grant: counters and outcomes, no text.
    let (bant, panicky, list, answer) = view(&integrator).await?;
    let call = &bant["recent_calls"][0];
    assert_eq!(
        (call["ok"].as_bool(), call["result"].is_null()),
        (Some(true), true),
        "{call}"
    );
    assert!(
        call["withheld"].is_string() && call["fuel_used"].as_u64() > Some(0),
        "{call}"
    );
    let failed = &panicky["recent_calls"][0];
    assert!(failed["error"].is_null() && failed["stderr"].is_null(), "{failed}");
    assert!(
        panicky["last_error"].as_str().unwrap().starts_with("withheld"),
        "{panicky}"
    );
    assert_eq!(panicky["failures"], 1, "the failure still counts");
    let listed = list["plugins"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .all(|p| p["last_error"].is_null() || p["last_error"].as_str().unwrap().starts_with("withheld"))
    );
    assert!(
        answer.get("score_parts").is_none() && answer["score"].is_i64(),
        "{answer}"
    );
    // The lead itself stays out of reach.
    assert_eq!(
        server.get_json(&integrator, &format!("/api/v1/leads/{id}")).await?.0,
        StatusCode::FORBIDDEN
    );
    // A test run on a lead the integrator supplies shows everything.
    let res = server
        .http
        .post(server.url("/api/v1/plugins/bant/run"))
        .bearer_auth(&integrator)
        .json(&json!({"lead": {"id": "sample", "fields": demo_lead("sample@example.com", "")}}))
        .send()
        .await?;
    let trial: Value = res.json().await?;
    assert!(
        trial["result"]["parts"].as_array().is_some_and(|p| !p.is_empty()),
        "{trial}"
    );

    // An admin sees everything, and may grant it to integrators.
    let (bant, _, _, answer) = view(&admin).await?;
    assert!(!bant["recent_calls"][0]["result"].is_null() && answer["score_parts"].is_array());
    let res = server
        .http
        .patch(server.url("/api/v1/settings"))
        .bearer_auth(&admin)
        .json(&json!({"integrators_see_personal_data": true}))
        .send()
        .await?;
    let settings: Value = res.json().await?;
    assert_eq!(settings["integrators_see_personal_data"], true, "{settings}");
    assert_eq!(
        settings["plugin_fuel_is_default"], true,
        "the grant leaves the CPU limit alone"
    );
    let (bant, panicky, _, answer) = view(&integrator).await?;
    assert!(!bant["recent_calls"][0]["result"].is_null(), "{bant}");
    assert!(
        panicky["last_error"].as_str().unwrap().contains("panicked"),
        "{panicky}"
    );
    assert!(answer["score_parts"].is_array(), "{answer}");
    Ok(())
}

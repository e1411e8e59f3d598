//! Scoring and the lead lifecycle through the real server: each rule kind,
//! behaviour events by id / email / phone, promotion and tiers, decay on a
//! manual clock, background re-score with a plugin, stage changes by hand,
//! and bad models and events rejected with pointers.

use std::time::Duration;

use leadhost_tests::{Backend, OPERATOR_TOKEN, TestServer, on_both_backends, pointers};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::intake::{demo_lead, demo_server};

on_both_backends!(
    each_rule_kind_scores_a_new_lead_with_its_reasons,
    events_by_id_email_and_phone_rescore_at_once,
    invalid_models_and_events_are_rejected_with_pointers,
    crossing_thresholds_promotes_and_tiers_follow_both_ways,
    behaviour_points_decay_on_the_scheduler_with_a_manual_clock,
    a_model_change_rescores_every_lead_in_the_background_with_a_plugin,
    people_move_stages_within_the_allowed_transitions,
    the_lead_list_sorts_by_score_and_filters_by_tier_and_stage,
    a_duplicate_that_fills_empty_fields_rescores_the_lead,
);

const DAY: u64 = 86_400;

/// Thresholds small enough to cross with a few events.
fn model(rules: Value) -> Value {
    json!({
        "tiers": {"warm": 5, "hot": 10},
        "promote": {"mql": 5, "sql": 10},
        "rules": rules
    })
}

fn page_views(points_per_band: [i32; 3]) -> Value {
    json!({"kind": "behaviour", "id": "visits", "label": "Site visits", "event": "page_view", "window_days": 30,
           "cases": [{"min_count": 5, "points": points_per_band[2]},
                     {"min_count": 3, "points": points_per_band[1]},
                     {"min_count": 1, "points": points_per_band[0]}]})
}

pub(crate) async fn send(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> anyhow::Result<(StatusCode, Value)> {
    let res = server
        .http
        .request(method, server.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await?;
    let status = res.status();
    let text = res.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

pub(crate) async fn post(
    server: &TestServer,
    token: &str,
    path: &str,
    body: &Value,
) -> anyhow::Result<(StatusCode, Value)> {
    send(server, token, reqwest::Method::POST, path, body).await
}

/// Sets the tenant's model and waits for its re-score run to finish.
pub(crate) async fn set_model(server: &TestServer, token: &str, model: &Value) -> anyhow::Result<Value> {
    let (status, body) = send(server, token, reqwest::Method::PUT, "/api/v1/scoring/model", model).await?;
    anyhow::ensure!(status == StatusCode::ACCEPTED, "{status} {body}");
    wait_for_rescore(server, token, body["rescore"]["id"].as_str().unwrap()).await
}

async fn wait_for_rescore(server: &TestServer, token: &str, run_id: &str) -> anyhow::Result<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, run) = server
            .get_json(token, &format!("/api/v1/scoring/rescores/{run_id}"))
            .await?;
        anyhow::ensure!(status == StatusCode::OK, "{status} {run}");
        if run["status"] == "done" {
            return Ok(run);
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "re-score did not finish: {run}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn new_lead(server: &TestServer, token: &str, lead: &Value) -> anyhow::Result<Value> {
    let (status, body) = server.submit("acme", "website-demo-request", lead).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {body}");
    server.processed_lead(token, body["id"].as_str().unwrap()).await
}

pub(crate) async fn lead(server: &TestServer, token: &str, id: &str) -> anyhow::Result<Value> {
    let (status, lead) = server.get_json(token, &format!("/api/v1/leads/{id}")).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {lead}");
    Ok(lead)
}

pub(crate) fn events<'a>(lead: &'a Value, kind: &str) -> Vec<&'a Value> {
    lead["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// (rule or plugin, points) of the lead's current score.
fn parts(lead: &Value) -> Vec<(String, f64)> {
    lead["score_parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p["rule"].as_str().or(p["source"].as_str()).unwrap().to_owned();
            (name, p["points"].as_f64().unwrap())
        })
        .collect()
}

async fn event(server: &TestServer, token: &str, body: Value) -> anyhow::Result<Value> {
    let (status, answer) = post(server, token, "/api/v1/events", &body).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {answer}");
    Ok(answer)
}

async fn each_rule_kind_scores_a_new_lead_with_its_reasons(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    set_model(
        &server,
        &token,
        &model(json!([
            {"kind": "attribute", "id": "size", "field": "company_size",
             "cases": [{"one_of": ["200-999", "1000+"], "points": 3}, {"equals": "50-199", "points": 2}]},
            {"kind": "attribute", "id": "industry", "field": "industry", "cases": [{"one_of": ["logistics", "software"], "points": 3}]},
            {"kind": "attribute", "id": "title", "field": "job_title",
             "cases": [{"contains_any": ["cto", "总经理"], "points": 3}, {"contains_any": ["director"], "points": 2}]},
            {"kind": "attribute", "id": "region", "field": "province", "cases": [{"one_of": ["zhejiang", "shanghai"], "points": 1}]},
            {"kind": "bant", "id": "budget", "dimension": "budget", "field": "budget",
             "cases": [{"equals": ">1m", "points": 4}, {"equals": "200k-1m", "points": 2}]},
            {"kind": "bant", "id": "timeline", "dimension": "timeline", "field": "timeline", "cases": [{"equals": "this_month", "points": 5}]},
            page_views([1, 2, 3])
        ])),
    )
    .await?;
    let mut fields = demo_lead("rules@example.com", "");
    fields["industry"] = json!("logistics");
    fields["job_title"] = json!("Sales Director");
    let lead = new_lead(&server, &token, &fields).await?;
    // 200-999 (+3), logistics (+3), director (+2, "cto" is not a word in it),
    // zhejiang (+1), 200k-1m (+2); this_quarter and no visits earn nothing.
    assert_eq!(
        parts(&lead),
        [
            ("size".into(), 3.0),
            ("industry".into(), 3.0),
            ("title".into(), 2.0),
            ("region".into(), 1.0),
            ("budget".into(), 2.0)
        ]
    );
    assert_eq!(lead["score"], 11);
    assert_eq!(lead["tier"], "hot");
    let scored = events(&lead, "scored");
    assert_eq!(scored.len(), 1, "{lead}");
    assert_eq!(scored[0]["detail"]["cause"], "intake");
    assert_eq!(scored[0]["detail"]["score"], 11);
    let reasons: Vec<&str> = scored[0]["detail"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"title: job_title is Sales Director"), "{reasons:?}");

    // A behaviour rule scores once events arrive.
    let id = lead["id"].as_str().unwrap();
    for _ in 0..3 {
        event(
            &server,
            &token,
            json!({"lead_id": id, "kind": "page_view", "url": "https://acme.example/pricing"}),
        )
        .await?;
    }
    let lead = crate::scoring::lead(&server, &token, id).await?;
    assert!(parts(&lead).contains(&("visits".into(), 2.0)), "{lead}");
    assert_eq!(lead["score"], 13);
    Ok(())
}

async fn events_by_id_email_and_phone_rescore_at_once(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    set_model(&server, &token, &model(json!([
        page_views([1, 2, 3]),
        {"kind": "behaviour", "id": "pricing", "event": "pricing_page_viewed", "window_days": 7, "cases": [{"min_count": 1, "points": 4}]},
        {"kind": "behaviour", "id": "trial", "event": "trial_started", "window_days": 30, "cases": [{"min_count": 1, "points": 5}]}
    ])))
    .await?;
    let lead = new_lead(&server, &token, &demo_lead("Events@Example.com", "+86 138 0013 8000")).await?;
    let id = lead["id"].as_str().unwrap();
    assert_eq!(lead["score"], 0);

    // By email, in another spelling: the answer already has the new score.
    let answer = event(
        &server,
        &token,
        json!({"email": "events@EXAMPLE.com ", "kind": "page_view", "url": "https://acme.example/"}),
    )
    .await?;
    assert_eq!(
        (answer["lead_id"].as_str(), answer["score"].as_i64()),
        (Some(id), Some(1))
    );
    // By phone, as a national number in the tenant's region.
    let answer = event(
        &server,
        &token,
        json!({"phone": "13800138000", "kind": "pricing_page_viewed"}),
    )
    .await?;
    assert_eq!(
        (answer["lead_id"].as_str(), answer["score"].as_i64()),
        (Some(id), Some(5))
    );
    // By id in the path, with a custom kind.
    let (status, answer) = post(
        &server,
        &token,
        &format!("/api/v1/leads/{id}/events"),
        &json!({"kind": "trial_started", "detail": {"plan": "pro"}}),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["score"], 10);
    assert_eq!(answer["tier"], "hot");

    let lead = crate::scoring::lead(&server, &token, id).await?;
    let kinds: Vec<&str> = lead["behaviour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["page_view", "pricing_page_viewed", "trial_started"]);
    let causes: Vec<&str> = events(&lead, "scored")
        .iter()
        .map(|e| e["detail"]["cause"].as_str().unwrap())
        .collect();
    assert_eq!(
        causes,
        [
            "intake",
            "event page_view",
            "event pricing_page_viewed",
            "event trial_started"
        ]
    );

    // Unknown identities and other tenants' leads are 404s, and nothing is stored.
    let (status, _) = post(
        &server,
        &token,
        "/api/v1/events",
        &json!({"email": "nobody@example.com", "kind": "download"}),
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other = server.create_tenant("other").await?;
    let (status, _) = post(
        &server,
        &other,
        "/api/v1/events",
        &json!({"lead_id": id, "kind": "download"}),
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = post(
        &server,
        &other,
        "/api/v1/events",
        &json!({"email": "events@example.com", "kind": "download"}),
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let lead = crate::scoring::lead(&server, &token, id).await?;
    assert_eq!(lead["behaviour"].as_array().unwrap().len(), 3);
    Ok(())
}

async fn invalid_models_and_events_are_rejected_with_pointers(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let bad = json!({
        "tiers": {"warm": 10, "hot": 5},
        "promote": {"mql": 5, "sql": 10},
        "rules": [
            {"kind": "attribute", "id": "size", "field": "company_size", "cases": [{"points": 3}]},
            {"kind": "behaviour", "id": "visits", "event": "page_view", "window_days": 7, "cases": [{"min_count": 2, "points": "many"}]},
            {"kind": "mood", "id": "x"}
        ]
    });
    let (status, problem) = send(&server, &token, reqwest::Method::PUT, "/api/v1/scoring/model", &bad).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    // Rule shapes are read first, each at its own pointer.
    assert_eq!(pointers(&problem), ["/rules/1/cases/0/points", "/rules/2/kind"]);
    let fixed_shapes = json!({"tiers": {"warm": 10, "hot": 5}, "promote": {"mql": 5, "sql": 10},
        "rules": [{"kind": "attribute", "id": "size", "field": "company_size", "cases": [{"points": 3}]}]});
    let (status, problem) = send(
        &server,
        &token,
        reqwest::Method::PUT,
        "/api/v1/scoring/model",
        &fixed_shapes,
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/tiers/hot", "/rules/0/cases/0"]);
    // Nothing was stored: the tenant still has the default model.
    let (_, current) = server.get_json(&token, "/api/v1/scoring/model").await?;
    assert_eq!(current["version"], 0);

    let id = new_lead(&server, &token, &demo_lead("bad-events@example.com", "")).await?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = [
        (json!({"lead_id": id, "kind": "Page View"}), vec!["/kind"]),
        (json!({"lead_id": id, "kind": "page_view"}), vec!["/url"]),
        (
            json!({"lead_id": id, "kind": "download", "occurred_at": "2999-01-01T00:00:00Z"}),
            vec!["/occurred_at"],
        ),
        (
            json!({"lead_id": id, "kind": "download", "occurred_at": "yesterday"}),
            vec!["/occurred_at"],
        ),
        (
            json!({"lead_id": id, "kind": "download", "detail": [1, 2]}),
            vec!["/detail"],
        ),
        (
            json!({"lead_id": id, "email": "a@b.example", "kind": "download"}),
            vec![""],
        ),
        (json!({"kind": "download"}), vec![""]),
        (json!({"lead_id": id, "kind": 7}), vec!["/kind"]),
        (
            json!({"lead_id": id, "kind": "download", "colour": "red"}),
            vec!["/colour"],
        ),
    ];
    for (body, expected) in cases {
        let (status, problem) = post(&server, &token, "/api/v1/events", &body).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} -> {problem}");
        assert_eq!(pointers(&problem), expected, "{body} -> {problem}");
    }
    let res = server
        .http
        .post(server.url("/api/v1/events"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"kind\": ")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let lead = crate::scoring::lead(&server, &token, &id).await?;
    assert!(
        lead["behaviour"].as_array().unwrap().is_empty(),
        "no bad event was stored"
    );
    Ok(())
}

async fn crossing_thresholds_promotes_and_tiers_follow_both_ways(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    // Page views earn 3 / 7 / 12; an unsubscribe costs 8.
    set_model(&server, &token, &model(json!([
        page_views([3, 7, 12]),
        {"kind": "behaviour", "id": "unsubscribed", "event": "unsubscribed", "window_days": 365, "cases": [{"min_count": 1, "points": -8}]}
    ])))
    .await?;
    let lead = new_lead(&server, &token, &demo_lead("promote@example.com", "")).await?;
    let id = lead["id"].as_str().unwrap();
    assert_eq!(
        (lead["tier"].as_str(), lead["stage"].as_str()),
        (Some("cold"), Some("new"))
    );
    let view = json!({"lead_id": id, "kind": "page_view", "url": "https://acme.example/"});

    let mut seen = Vec::new();
    for _ in 0..5 {
        let answer = event(&server, &token, view.clone()).await?;
        seen.push((
            answer["score"].as_i64().unwrap(),
            answer["tier"].as_str().unwrap().to_owned(),
            answer["stage"].as_str().unwrap().to_owned(),
        ));
    }
    let expected = [
        (3, "cold", "new"),
        (3, "cold", "new"),
        (7, "warm", "mql"),
        (7, "warm", "mql"),
        (12, "hot", "sql"),
    ];
    assert_eq!(seen, expected.map(|(s, t, g)| (s, t.to_owned(), g.to_owned())));

    let lead = crate::scoring::lead(&server, &token, id).await?;
    let stages: Vec<(&str, &str)> = lead["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stage"].as_str().unwrap(), s["by"].as_str().unwrap()))
        .collect();
    assert_eq!(stages, [("new", "form_page"), ("mql", "scoring"), ("sql", "scoring")]);
    assert_eq!(lead["stages"][1]["reason"], "score 7 reached the MQL threshold of 5");
    assert_eq!(lead["stages"][2]["reason"], "score 12 reached the SQL threshold of 10");
    let entered: Vec<&str> = lead["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["entered_at"].as_str().unwrap())
        .collect();
    assert!(entered.windows(2).all(|w| w[0] <= w[1]), "{entered:?}");
    assert_eq!(lead["stage_entered_at"], lead["stages"][2]["entered_at"]);
    let tiers: Vec<(&str, &str)> = events(&lead, "tier_changed")
        .iter()
        .map(|e| {
            (
                e["detail"]["from"].as_str().unwrap(),
                e["detail"]["to"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(tiers, [("cold", "warm"), ("warm", "hot")]);

    // The score falls: the tier follows, the stage does not move back.
    let answer = event(&server, &token, json!({"lead_id": id, "kind": "unsubscribed"})).await?;
    assert_eq!(
        (
            answer["score"].as_i64(),
            answer["tier"].as_str(),
            answer["stage"].as_str()
        ),
        (Some(4), Some("cold"), Some("sql"))
    );
    let lead = crate::scoring::lead(&server, &token, id).await?;
    assert_eq!(
        lead["stages"].as_array().unwrap().len(),
        3,
        "no stage entry for a falling score"
    );
    Ok(())
}

async fn behaviour_points_decay_on_the_scheduler_with_a_manual_clock(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start_with(backend, &["--manual-clock"]).await?;
    let token = server.create_tenant("acme").await?;
    server
        .create_form_from_file(&token, "website-demo-request.json")
        .await?;
    let mut decaying = model(json!([
        {"kind": "behaviour", "id": "downloads", "event": "download", "window_days": 90, "cases": [{"min_count": 1, "points": 12}]},
        {"kind": "bant", "id": "budget", "dimension": "budget", "field": "budget", "cases": [{"equals": "200k-1m", "points": 2}]}
    ]));
    decaying["behaviour_half_life_days"] = json!(7);
    set_model(&server, &token, &decaying).await?;
    let id = new_lead(&server, &token, &demo_lead("decay@example.com", "")).await?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = event(&server, &token, json!({"lead_id": id, "kind": "download"})).await?;
    assert_eq!(
        (
            answer["score"].as_i64(),
            answer["tier"].as_str(),
            answer["stage"].as_str()
        ),
        (Some(14), Some("hot"), Some("sql"))
    );

    let advance = |seconds: u64| {
        let server = &server;
        async move {
            let (status, body) = post(
                server,
                OPERATOR_TOKEN,
                "/api/v1/clock",
                &json!({"advance_seconds": seconds}),
            )
            .await?;
            anyhow::ensure!(status == StatusCode::OK, "{status} {body}");
            anyhow::Ok(body)
        }
    };
    // One half-life: 12 faded to 6, plus the budget's 2.
    let moved = advance(7 * DAY).await?;
    assert!(moved["jobs_run"].as_u64().unwrap() >= 1, "{moved}");
    let lead = crate::scoring::lead(&server, &token, &id).await?;
    assert_eq!(
        (lead["score"].as_i64(), lead["tier"].as_str(), lead["stage"].as_str()),
        (Some(8), Some("warm"), Some("sql"))
    );
    let decays: Vec<&Value> = events(&lead, "scored")
        .into_iter()
        .filter(|e| e["detail"]["cause"] == "decay")
        .collect();
    assert!(!decays.is_empty(), "{lead}");
    assert!(
        lead["score_parts"].to_string().contains("faded to 6"),
        "{}",
        lead["score_parts"]
    );

    // The clock survives a restart, and so do the decay jobs.
    let (_, before) = server.get_json(&token, "/api/v1/clock").await?;
    let db = server.stop();
    let server = TestServer::start_on(db, &["--manual-clock"]).await?;
    let (_, after) = server.get_json(&token, "/api/v1/clock").await?;
    assert_eq!(before["now"], after["now"]);
    assert_eq!(after["manual"], true);
    // Three more half-lives: 12 → 0.75, which rounds with the budget's 2 to 3.
    let (status, _) = post(
        &server,
        OPERATOR_TOKEN,
        "/api/v1/clock",
        &json!({"advance_seconds": 21 * DAY}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let lead = crate::scoring::lead(&server, &token, &id).await?;
    assert_eq!(
        (lead["score"].as_i64(), lead["tier"].as_str(), lead["stage"].as_str()),
        (Some(3), Some("cold"), Some("sql"))
    );
    // Past the 90-day window the download no longer counts at all.
    let (status, _) = post(
        &server,
        OPERATOR_TOKEN,
        "/api/v1/clock",
        &json!({"advance_seconds": 70 * DAY}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let lead = crate::scoring::lead(&server, &token, &id).await?;
    assert_eq!(lead["score"], 2);
    assert_eq!(parts(&lead), [("budget".to_owned(), 2.0)]);

    // Only the operator moves the clock, and only on a manual one.
    let (status, _) = post(&server, &token, "/api/v1/clock", &json!({"advance_seconds": 60})).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let normal = TestServer::start(backend).await?;
    let (status, problem) = post(
        &normal,
        OPERATOR_TOKEN,
        "/api/v1/clock",
        &json!({"advance_seconds": 60}),
    )
    .await?;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    Ok(())
}

async fn a_model_change_rescores_every_lead_in_the_background_with_a_plugin(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    server
        .install_plugin(&token, "bant", "scorer", "bant_scorer", json!({}))
        .await?;
    let mut ids = Vec::new();
    for i in 0..30 {
        let mut fields = demo_lead(&format!("r{i}@example.com"), "");
        fields["company_size"] = json!(["1-49", "50-199", "200-999"][i % 3]);
        ids.push(
            new_lead(&server, &token, &fields).await?["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let before = crate::scoring::lead(&server, &token, &ids[2]).await?;
    let plugin_points = before["score"].as_i64().unwrap();
    assert!(plugin_points > 0, "the bant plugin scores the demo answers: {before}");

    let sized = model(json!([{"kind": "attribute", "id": "size", "field": "company_size",
        "cases": [{"equals": "200-999", "points": 30}, {"equals": "50-199", "points": 20}]}]));
    let run = set_model(&server, &token, &sized).await?;
    assert_eq!(
        (run["total"].as_i64(), run["done"].as_i64()),
        (Some(30), Some(30)),
        "{run}"
    );
    assert_eq!(run["changed"], 20, "the 1-49 leads keep their score: {run}");
    assert_eq!(run["model_version"], 1);

    let big = crate::scoring::lead(&server, &token, &ids[2]).await?;
    assert_eq!(big["score"].as_i64().unwrap(), plugin_points + 30);
    let sources: Vec<&str> = big["score_parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source"].as_str().unwrap())
        .collect();
    assert!(sources.contains(&"model") && sources.contains(&"bant"), "{sources:?}");
    let last = *events(&big, "scored").last().unwrap();
    assert_eq!(last["detail"]["from"].as_i64(), Some(plugin_points));
    let small = crate::scoring::lead(&server, &token, &ids[0]).await?;
    assert_eq!(small["score"].as_i64(), Some(plugin_points));

    // A re-score on demand (after a plugin change) runs with the current model.
    let (status, started) = post(&server, &token, "/api/v1/scoring/rescores", &json!({})).await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let run = wait_for_rescore(&server, &token, started["id"].as_str().unwrap()).await?;
    assert_eq!((run["done"].as_i64(), run["changed"].as_i64()), (Some(30), Some(0)));
    let (_, runs) = server.get_json(&token, "/api/v1/scoring/rescores").await?;
    assert_eq!(runs["rescores"].as_array().unwrap().len(), 2);

    // Only admins change the model; reps cannot even read it.
    let (status, _) = post(
        &server,
        &token,
        "/api/v1/users",
        &json!({"email": "rep@acme.example", "role": "rep"}),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED);
    let (status, rep_token) = post(&server, &token, "/api/v1/tokens", &json!({"user": "rep@acme.example"})).await?;
    assert_eq!(status, StatusCode::CREATED, "{rep_token}");
    let rep_token = rep_token["token"].as_str().unwrap().to_owned();
    let (status, _) = send(
        &server,
        &rep_token,
        reqwest::Method::PUT,
        "/api/v1/scoring/model",
        &sized,
    )
    .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The CLI sets a model from a file and shows the run to its end.
    let file = server.db().dir().join("model.json");
    std::fs::write(&file, model(json!([])).to_string())?;
    let cache = server.db().dir().join("cli-plugin-cache");
    let out = server.cli(&[
        "scoring",
        "model",
        file.to_str().unwrap(),
        "--tenant",
        "acme",
        "--plugin-cache",
        cache.to_str().unwrap(),
    ])?;
    assert!(out.contains("scoring model version 2 saved"), "{out}");
    assert!(out.contains("re-scored 30 leads (20 changed)"), "{out}");
    std::fs::write(&file, json!({"tiers": {"warm": 1}}).to_string())?;
    let err = server
        .cli(&["scoring", "check", file.to_str().unwrap()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("/tiers"), "{err}");
    Ok(())
}

async fn people_move_stages_within_the_allowed_transitions(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let id = new_lead(&server, &token, &demo_lead("stages@example.com", "")).await?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/leads/{id}/stage");
    let refused = [
        (
            json!({"stage": "opportunity", "deal_value": 5000, "expected_close": "2027-03-31"}),
            "/stage",
        ),
        (json!({"stage": "sold"}), "/stage"),
        (json!({"stage": "lost"}), "/reason"),
        (json!({"stage": "disqualified", "reason": "  "}), "/reason"),
    ];
    for (body, pointer) in refused {
        let (status, problem) = post(&server, &token, &path, &body).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} {problem}");
        assert_eq!(pointers(&problem), [pointer], "{body} {problem}");
    }
    for stage in ["mql", "sql"] {
        let (status, lead) = post(&server, &token, &path, &json!({"stage": stage})).await?;
        assert_eq!(status, StatusCode::OK, "{lead}");
    }
    // An opportunity records its deal: a value and an expected close date.
    for (body, expected) in [
        (json!({"stage": "opportunity"}), vec!["/deal_value", "/expected_close"]),
        (
            json!({"stage": "opportunity", "deal_value": "-3", "expected_close": "soon"}),
            vec!["/deal_value", "/expected_close"],
        ),
        (
            json!({"stage": "opportunity", "deal_value": 120000}),
            vec!["/expected_close"],
        ),
    ] {
        let (status, problem) = post(&server, &token, &path, &body).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} {problem}");
        assert_eq!(pointers(&problem), expected, "{body} {problem}");
    }
    {
        let stage = "opportunity";
        let body = json!({"stage": stage, "deal_value": "120,000.50", "expected_close": "2027-03-31"});
        let (status, lead) = post(&server, &token, &path, &body).await?;
        assert_eq!(
            (&lead["deal_value"], &lead["expected_close_on"]),
            (&json!(12_000_050), &json!("2027-03-31"))
        );
        assert_eq!(
            (status, lead["stage"].as_str()),
            (StatusCode::OK, Some(stage)),
            "{lead}"
        );
    }
    let (status, lead) = post(
        &server,
        &token,
        &path,
        &json!({"stage": "lost", "reason": "chose a competitor"}),
    )
    .await?;
    assert_eq!((status, lead["stage"].as_str()), (StatusCode::OK, Some("lost")));
    let (status, _) = post(&server, &token, &path, &json!({"stage": "recycled"})).await?;
    assert_eq!(status, StatusCode::OK);
    let lead = crate::scoring::lead(&server, &token, &id).await?;
    let history: Vec<(&str, &str)> = lead["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stage"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        [
            ("new", "captured"),
            ("mql", "changed by hand"),
            ("sql", "changed by hand"),
            ("opportunity", "changed by hand"),
            ("lost", "chose a competitor"),
            ("recycled", "changed by hand")
        ]
    );
    let (_, me) = server.get_json(&token, "/api/v1/me").await?;
    assert_eq!(lead["stages"][4]["by"], me["user_id"]);

    // Won is final; another tenant cannot move the lead at all.
    for stage in ["sql", "opportunity", "won"] {
        let body = json!({"stage": stage, "deal_value": 88000, "expected_close": "2027-01-15"});
        let (status, body) = post(&server, &token, &path, &body).await?;
        assert_eq!(status, StatusCode::OK, "{stage}: {body}");
    }
    let won = crate::scoring::lead(&server, &token, &id).await?;
    assert_eq!(
        (&won["deal_value"], &won["expected_close_on"]),
        (&json!(8_800_000), &json!("2027-01-15"))
    );
    let (status, problem) = post(&server, &token, &path, &json!({"stage": "recycled"})).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("none: it is final"),
        "{problem}"
    );
    let other = server.create_tenant("other").await?;
    let (status, _) = post(&server, &other, &path, &json!({"stage": "lost", "reason": "x"})).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

async fn the_lead_list_sorts_by_score_and_filters_by_tier_and_stage(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    set_model(&server, &token, &model(json!([{"kind": "behaviour", "id": "visits", "event": "page_view", "window_days": 30,
        "cases": [{"min_count": 1, "max_count": 1, "points": 1}, {"min_count": 2, "max_count": 2, "points": 6}, {"min_count": 3, "points": 11}]}])))
    .await?;
    let mut ids = Vec::new();
    for i in 0..7 {
        let id = new_lead(&server, &token, &demo_lead(&format!("list{i}@example.com"), "")).await?["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for _ in 0..(i % 4) {
            event(
                &server,
                &token,
                json!({"lead_id": id, "kind": "page_view", "url": "https://acme.example/"}),
            )
            .await?;
        }
        ids.push(id);
    }
    // Scores by i % 4: 0, 1, 6, 11.
    let mut scores = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = "/api/v1/leads?sort=score&limit=3".to_owned();
        if let Some(after) = &after {
            path.push_str(&format!("&after={after}"));
        }
        let (status, page) = server.get_json(&token, &path).await?;
        assert_eq!(status, StatusCode::OK, "{page}");
        scores.extend(
            page["leads"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["score"].as_i64().unwrap()),
        );
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(scores, [11, 6, 6, 1, 1, 0, 0]);
    let count = |path: &str| {
        let server = &server;
        let token = &token;
        let path = path.to_owned();
        async move {
            let (status, page) = server.get_json(token, &path).await?;
            anyhow::ensure!(status == StatusCode::OK, "{status} {page}");
            anyhow::Ok(page["leads"].as_array().unwrap().len())
        }
    };
    assert_eq!(count("/api/v1/leads?tier=hot").await?, 1);
    assert_eq!(count("/api/v1/leads?tier=warm").await?, 2);
    assert_eq!(count("/api/v1/leads?tier=cold&sort=score").await?, 4);
    assert_eq!(count("/api/v1/leads?stage=mql").await?, 2);
    assert_eq!(count("/api/v1/leads?stage=sql&tier=hot").await?, 1);
    let (status, problem) = server
        .get_json(&token, "/api/v1/leads?tier=lukewarm&sort=vibes&stage=maybe")
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/sort", "/stage", "/tier"]);
    let (status, _) = server
        .get_json(&token, "/api/v1/leads?sort=score&after=garbage")
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

async fn a_duplicate_that_fills_empty_fields_rescores_the_lead(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    set_model(
        &server,
        &token,
        &model(json!([{"kind": "attribute", "id": "industry", "field": "industry",
            "cases": [{"one_of": ["logistics"], "points": 6}]}])),
    )
    .await?;
    let first = new_lead(&server, &token, &demo_lead("touch@example.com", "")).await?;
    assert_eq!(first["score"], 0);
    let mut again = demo_lead("touch@example.com", "");
    again["industry"] = json!("logistics");
    let (status, body) = server.submit("acme", "website-demo-request", &again).await?;
    assert_eq!(
        (status, body["duplicate_of"].as_str()),
        (StatusCode::CREATED, first["id"].as_str())
    );
    // The re-score runs right after the 201.
    let id = first["id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let lead = loop {
        let lead = lead(&server, &token, id).await?;
        if lead["score"] == 6 || std::time::Instant::now() > deadline {
            break lead;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        (lead["score"].as_i64(), lead["stage"].as_str()),
        (Some(6), Some("mql")),
        "{lead}"
    );
    let causes: Vec<&str> = events(&lead, "scored")
        .iter()
        .map(|e| e["detail"]["cause"].as_str().unwrap())
        .collect();
    assert_eq!(causes, ["intake", "a touch filled empty fields"]);
    Ok(())
}

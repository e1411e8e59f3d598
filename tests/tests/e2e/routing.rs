//! Routing through the real server: teams and their strategies, ordered
//! assignment rules with a router plugin as a step, the public pool with
//! concurrent claims, limits and bars, and reassignment by hand.

use std::collections::HashMap;

use leadhost_tests::{Backend, TestServer, on_both_backends, pointers};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::intake::{demo_lead, demo_server};
use crate::scoring::{events, lead, new_lead, post, send};

on_both_backends!(
    round_robin_is_fair_over_a_thousand_leads,
    least_loaded_and_weighted_teams_respect_capacity_and_availability,
    rules_place_leads_by_conditions_with_a_plugin_step_and_the_pool_last,
    two_reps_claiming_one_lead_at_once_one_wins_and_limits_hold,
    invalid_rules_and_teams_are_rejected_with_pointers,
);

/// Adds reps and returns (email → (user id, token)).
async fn reps(server: &TestServer, token: &str, emails: &[&str]) -> anyhow::Result<HashMap<String, (String, String)>> {
    let mut out = HashMap::new();
    for email in emails {
        let (status, user) = post(server, token, "/api/v1/users", &json!({"email": email, "role": "rep"})).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{status} {user}");
        let (status, issued) = post(server, token, "/api/v1/tokens", &json!({"user": email})).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{status} {issued}");
        out.insert(
            email.to_string(),
            (
                user["id"].as_str().unwrap().to_owned(),
                issued["token"].as_str().unwrap().to_owned(),
            ),
        );
    }
    Ok(out)
}

async fn put(server: &TestServer, token: &str, path: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
    send(server, token, Method::PUT, path, body).await
}

async fn team(server: &TestServer, token: &str, body: Value) -> anyhow::Result<()> {
    let (status, team) = post(server, token, "/api/v1/teams", &body).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {team}");
    Ok(())
}

async fn rules(server: &TestServer, token: &str, rules: Value) -> anyhow::Result<()> {
    let (status, body) = put(server, token, "/api/v1/routing/rules", &json!({"rules": rules})).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {body}");
    Ok(())
}

fn routed(lead: &Value) -> Value {
    events(lead, "routed")
        .last()
        .map(|e| e["detail"].clone())
        .unwrap_or(Value::Null)
}

async fn round_robin_is_fair_over_a_thousand_leads(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let emails = ["a@acme.example", "b@acme.example", "c@acme.example", "d@acme.example"];
    let people = reps(&server, &token, &emails).await?;
    let members: Vec<Value> = emails.iter().map(|e| json!({"email": e})).collect();
    team(
        &server,
        &token,
        json!({"name": "inside", "strategy": "round_robin", "members": members}),
    )
    .await?;
    rules(
        &server,
        &token,
        json!([{"id": "everyone", "assign": {"team": "inside"}}]),
    )
    .await?;

    // 1,000 leads, 16 in flight at a time, through the public form route.
    let server = std::sync::Arc::new(server);
    let mut handles = Vec::new();
    for worker in 0..16 {
        let server = server.clone();
        handles.push(tokio::spawn(async move {
            for i in (worker..1000).step_by(16) {
                let (status, body) = server
                    .submit(
                        "acme",
                        "website-demo-request",
                        &demo_lead(&format!("rr{i}@example.com"), ""),
                    )
                    .await?;
                anyhow::ensure!(status == StatusCode::CREATED, "{status} {body}");
            }
            anyhow::Ok(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    // Every lead is routed in the background; wait for the team's count.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let team = loop {
        let (_, team) = server.get_json(&token, "/api/v1/teams/inside").await?;
        let given: i64 = team["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["assigned"].as_i64().unwrap())
            .sum();
        if given >= 1000 || std::time::Instant::now() > deadline {
            break team;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let given: Vec<i64> = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["assigned"].as_i64().unwrap())
        .collect();
    assert_eq!(given, [250, 250, 250, 250], "{team}");
    // The leads agree with the counters, and each rep's open-lead count too.
    let (_, users) = server.get_json(&token, "/api/v1/users").await?;
    for email in emails {
        let (id, _) = &people[email];
        let (_, page) = server
            .get_json(&token, &format!("/api/v1/leads?owner={id}&limit=500"))
            .await?;
        assert_eq!(page["leads"].as_array().unwrap().len(), 250, "{email}");
        let user = users["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .unwrap();
        assert_eq!(user["open_leads"].as_i64(), Some(250), "{user}");
    }
    Ok(())
}

async fn least_loaded_and_weighted_teams_respect_capacity_and_availability(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let people = reps(
        &server,
        &token,
        &[
            "heavy@acme.example",
            "light@acme.example",
            "away@acme.example",
            "big@acme.example",
            "small@acme.example",
        ],
    )
    .await?;
    let (heavy, _) = &people["heavy@acme.example"];
    let (light, _) = &people["light@acme.example"];
    let (away, away_token) = &people["away@acme.example"];
    let (big, _) = &people["big@acme.example"];
    let (small, _) = &people["small@acme.example"];
    // Heavy already holds 3 leads; light may hold at most 2; away is away.
    for i in 0..3 {
        let id = new_lead(&server, &token, &demo_lead(&format!("held{i}@example.com"), "")).await?["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, body) = post(
            &server,
            &token,
            &format!("/api/v1/leads/{id}/assign"),
            &json!({"rep": "heavy@acme.example"}),
        )
        .await?;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = send(
        &server,
        &token,
        Method::PATCH,
        &format!("/api/v1/users/{light}"),
        &json!({"capacity": 2}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A rep says they are away; they may not change their own capacity.
    let (status, _) = send(
        &server,
        away_token,
        Method::PATCH,
        &format!("/api/v1/users/{away}"),
        &json!({"available": false}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        &server,
        away_token,
        Method::PATCH,
        &format!("/api/v1/users/{away}"),
        &json!({"capacity": 99}),
    )
    .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);

    team(
        &server,
        &token,
        json!({"name": "load", "strategy": "least_loaded",
        "members": [{"email": "heavy@acme.example"}, {"email": "light@acme.example"}, {"email": "away@acme.example"}]}),
    )
    .await?;
    team(
        &server,
        &token,
        json!({"name": "share", "strategy": "weighted",
        "members": [{"email": "big@acme.example", "weight": 3}, {"email": "small@acme.example", "weight": 1}]}),
    )
    .await?;
    rules(
        &server,
        &token,
        json!([
            {"id": "by-size", "when": {"fields": {"company_size": {"equals": "1-49"}}}, "assign": {"team": "load"}},
            {"id": "rest", "assign": {"team": "share"}}
        ]),
    )
    .await?;

    let mut owners = Vec::new();
    for i in 0..6 {
        let mut fields = demo_lead(&format!("small{i}@example.com"), "");
        fields["company_size"] = json!("1-49");
        owners.push(
            new_lead(&server, &token, &fields).await?["owner_id"]
                .as_str()
                .unwrap_or("pool")
                .to_owned(),
        );
    }
    // light (0 open) takes two and is full; then heavy and light are... light is
    // full, so heavy (3 open) takes the rest; away never gets one.
    let expected = [light, light, heavy, heavy, heavy, heavy];
    assert_eq!(owners, expected.map(|s| s.to_owned()));

    let mut counts: HashMap<String, usize> = HashMap::new();
    for i in 0..40 {
        let lead = new_lead(&server, &token, &demo_lead(&format!("share{i}@example.com"), "")).await?;
        *counts.entry(lead["owner_id"].as_str().unwrap().to_owned()).or_default() += 1;
        if i == 0 {
            let detail = routed(&lead);
            assert_eq!(
                (
                    detail["team"].as_str(),
                    detail["strategy"].as_str(),
                    detail["rule"].as_str()
                ),
                (Some("share"), Some("weighted"), Some("rest")),
                "{detail}"
            );
        }
    }
    assert_eq!((counts[big], counts[small]), (30, 10));

    // When nobody in the team can take a lead it goes to the pool, saying why.
    let (status, _) = send(
        &server,
        &token,
        Method::PATCH,
        &format!("/api/v1/users/{heavy}"),
        &json!({"available": false}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let mut fields = demo_lead("nobody@example.com", "");
    fields["company_size"] = json!("1-49");
    let lead = new_lead(&server, &token, &fields).await?;
    assert!(lead["owner_id"].is_null());
    let detail = routed(&lead);
    assert_eq!(detail["to"], "public_pool");
    assert!(
        detail["reason"]
            .as_str()
            .unwrap()
            .contains("nobody in team load can take it"),
        "{detail}"
    );
    Ok(())
}

async fn rules_place_leads_by_conditions_with_a_plugin_step_and_the_pool_last(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let people = reps(
        &server,
        &token,
        &["east@acme.example", "vip@acme.example", "north@acme.example"],
    )
    .await?;
    let (status, _) = send(
        &server,
        &token,
        Method::PATCH,
        &format!("/api/v1/users/{}", people["north@acme.example"].0),
        &json!({"regions": ["beijing"]}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    server
        .install_plugin(&token, "regions", "router", "region_router", json!({}))
        .await?;
    team(
        &server,
        &token,
        json!({"name": "east", "strategy": "round_robin", "members": [{"email": "east@acme.example"}]}),
    )
    .await?;
    rules(&server, &token, json!([
        {"id": "partners", "when": {"source": ["partner"]}, "assign": {"rep": "vip@acme.example"}},
        {"id": "big-east", "when": {"fields": {"province": {"one_of": ["zhejiang", "shanghai"]}, "company_size": {"one_of": ["200-999", "1000+"]}}},
         "assign": {"team": "east"}},
        {"id": "small-business", "when": {"fields": {"company_size": {"equals": "1-49"}}}, "assign": {"pool": true}},
        {"id": "by-region", "assign": {"plugin": "regions"}}
    ]))
    .await?;

    // The first matching rule decides.
    let big_east = new_lead(&server, &token, &demo_lead("big-east@example.com", "")).await?;
    assert_eq!(
        big_east["owner_id"].as_str(),
        Some(people["east@acme.example"].0.as_str())
    );
    assert_eq!(routed(&big_east)["rule"], "big-east");
    assert_eq!(routed(&big_east)["by"], "rules");

    let (status, body) = server
        .http
        .post(server.url("/f/acme/website-demo-request?source=partner"))
        .json(&demo_lead("partner@example.com", ""))
        .send()
        .await
        .map(|r| (r.status(), r))?;
    assert_eq!(status, StatusCode::CREATED);
    let id = body.json::<Value>().await?["id"].as_str().unwrap().to_owned();
    let partner = server.processed_lead(&token, &id).await?;
    assert_eq!(
        partner["owner_id"].as_str(),
        Some(people["vip@acme.example"].0.as_str())
    );

    let mut small = demo_lead("small@example.com", "");
    small["company_size"] = json!("1-49");
    let small = new_lead(&server, &token, &small).await?;
    assert!(small["owner_id"].is_null());
    assert_eq!(routed(&small)["rule"], "small-business");

    // The plugin step: beijing has a rep covering it; the plugin decides.
    let mut north = demo_lead("north@example.com", "");
    north["province"] = json!("beijing");
    north["company_size"] = json!("50-199");
    let north = new_lead(&server, &token, &north).await?;
    assert_eq!(
        north["owner_id"].as_str(),
        Some(people["north@acme.example"].0.as_str()),
        "{}",
        routed(&north)
    );
    assert_eq!(
        (routed(&north)["by"].as_str(), routed(&north)["rule"].as_str()),
        (Some("regions"), Some("by-region"))
    );

    // A rule naming a rep who is away is skipped, and the reason says so.
    let vip = &people["vip@acme.example"].0;
    send(
        &server,
        &token,
        Method::PATCH,
        &format!("/api/v1/users/{vip}"),
        &json!({"available": false}),
    )
    .await?;
    let (status, body) = server
        .http
        .post(server.url("/f/acme/website-demo-request?source=partner"))
        .json(&demo_lead("partner2@example.com", ""))
        .send()
        .await
        .map(|r| (r.status(), r))?;
    assert_eq!(status, StatusCode::CREATED);
    let id = body.json::<Value>().await?["id"].as_str().unwrap().to_owned();
    let skipped = server.processed_lead(&token, &id).await?;
    assert_eq!(routed(&skipped)["rule"], "big-east", "{}", routed(&skipped));
    Ok(())
}

async fn two_reps_claiming_one_lead_at_once_one_wins_and_limits_hold(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let people = reps(&server, &token, &["one@acme.example", "two@acme.example"]).await?;
    let (one, one_token) = people["one@acme.example"].clone();
    let (two, two_token) = people["two@acme.example"].clone();
    let mut ids = Vec::new();
    for i in 0..10 {
        let lead = new_lead(&server, &token, &demo_lead(&format!("pool{i}@example.com"), "")).await?;
        assert!(lead["owner_id"].is_null(), "no router: the pool");
        ids.push(lead["id"].as_str().unwrap().to_owned());
    }
    let (_, pool) = server.get_json(&one_token, "/api/v1/pool").await?;
    assert_eq!(pool["leads"].as_array().unwrap().len(), 10);

    // Both reps claim every lead at the same moment: each lead gets exactly
    // one owner, and every loser hears 409.
    let server = std::sync::Arc::new(server);
    let mut wins: HashMap<String, usize> = HashMap::new();
    for id in &ids {
        let claim = |rep_token: String| {
            let server = server.clone();
            let path = format!("/api/v1/leads/{id}/claim");
            async move { post(&server, &rep_token, &path, &json!({})).await }
        };
        let (a, b) = tokio::join!(claim(one_token.clone()), claim(two_token.clone()));
        let (a, b) = (a?, b?);
        let statuses = [a.0, b.0];
        assert!(
            statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT),
            "{a:?} {b:?}"
        );
        let winner = if a.0 == StatusCode::OK { &a.1 } else { &b.1 };
        let loser = if a.0 == StatusCode::OK { &b.1 } else { &a.1 };
        assert!(
            loser["detail"].as_str().unwrap().contains("another rep has claimed"),
            "{loser}"
        );
        *wins.entry(winner["owner_id"].as_str().unwrap().to_owned()).or_default() += 1;
        let lead = lead(&server, &token, id).await?;
        assert_eq!(lead["owner_id"], winner["owner_id"]);
        assert_eq!(events(&lead, "claimed").len(), 1);
    }
    assert_eq!(wins.values().sum::<usize>(), 10);
    let (_, pool) = server.get_json(&one_token, "/api/v1/pool").await?;
    assert!(pool["leads"].as_array().unwrap().is_empty());

    // A rep cannot release another's lead.
    let owned_by = |owner: String| {
        let server = server.clone();
        let token = token.clone();
        async move {
            let (_, page) = server
                .get_json(&token, &format!("/api/v1/leads?owner={owner}&limit=50"))
                .await?;
            anyhow::Ok(
                page["leads"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["id"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>(),
            )
        }
    };
    let (one_leads, two_leads) = (owned_by(one.clone()).await?, owned_by(two.clone()).await?);
    assert_eq!(one_leads.len() + two_leads.len(), 10);
    let (mine, theirs, my_token) = if one_leads.is_empty() {
        (&two_leads, &one_leads, &two_token)
    } else {
        (&one_leads, &two_leads, &one_token)
    };
    if let Some(theirs) = theirs.first() {
        let (status, _) = post(
            &server,
            my_token,
            &format!("/api/v1/leads/{theirs}/release"),
            &json!({}),
        )
        .await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "a rep does not see another rep's lead");
    }

    // Releasing bars the owner from claiming back; a new rep hits the daily limit.
    let (status, _) = put(
        &server,
        &token,
        "/api/v1/pool/settings",
        &json!({"claim_limit": 2, "bar_hours": 24}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(
        &server,
        my_token,
        &format!("/api/v1/leads/{}/release", mine[0]),
        &json!({"reason": "no answer"}),
    )
    .await?;
    assert_eq!((status, body["owner_id"].is_null()), (StatusCode::OK, true), "{body}");
    let (status, problem) = post(
        &server,
        my_token,
        &format!("/api/v1/leads/{}/claim", mine[0]),
        &json!({}),
    )
    .await?;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        problem["detail"].as_str().unwrap().contains("claim it back after"),
        "{problem}"
    );
    let all: Vec<&String> = one_leads
        .iter()
        .chain(two_leads.iter())
        .filter(|id| *id != &mine[0])
        .take(2)
        .collect();
    for id in &all {
        let (status, body) = post(&server, &token, &format!("/api/v1/leads/{id}/release"), &json!({})).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let three = reps(&server, &token, &["three@acme.example"]).await?;
    let (three_id, three_token) = &three["three@acme.example"];
    for (i, id) in [&mine[0], all[0], all[1]].into_iter().enumerate() {
        let (status, body) = post(&server, three_token, &format!("/api/v1/leads/{id}/claim"), &json!({})).await?;
        if i < 2 {
            assert_eq!(
                (status, body["owner_id"].as_str()),
                (StatusCode::OK, Some(three_id.as_str())),
                "{body}"
            );
        } else {
            assert_eq!(status, StatusCode::CONFLICT);
            assert!(body["detail"].as_str().unwrap().contains("the limit is 2"), "{body}");
        }
    }

    // Managers reassign by hand; reps do not.
    let (status, _) = post(
        &server,
        three_token,
        &format!("/api/v1/leads/{}/assign", all[1]),
        &json!({"rep": "three@acme.example"}),
    )
    .await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "reps do not reassign");
    let (status, lead) = post(
        &server,
        &token,
        &format!("/api/v1/leads/{}/assign", all[1]),
        &json!({"rep": "two@acme.example", "reason": "knows them"}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{lead}");
    assert_eq!(lead["owner_id"].as_str(), Some(two.as_str()));
    let lead = crate::scoring::lead(&server, &token, all[1]).await?;
    assert_eq!(events(&lead, "reassigned")[0]["detail"]["reason"], "knows them");
    Ok(())
}

async fn invalid_rules_and_teams_are_rejected_with_pointers(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    reps(&server, &token, &["r@acme.example"]).await?;
    let (status, problem) = post(&server, &token, "/api/v1/teams", &json!({"name": "t", "strategy": "lottery",
        "members": [{"email": "r@acme.example", "weight": -1}, {"email": "ghost@acme.example"}, {"email": "admin@acme.example"}]})).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        pointers(&problem),
        ["/strategy", "/members/0/weight", "/members/1/email", "/members/2/email"]
    );

    let (status, problem) = put(
        &server,
        &token,
        "/api/v1/routing/rules",
        &json!({"rules": [
            {"id": "a", "when": {"tier": ["scorching"]}, "assign": {"team": "nope"}},
            {"id": "b", "assign": {"rep": "ghost@acme.example"}},
            {"id": "c", "assign": {"plugin": "missing"}}
        ]}),
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/rules/0/when/tier"]);
    let (status, problem) = put(
        &server,
        &token,
        "/api/v1/routing/rules",
        &json!({"rules": [
            {"id": "a", "assign": {"team": "nope"}},
            {"id": "b", "assign": {"rep": "ghost@acme.example"}},
            {"id": "c", "assign": {"plugin": "missing"}},
            {"id": "d", "assign": {"pool": true, "team": "nope"}}
        ]}),
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/rules/3/assign"]);
    let (status, problem) = put(
        &server,
        &token,
        "/api/v1/routing/rules",
        &json!({"rules": [
            {"id": "a", "assign": {"team": "nope"}},
            {"id": "b", "assign": {"rep": "ghost@acme.example"}},
            {"id": "c", "assign": {"plugin": "missing"}}
        ]}),
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        pointers(&problem),
        ["/rules/0/assign/team", "/rules/1/assign/rep", "/rules/2/assign/plugin"]
    );
    let (_, current) = server.get_json(&token, "/api/v1/routing/rules").await?;
    assert_eq!(current["version"], 0, "nothing was stored");
    Ok(())
}

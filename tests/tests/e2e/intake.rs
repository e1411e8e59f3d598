//! Lead intake: validation, bad bodies, dedup, concurrency, context.

use leadhost_tests::{Backend, StatusCode, TestServer, on_both_backends, pointers};
use serde_json::{Value, json};

on_both_backends!(
    a_valid_lead_is_stored_with_its_context,
    an_invalid_lead_reports_every_bad_field,
    bad_bodies_get_clear_client_errors,
    a_duplicate_by_phone_in_another_format_is_merged,
    fifty_concurrent_identical_submissions_make_one_lead,
    an_idempotency_key_replays_without_a_second_touch,
    a_double_click_sent_at_once_is_one_lead_and_one_touch,
    the_api_route_takes_leads_with_a_token,
);

pub(crate) fn demo_lead(email: &str, phone: &str) -> Value {
    json!({
        "name": "李伟 Li Wei", "email": email, "phone": phone, "company": "华东制造 East China Mfg",
        "province": "zhejiang", "company_size": "200-999", "budget": "200k-1m",
        "authority": "decision_maker", "timeline": "this_quarter", "consent": true
    })
}

pub(crate) async fn demo_server(backend: Backend) -> anyhow::Result<(TestServer, String)> {
    let server = TestServer::start(backend).await?;
    let token = server.create_tenant("acme").await?;
    server
        .create_form_from_file(&token, "website-demo-request.json")
        .await?;
    Ok((server, token))
}

async fn a_valid_lead_is_stored_with_its_context(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let res = server
        .http
        .post(server.url("/f/acme/website-demo-request?utm_source=baidu&utm_medium=cpc&utm_campaign=q4"))
        .header("referer", "https://www.baidu.com/s?wd=crm")
        .json(&demo_lead("Li.Wei@Example.COM ", "138 0013 8000"))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await?;
    assert_eq!(created["duplicate_of"], Value::Null);
    let id = created["id"].as_str().unwrap();

    let (status, lead) = server.get_json(&token, &format!("/api/v1/leads/{id}")).await?;
    assert_eq!(status, StatusCode::OK, "{lead}");
    assert_eq!(lead["email"], "li.wei@example.com");
    assert_eq!(lead["phone"], "+8613800138000");
    assert_eq!(lead["form"], "website-demo-request");
    assert_eq!(lead["form_version"], 1);
    assert_eq!(lead["stage"], "new");
    assert_eq!(lead["fields"]["budget"], "200k-1m");
    let touch = &lead["touches"][0];
    assert_eq!(touch["channel"], "form_page");
    assert_eq!(touch["source"], "baidu");
    assert_eq!(touch["utm_medium"], "cpc");
    assert_eq!(touch["utm_campaign"], "q4");
    assert_eq!(touch["referrer"], "https://www.baidu.com/s?wd=crm");
    assert!(touch["created_at"].as_str().unwrap().ends_with('Z'));
    Ok(())
}

async fn an_invalid_lead_reports_every_bad_field(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let bad = json!({"email": "not-an-email", "budget": "a lot", "company_size": 12, "consent": false});
    let (status, problem) = server.submit("acme", "website-demo-request", &bad).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["status"], 422);
    let mut got = pointers(&problem);
    got.sort();
    got.dedup();
    assert_eq!(
        got,
        ["/budget", "/company", "/company_size", "/consent", "/email", "/name"],
        "{problem}"
    );
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["message"].as_str().unwrap().is_empty())
    );

    // A phone the schema accepts but that is no phone number is reported at its field.
    let (status, problem) = server
        .submit("acme", "website-demo-request", &demo_lead("a@b.cn", "12"))
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/phone"]);

    let (_, list) = server.get_json(&token, "/api/v1/leads").await?;
    assert_eq!(
        list["leads"].as_array().unwrap().len(),
        0,
        "nothing stored from invalid submissions"
    );
    Ok(())
}

async fn bad_bodies_get_clear_client_errors(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let url = server.url("/f/acme/website-demo-request");
    let post = |body: Vec<u8>, content_type: &'static str| {
        server
            .http
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let malformed = post(b"{\"name\": \"Li\", ".to_vec(), "application/json").await?;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(malformed.headers()["content-type"], "application/problem+json");
    let problem: Value = malformed.json().await?;
    assert!(
        problem["detail"].as_str().unwrap().contains("malformed JSON"),
        "{problem}"
    );

    let not_an_object = post(b"[1, 2]".to_vec(), "application/json").await?;
    assert_eq!(not_an_object.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let wrong_type = post(b"name=Li".to_vec(), "text/plain").await?;
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let mut huge = demo_lead("big@example.com", "13800138001");
    huge["need"] = Value::String("x".repeat(100 * 1024));
    let oversized = post(serde_json::to_vec(&huge)?, "application/json").await?;
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let problem: Value = oversized.json().await?;
    assert_eq!(problem["status"], 413);

    let (status, _) = server
        .submit("nobody", "website-demo-request", &demo_lead("a@b.cn", ""))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.submit("acme", "no-such-form", &demo_lead("a@b.cn", "")).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.submit("ACME!", "x", &demo_lead("a@b.cn", "")).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let disable = server
        .http
        .patch(server.url("/api/v1/forms/website-demo-request"))
        .bearer_auth(&token)
        .json(&json!({"enabled": false}))
        .send()
        .await?;
    assert_eq!(disable.status(), StatusCode::OK);
    let (status, problem) = server
        .submit("acme", "website-demo-request", &demo_lead("a@b.cn", ""))
        .await?;
    assert_eq!(status, StatusCode::GONE, "{problem}");

    // None of it hurt the server.
    assert_eq!(
        server.http.get(server.url("/healthz")).send().await?.status(),
        StatusCode::OK
    );
    Ok(())
}

async fn a_duplicate_by_phone_in_another_format_is_merged(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let first = demo_lead("li.wei@example.com", "13800138000");
    let (status, created) = server.submit("acme", "website-demo-request", &first).await?;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_owned();

    // Same person, another email, the phone typed the international way,
    // a different budget (must not overwrite) and a new answer (fills a gap).
    let mut second = demo_lead("wei.li@gmail.com", "+86 138-0013-8000");
    second["budget"] = json!("<50k");
    second["need"] = json!("Replace our spreadsheets");
    let (status, merged) = server.submit("acme", "website-demo-request", &second).await?;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(merged["id"], id.as_str());
    assert_eq!(merged["duplicate_of"], id.as_str());

    let (_, lead) = server.get_json(&token, &format!("/api/v1/leads/{id}")).await?;
    assert_eq!(lead["fields"]["budget"], "200k-1m", "existing answers are kept");
    assert_eq!(
        lead["fields"]["need"], "Replace our spreadsheets",
        "empty answers are filled"
    );
    assert_eq!(lead["email"], "li.wei@example.com");
    assert_eq!(lead["touches"].as_array().unwrap().len(), 2);

    // The new email now finds the same lead too.
    let (_, again) = server
        .submit("acme", "website-demo-request", &demo_lead("WEI.LI@gmail.com", ""))
        .await?;
    assert_eq!(again["duplicate_of"], id.as_str());

    // An identity owned by another lead is not moved; the touch says so.
    let (_, other) = server
        .submit(
            "acme",
            "website-demo-request",
            &demo_lead("other@example.com", "13900139000"),
        )
        .await?;
    let other_id = other["id"].as_str().unwrap();
    assert_eq!(other["duplicate_of"], Value::Null);
    let (_, crossed) = server
        .submit(
            "acme",
            "website-demo-request",
            &demo_lead("other@example.com", "13800138000"),
        )
        .await?;
    assert_eq!(crossed["id"], other_id, "email matches first");
    let (_, other_lead) = server.get_json(&token, &format!("/api/v1/leads/{other_id}")).await?;
    let note = other_lead["touches"][1]["note"].as_str().unwrap_or_default();
    assert!(note.contains(&id), "{other_lead}");

    let (_, list) = server.get_json(&token, "/api/v1/leads").await?;
    assert_eq!(list["leads"].as_array().unwrap().len(), 2);
    Ok(())
}

async fn fifty_concurrent_identical_submissions_make_one_lead(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let lead = demo_lead("rush@example.com", "13700137000");
    let attempts = (0..50).map(|_| server.submit("acme", "website-demo-request", &lead));
    let results = futures::future::join_all(attempts).await;
    let mut ids = std::collections::BTreeSet::new();
    let mut new_leads = 0;
    for result in results {
        let (status, body) = result?;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.insert(body["id"].as_str().unwrap().to_owned());
        if body["duplicate_of"].is_null() {
            new_leads += 1;
        }
    }
    assert_eq!(ids.len(), 1, "every caller points at the same lead");
    assert_eq!(new_leads, 1, "exactly one caller made it");
    let (_, list) = server.get_json(&token, "/api/v1/leads").await?;
    assert_eq!(list["leads"].as_array().unwrap().len(), 1);
    let id = ids.into_iter().next().unwrap();
    let (_, lead) = server.get_json(&token, &format!("/api/v1/leads/{id}")).await?;
    assert_eq!(
        lead["touches"].as_array().unwrap().len(),
        50,
        "every submission is a touch"
    );
    Ok(())
}

async fn an_idempotency_key_replays_without_a_second_touch(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let lead = demo_lead("double@example.com", "");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = server
            .http
            .post(server.url("/f/acme/website-demo-request"))
            .header("idempotency-key", "click-1")
            .json(&lead)
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await?;
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids[0], ids[1]);
    let (_, stored) = server.get_json(&token, &format!("/api/v1/leads/{}", ids[0])).await?;
    assert_eq!(stored["touches"].as_array().unwrap().len(), 1);
    Ok(())
}

/// The same submit, with one idempotency key, arriving many times at once
/// (a double click, a retrying client): the writes land in one write batch
/// on SQLite and in racing transactions on PostgreSQL.
async fn a_double_click_sent_at_once_is_one_lead_and_one_touch(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let lead = demo_lead("click@example.com", "13700137111");
    let clicks = (0..20).map(|_| {
        server
            .http
            .post(server.url("/f/acme/website-demo-request"))
            .header("idempotency-key", "submit-7")
            .json(&lead)
            .send()
    });
    let mut ids = std::collections::BTreeSet::new();
    for res in futures::future::join_all(clicks).await {
        let res = res?;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await?;
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "every click points at the same lead: {ids:?}");
    let id = ids.into_iter().next().unwrap();
    let (_, stored) = server.get_json(&token, &format!("/api/v1/leads/{id}")).await?;
    assert_eq!(stored["touches"].as_array().unwrap().len(), 1, "one touch: {stored}");
    let (_, list) = server.get_json(&token, "/api/v1/leads").await?;
    assert_eq!(list["leads"].as_array().unwrap().len(), 1);
    Ok(())
}

async fn the_api_route_takes_leads_with_a_token(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let url = server.url("/api/v1/forms/website-demo-request/leads?source=crm-sync");
    let unauthenticated = server
        .http
        .post(&url)
        .json(&demo_lead("api@example.com", ""))
        .send()
        .await?;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let res = server
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&demo_lead("api@example.com", ""))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await?;
    let (_, lead) = server
        .get_json(&token, &format!("/api/v1/leads/{}", body["id"].as_str().unwrap()))
        .await?;
    assert_eq!(lead["channel"], "api");
    assert_eq!(lead["source"], "crm-sync");
    let bad = server
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"email": 5}))
        .send()
        .await?;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    Ok(())
}

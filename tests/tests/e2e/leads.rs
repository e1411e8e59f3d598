//! Reading leads: filters and cursor pagination.

use leadhost_tests::{Backend, StatusCode, on_both_backends};
use serde_json::Value;

use crate::intake::{demo_lead, demo_server};

on_both_backends!(leads_filter_and_page_with_a_cursor);

async fn leads_filter_and_page_with_a_cursor(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    let mut ids = Vec::new();
    for (i, source) in ["wechat", "baidu", "wechat", "expo", "wechat"].iter().enumerate() {
        let mut lead = demo_lead(&format!("p{i}@example.com"), "");
        lead["company"] = Value::String(format!("Company {i} 公司"));
        let res = server
            .http
            .post(server.url(&format!("/f/acme/website-demo-request?utm_source={source}")))
            .json(&lead)
            .send()
            .await?;
        let body: Value = res.json().await?;
        ids.push(body["id"].as_str().unwrap().to_owned());
    }

    let mut seen = Vec::new();
    let mut path = "/api/v1/leads?limit=2".to_owned();
    loop {
        let (status, page) = server.get_json(&token, &path).await?;
        assert_eq!(status, StatusCode::OK, "{page}");
        let leads = page["leads"].as_array().unwrap();
        assert!(leads.len() <= 2);
        seen.extend(leads.iter().map(|l| l["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v1/leads?limit=2&after={next}"),
            None => break,
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first, "every lead once, newest first");

    // Paged in each order, two at a time: every lead once, in the order one
    // page of all of them gives (the cursor carries the order's keys).
    for sort in ["score", "tier", "follow_up_due"] {
        let (_, all) = server
            .get_json(&token, &format!("/api/v1/leads?sort={sort}&limit=50"))
            .await?;
        let whole: Vec<&str> = all["leads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap())
            .collect();
        let mut paged = Vec::new();
        let mut path = format!("/api/v1/leads?sort={sort}&limit=2");
        loop {
            let (status, page) = server.get_json(&token, &path).await?;
            assert_eq!(status, StatusCode::OK, "{page}");
            paged.extend(
                page["leads"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["id"].as_str().unwrap().to_owned()),
            );
            match page["next"].as_str() {
                Some(next) => path = format!("/api/v1/leads?sort={sort}&limit=2&after={next}"),
                None => break,
            }
        }
        assert_eq!(paged, whole, "sorted by {sort}");
    }

    let count = |v: &Value| v["leads"].as_array().unwrap().len();
    assert_eq!(
        count(&server.get_json(&token, "/api/v1/leads?source=wechat").await?.1),
        3
    );
    assert_eq!(
        count(&server.get_json(&token, "/api/v1/leads?q=company%203").await?.1),
        1
    );
    assert_eq!(
        count(&server.get_json(&token, "/api/v1/leads?q=P4%40EXAMPLE").await?.1),
        1
    );
    assert_eq!(
        count(&server.get_json(&token, "/api/v1/leads?q=%25").await?.1),
        0,
        "wildcards are literal"
    );
    assert_eq!(
        count(
            &server
                .get_json(&token, "/api/v1/leads?form=website-demo-request&stage=new")
                .await?
                .1
        ),
        5
    );
    assert_eq!(count(&server.get_json(&token, "/api/v1/leads?form=other").await?.1), 0);
    assert_eq!(
        count(
            &server
                .get_json(&token, "/api/v1/leads?created_from=2000-01-01T00:00:00Z")
                .await?
                .1
        ),
        5
    );
    assert_eq!(
        count(
            &server
                .get_json(&token, "/api/v1/leads?created_to=2000-01-01T00:00:00Z")
                .await?
                .1
        ),
        0
    );

    let (status, problem) = server
        .get_json(&token, "/api/v1/leads?created_from=yesterday&limit=0")
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut got = leadhost_tests::pointers(&problem);
    got.sort();
    assert_eq!(got, ["/created_from", "/limit"]);
    Ok(())
}

//! The generated form page, as a browser without JavaScript uses it.

use leadhost_tests::{Backend, StatusCode, on_both_backends};
use serde_json::Value;

use crate::intake::demo_server;

on_both_backends!(the_form_page_works_without_javascript);

async fn the_form_page_works_without_javascript(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    server
        .create_form_from_file(&token, "trade-show-badge-scan.json")
        .await?;
    let page_url = server.url("/f/acme/website-demo-request?utm_source=wechat&utm_campaign=spring");
    let page = server.http.get(&page_url).send().await?;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"].to_str()?.starts_with("text/html"));
    let html = page.text().await?;
    for needle in [
        "<form method=\"post\"",
        "name=\"email\"",
        "type=\"email\"",
        "name=\"budget\"",
        "<select",
        "type=\"radio\"",
        "type=\"checkbox\"",
        "<textarea",
        "for=\"f-company\">公司 ",
        "class=\"required\"",
        "name=\"_utm_source\" value=\"wechat\"",
        "name=\"_submission\"",
        "name=\"_rendered\"",
        "当「计划时间」为「本月」时必填",
    ] {
        assert!(html.contains(needle), "page lacks {needle:?}");
    }

    let post = |body: &'static str| {
        server
            .http
            .post(server.url("/f/acme/website-demo-request"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/html")
            .body(body)
            .send()
    };
    // Bad: no company, a broken email, no consent. Typed values come back.
    let bad =
        post("name=%E6%9D%8E%E4%BC%9F&email=li%40&company=&budget=50k-200k&need=Need+a+CRM&_utm_source=wechat").await?;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await?;
    assert!(
        html.contains("id=\"f-company-error\""),
        "company error beside its field"
    );
    assert!(html.contains("id=\"f-email-error\""), "email error beside its field");
    assert!(html.contains("id=\"f-consent-error\""));
    assert!(html.contains("value=\"李伟\""), "typed name kept");
    assert!(html.contains("value=\"li@\""), "typed email kept");
    assert!(
        html.contains("<option value=\"50k-200k\" selected>"),
        "chosen option kept"
    );
    assert!(html.contains("Need a CRM</textarea>"));
    assert!(
        html.contains("name=\"_utm_source\" value=\"wechat\""),
        "context survives the round trip"
    );

    let good = post("name=Li+Wei&email=li%40example.com&company=ACME&budget=50k-200k&consent=true&_utm_source=wechat&_submission=abc").await?;
    assert_eq!(good.status(), StatusCode::CREATED);
    assert!(good.text().await?.contains("谢谢！我们的顾问将在1个工作日内与您联系。"));
    let again = post("name=Li+Wei&email=li%40example.com&company=ACME&budget=50k-200k&consent=true&_utm_source=wechat&_submission=abc").await?;
    assert_eq!(again.status(), StatusCode::CREATED, "a double click is harmless");

    let (_, list) = server.get_json(&token, "/api/v1/leads").await?;
    let leads = list["leads"].as_array().unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["source"], "wechat");
    assert_eq!(leads[0]["channel"], "form_page");
    let (_, lead) = server
        .get_json(&token, &format!("/api/v1/leads/{}", leads[0]["id"].as_str().unwrap()))
        .await?;
    assert_eq!(
        lead["touches"].as_array().unwrap().len(),
        1,
        "the replayed post added no touch"
    );

    // Urlencoded values take the schema's types: integers and arrays.
    let scan = server
        .http
        .post(server.url("/f/acme/trade-show-badge-scan"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body("name=Chen&company=Logi&interest_level=4&products_of_interest=crm&products_of_interest=analytics&event=expo")
        .send()
        .await?;
    let status = scan.status();
    let body: Value = scan.json().await?;
    if status != StatusCode::CREATED {
        // The product values come from the form file; report them if they changed.
        panic!("badge scan rejected: {body}");
    }
    let (_, lead) = server
        .get_json(&token, &format!("/api/v1/leads/{}", body["id"].as_str().unwrap()))
        .await?;
    assert_eq!(lead["fields"]["interest_level"], 4);
    assert!(lead["fields"]["products_of_interest"].is_array());
    Ok(())
}

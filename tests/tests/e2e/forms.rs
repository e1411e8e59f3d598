//! Form design: checked at upload, versioned, old versions kept.

use leadhost_tests::{Backend, StatusCode, TestServer, on_both_backends, pointers};
use serde_json::{Value, json};

on_both_backends!(
    every_example_form_uploads_and_takes_a_lead,
    an_invalid_schema_is_pointed_at,
    each_update_publishes_an_immutable_version,
);

async fn every_example_form_uploads_and_takes_a_lead(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let token = server.create_tenant("expo").await?;
    let samples = [
        (
            "website-demo-request.json",
            json!({"name": "王芳", "email": "wf@example.cn", "company": "示例科技", "consent": true}),
        ),
        (
            "trade-show-badge-scan.json",
            json!({"name": "Chen Jie", "company": "Logistics Co", "interest_level": 4, "products_of_interest": []}),
        ),
        (
            "webinar-registration.json",
            json!({"name": "Ann", "email": "ann@example.com", "session": null}),
        ),
        (
            "partner-referral.json",
            json!({"partner_name": "P", "partner_email": "p@partner.com", "name": "Zhou", "company": "Z Co", "relationship": "existing_customer"}),
        ),
    ];
    for (file, sample) in samples {
        let form = server.create_form_from_file(&token, file).await?;
        let slug = form["slug"].as_str().unwrap().to_owned();
        assert_eq!(form["current_version"], 1);
        let page = server.http.get(server.url(&format!("/f/expo/{slug}"))).send().await?;
        assert_eq!(page.status(), StatusCode::OK, "{slug}");
        // The samples are deliberately incomplete: the errors must name fields.
        let (status, problem) = server.submit("expo", &slug, &sample).await?;
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert!(
                pointers(&problem).iter().all(|p| p.starts_with('/') && p.len() > 1),
                "{slug}: {problem}"
            );
        } else {
            assert_eq!(status, StatusCode::CREATED, "{slug}: {problem}");
        }
    }
    // The conditional: an existing customer needs a customer id.
    let referral = json!({"partner_name": "P", "partner_email": "p@partner.com", "name": "Zhou",
                          "company": "Z Co", "relationship": "existing_customer"});
    let (status, problem) = server.submit("expo", "partner-referral", &referral).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/customer_id"]);
    let mut with_id = referral.clone();
    with_id["customer_id"] = json!("C-1024");
    assert_eq!(
        server.submit("expo", "partner-referral", &with_id).await?.0,
        StatusCode::CREATED
    );
    Ok(())
}

async fn an_invalid_schema_is_pointed_at(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let token = server.create_tenant("acme").await?;
    let post = |body: Value| {
        server
            .http
            .post(server.url("/api/v1/forms"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };

    let bad_keyword = json!({"slug": "bad", "title": "Bad", "schema": {
        "type": "object", "properties": {"age": {"type": "strin"}, "name": {"type": "string", "minLength": -1}}}});
    let res = post(bad_keyword).await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await?;
    let got = pointers(&problem);
    assert!(
        got.iter().any(|p| p.starts_with("/schema/properties/age/type")),
        "{problem}"
    );
    assert!(
        got.iter().any(|p| p.starts_with("/schema/properties/name/minLength")),
        "{problem}"
    );

    let bad_ui = json!({"slug": "ui", "title": "UI", "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
                        "ui_schema": {"ui:order": ["a", "nope"], "a": {"ui:widget": "slider"}}});
    let problem: Value = post(bad_ui).await?.json().await?;
    let mut got = pointers(&problem);
    got.sort();
    assert_eq!(got, ["/ui_schema/a/ui:widget", "/ui_schema/ui:order/1"], "{problem}");

    let bad_slug = json!({"slug": "Not A Slug", "title": "x", "schema": {"type": "object", "properties": {"a": {}}}});
    assert_eq!(pointers(&post(bad_slug).await?.json().await?), ["/slug"]);

    let not_object = json!({"slug": "arr", "title": "x", "schema": {"type": "array"}});
    assert_eq!(pointers(&post(not_object).await?.json().await?), ["/schema"]);

    let wrong_shape = post(json!({"slug": "x", "title": 5, "schema": {}})).await?;
    assert_eq!(wrong_shape.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&wrong_shape.json().await?), ["/title"]);

    let (_, forms) = server.get_json(&token, "/api/v1/forms").await?;
    assert_eq!(forms["forms"].as_array().unwrap().len(), 0, "no bad form was stored");
    Ok(())
}

async fn each_update_publishes_an_immutable_version(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let token = server.create_tenant("acme").await?;
    let v1 = json!({"type": "object", "properties": {"email": {"type": "string", "format": "email"},
                    "size": {"type": "integer"}}, "required": ["email"]});
    let created = server
        .http
        .post(server.url("/api/v1/forms"))
        .bearer_auth(&token)
        .json(&json!({"slug": "contact", "title": "Contact", "schema": v1}))
        .send()
        .await?;
    assert_eq!(created.status(), StatusCode::CREATED);
    let (_, first) = server
        .submit("acme", "contact", &json!({"email": "a@example.com", "size": 5}))
        .await?;

    // Version 2 makes `size` a required string.
    let v2 = json!({"type": "object", "properties": {"email": {"type": "string", "format": "email"},
                    "size": {"type": "string", "enum": ["small", "large"]}}, "required": ["email", "size"]});
    let res = server
        .http
        .put(server.url("/api/v1/forms/contact"))
        .bearer_auth(&token)
        .json(&json!({"schema": v2}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let form: Value = res.json().await?;
    assert_eq!(form["current_version"], 2);

    let (status, _) = server
        .submit("acme", "contact", &json!({"email": "b@example.com", "size": 5}))
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the new version applies");
    let (status, second) = server
        .submit("acme", "contact", &json!({"email": "b@example.com", "size": "large"}))
        .await?;
    assert_eq!(status, StatusCode::CREATED);

    let (_, lead1) = server
        .get_json(&token, &format!("/api/v1/leads/{}", first["id"].as_str().unwrap()))
        .await?;
    let (_, lead2) = server
        .get_json(&token, &format!("/api/v1/leads/{}", second["id"].as_str().unwrap()))
        .await?;
    assert_eq!(lead1["form_version"], 1);
    assert_eq!(lead2["form_version"], 2);

    let (status, old) = server.get_json(&token, "/api/v1/forms/contact/versions/1").await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(old["schema"], v1, "version 1 is kept as published");
    let (_, current) = server.get_json(&token, "/api/v1/forms/contact").await?;
    assert_eq!(current["version"], 2);
    assert_eq!(current["schema"], v2);
    let (status, _) = server.get_json(&token, "/api/v1/forms/contact/versions/3").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let bad = server
        .http
        .put(server.url("/api/v1/forms/contact"))
        .bearer_auth(&token)
        .json(&json!({"schema": {"type": "object", "properties": {"a": {"type": 7}}}}))
        .send()
        .await?;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, still) = server.get_json(&token, "/api/v1/forms/contact").await?;
    assert_eq!(still["version"], 2, "a rejected update publishes nothing");
    Ok(())
}

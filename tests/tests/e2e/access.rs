//! Tenants, users, tokens and roles: the CLI and the API, isolation.

use leadhost_tests::{Backend, StatusCode, TestServer, on_both_backends};
use serde_json::{Value, json};

use crate::intake::{demo_lead, demo_server};

on_both_backends!(
    another_tenants_lead_is_not_found,
    roles_are_enforced_on_every_route,
    the_cli_manages_tenants_users_and_tokens,
);

async fn another_tenants_lead_is_not_found(backend: Backend) -> anyhow::Result<()> {
    let (server, token_a) = demo_server(backend).await?;
    let token_b = server.create_tenant("globex").await?;
    server
        .create_form_from_file(&token_b, "website-demo-request.json")
        .await?;
    let (_, created) = server
        .submit("acme", "website-demo-request", &demo_lead("a@acme.example", ""))
        .await?;
    let id = created["id"].as_str().unwrap();

    let (status, _) = server.get_json(&token_a, &format!("/api/v1/leads/{id}")).await?;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = server.get_json(&token_b, &format!("/api/v1/leads/{id}")).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    let (_, list_b) = server.get_json(&token_b, "/api/v1/leads").await?;
    assert!(list_b["leads"].as_array().unwrap().is_empty());

    // The same person submitting to tenant B is a new lead there, not a duplicate.
    let (_, in_b) = server
        .submit("globex", "website-demo-request", &demo_lead("a@acme.example", ""))
        .await?;
    assert_eq!(in_b["duplicate_of"], Value::Null);
    assert_ne!(in_b["id"], created["id"]);

    // Forms are per tenant too.
    let (status, _) = server.get_json(&token_b, "/api/v1/forms/website-demo-request").await?;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.get_json(&token_a, "/api/v1/forms/nope").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

pub(crate) async fn token_for(server: &TestServer, admin: &str, email: &str, role: &str) -> anyhow::Result<String> {
    let res = server
        .http
        .post(server.url("/api/v1/users"))
        .bearer_auth(admin)
        .json(&json!({"email": email, "role": role, "name": role}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await?);
    let res = server
        .http
        .post(server.url("/api/v1/tokens"))
        .bearer_auth(admin)
        .json(&json!({"user": email}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await?;
    Ok(body["token"].as_str().unwrap().to_owned())
}

async fn roles_are_enforced_on_every_route(backend: Backend) -> anyhow::Result<()> {
    let (server, admin) = demo_server(backend).await?;
    let rep = token_for(&server, &admin, "rep@acme.example", "rep").await?;
    let integrator = token_for(&server, &admin, "int@acme.example", "integrator").await?;
    let manager = token_for(&server, &admin, "mgr@acme.example", "manager").await?;

    let form =
        json!({"slug": "x", "title": "X", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}});
    let create_form = |token: String| {
        let form = form.clone();
        let req = server
            .http
            .post(server.url("/api/v1/forms"))
            .bearer_auth(token)
            .json(&form);
        async move { req.send().await.map(|r| r.status()) }
    };
    assert_eq!(create_form(rep.clone()).await?, StatusCode::FORBIDDEN);
    assert_eq!(create_form(manager.clone()).await?, StatusCode::FORBIDDEN);
    assert_eq!(create_form(admin.clone()).await?, StatusCode::CREATED);

    assert_eq!(server.get_json(&rep, "/api/v1/leads").await?.0, StatusCode::OK);
    assert_eq!(server.get_json(&manager, "/api/v1/leads").await?.0, StatusCode::OK);
    assert_eq!(
        server.get_json(&integrator, "/api/v1/leads").await?.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(server.get_json(&integrator, "/api/v1/forms").await?.0, StatusCode::OK);
    assert_eq!(server.get_json(&rep, "/api/v1/users").await?.0, StatusCode::FORBIDDEN);

    // Nobody but the operator makes tenants; the operator reads no leads.
    let new_tenant = server
        .http
        .post(server.url("/api/v1/tenants"))
        .bearer_auth(&admin)
        .json(&json!({"slug": "evil"}))
        .send()
        .await?;
    assert_eq!(new_tenant.status(), StatusCode::FORBIDDEN);
    let (status, _) = server.get_json(leadhost_tests::OPERATOR_TOKEN, "/api/v1/leads").await?;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let no_token = server.http.get(server.url("/api/v1/leads")).send().await?;
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(no_token.headers()["content-type"], "application/problem+json");
    assert_eq!(
        server.get_json("lh_forged", "/api/v1/leads").await?.0,
        StatusCode::UNAUTHORIZED
    );

    // A bad role or email is a 422 at the field.
    let res = server
        .http
        .post(server.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"email": "nope", "role": "king"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let mut got = leadhost_tests::pointers(&res.json().await?);
    got.sort();
    assert_eq!(got, ["/email", "/role"]);
    Ok(())
}

async fn the_cli_manages_tenants_users_and_tokens(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let out = server.cli(&[
        "tenant",
        "create",
        "initech",
        "--name",
        "Initech",
        "--admin-email",
        "boss@initech.example",
    ])?;
    let admin = out.lines().last().unwrap().trim().to_owned();
    assert!(admin.starts_with("lh_"), "{out}");
    let (status, me) = server.get_json(&admin, "/api/v1/me").await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "admin");

    server.cli(&[
        "user",
        "add",
        "--tenant",
        "initech",
        "--email",
        "Peter@Initech.example",
        "--role",
        "rep",
    ])?;
    let out = server.cli(&[
        "token",
        "create",
        "--tenant",
        "initech",
        "--user",
        "peter@initech.example",
    ])?;
    let rep = out.lines().last().unwrap().trim();
    let (_, me) = server.get_json(rep, "/api/v1/me").await?;
    assert_eq!(me["role"], "rep");

    assert!(
        server.cli(&["tenant", "create", "initech"]).is_err(),
        "slugs are unique"
    );
    assert!(
        server
            .cli(&[
                "user", "add", "--tenant", "initech", "--email", "x@y.z", "--role", "owner"
            ])
            .is_err()
    );
    let (_, users) = server.get_json(&admin, "/api/v1/users").await?;
    assert_eq!(users["users"].as_array().unwrap().len(), 2);
    Ok(())
}

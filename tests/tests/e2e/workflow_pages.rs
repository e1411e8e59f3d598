//! A workflow's page over HTTP, as a browser sends it: its definition as
//! JSON, published as the next version through the same checks as the
//! API's PUT (each problem at its pointer, the typed text kept), its
//! versions and steps; a new workflow made from a slug and a document.
//! Managers read, only admins publish, and every post needs its CSRF token.

use leadhost_tests::pages::PageVisitor;
use leadhost_tests::workspace::{ADMIN_EMAIL, PASSWORD, Workspace};
use leadhost_tests::{Backend, StatusCode, TestServer, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    admins_publish_a_new_version_from_the_workflows_page,
    admins_create_a_workflow_from_a_slug_and_a_document,
);

fn slow_drip(wait: &str) -> Value {
    json!({
        "name": "Slow drip",
        "trigger": {"on": "manual"},
        "steps": [
            {"id": "pause", "kind": "wait", "for": wait},
            {"id": "nudge", "kind": "create_task", "title": "Nudge", "due_in": "4h"}
        ]
    })
}

async fn current_version(server: &TestServer, ws: &Workspace, slug: &str) -> anyhow::Result<Value> {
    let (status, workflow) = server.get_json(&ws.admin, &format!("/api/v1/workflows/{slug}")).await?;
    anyhow::ensure!(status == StatusCode::OK, "{slug}: {status} {workflow}");
    Ok(workflow)
}

/// What the page's textarea holds, as HTML.
fn textarea(html: &str) -> &str {
    let start = html.find("<textarea").expect("a textarea");
    let start = start + html[start..].find('>').expect("the textarea's tag ends") + 1;
    let end = start + html[start..].find("</textarea>").expect("the textarea ends");
    &html[start..end]
}

async fn admins_publish_a_new_version_from_the_workflows_page(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let (status, body) = server
        .send_json(Method::PUT, &ws.admin, "/api/v1/workflows/slow-drip", &slow_drip("3d"))
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let mut admin = PageVisitor::new(&server);
    admin.log_in(ws.tenant, ADMIN_EMAIL, PASSWORD).await?;
    let list = admin.get("/app/admin/workflows").await?;
    assert!(
        list.html.contains("href=\"/app/admin/workflows/slow-drip\""),
        "the name links to the page: {}",
        list.html
    );
    assert!(list.html.contains("href=\"/app/admin/workflows/new\""), "{}", list.html);
    let page = admin.get("/app/admin/workflows/slow-drip").await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        textarea(&page.html).contains("&quot;for&quot;: &quot;3d&quot;"),
        "the current definition: {}",
        page.html
    );
    assert!(page.html.contains("id=\"version\">1<"), "{}", page.html);
    assert!(page.html.contains("data-version=\"1\""), "{}", page.html);
    assert!(page.html.contains("<td>1. pause</td>"), "the steps: {}", page.html);
    assert!(page.html.contains("value=\"paused\""), "a pause button: {}", page.html);
    let csrf = page.csrf().unwrap();

    // Broken documents: 422, each problem at its pointer, the text kept,
    // nothing published.
    type Case = (&'static str, fn(&mut Value), &'static str);
    let cases: [Case; 3] = [
        (
            "an unknown step kind",
            |w| w["steps"][1]["kind"] = json!("send_fax"),
            "/steps/1/kind",
        ),
        (
            "a branch to nowhere",
            |w| w["steps"][1] = json!({"id": "hot", "kind": "branch", "if": {"tier": ["hot"]}, "then": "nowhere"}),
            "/steps/1/then",
        ),
        (
            "a wait of minus one day",
            |w| w["steps"][0]["for"] = json!("-1d"),
            "/steps/0/for",
        ),
    ];
    for (what, spoil, pointer) in cases {
        let mut broken = slow_drip("3d");
        spoil(&mut broken);
        let typed = serde_json::to_string_pretty(&broken)?;
        let refused = admin
            .post(
                "/app/admin/workflows/slow-drip",
                &[("document", &typed), ("_csrf", &csrf)],
            )
            .await?;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            refused.html
        );
        assert!(
            refused.html.contains(&format!("data-pointer=\"{pointer}\"")),
            "{what}: {}",
            refused.html
        );
        assert_eq!(
            textarea(&refused.html),
            typed.replace('"', "&quot;"),
            "{what}: the typed text is kept"
        );
        assert!(refused.html.contains("aria-invalid=\"true\""), "{what}");
    }
    let garbled = admin
        .post(
            "/app/admin/workflows/slow-drip",
            &[("document", "{\"name\": "), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(garbled.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(garbled.html.contains("is not valid JSON (line 1"), "{}", garbled.html);
    assert_eq!(current_version(&server, &ws, "slow-drip").await?["current_version"], 1);

    // A longer wait and one more step: version 2, on the page and over the API.
    let mut changed = slow_drip("5d");
    changed["steps"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "handoff", "kind": "hand_to_sales"}));
    let published = admin
        .post(
            "/app/admin/workflows/slow-drip",
            &[("document", &changed.to_string()), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(published.status, StatusCode::SEE_OTHER, "{}", published.html);
    assert_eq!(published.location(), Some("/app/admin/workflows/slow-drip?published=2"));
    let page = admin.get("/app/admin/workflows/slow-drip?published=2").await?;
    assert!(page.html.contains("Version 2 is published"), "{}", page.html);
    assert!(page.html.contains("id=\"version\">2<"), "{}", page.html);
    assert!(
        page.html.contains("data-version=\"2\"") && page.html.contains("data-version=\"1\""),
        "both versions listed: {}",
        page.html
    );
    assert!(textarea(&page.html).contains("&quot;5d&quot;"), "{}", page.html);
    assert!(page.html.contains("<td>3. handoff</td>"), "{}", page.html);
    let workflow = current_version(&server, &ws, "slow-drip").await?;
    assert_eq!(workflow["current_version"], 2, "{workflow}");
    assert_eq!(workflow["definition"]["steps"][0]["for"], "5d");
    assert_eq!(
        workflow["definition"]["exit_when"]["unsubscribed"], true,
        "defaults filled in as by the API"
    );
    let (_, first) = server
        .get_json(&ws.admin, "/api/v1/workflows/slow-drip/versions/1")
        .await?;
    assert_eq!(first["definition"]["steps"][0]["for"], "3d", "version 1 stays");

    // Without the CSRF token: refused, nothing published.
    let forged = admin
        .post(
            "/app/admin/workflows/slow-drip",
            &[("document", &slow_drip("7d").to_string())],
        )
        .await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(current_version(&server, &ws, "slow-drip").await?["current_version"], 2);

    // A manager reads the page, with no editor, and may not publish.
    let mut manager = PageVisitor::new(&server);
    manager
        .log_in(ws.tenant, &ws.person("manager_a").email, PASSWORD)
        .await?;
    let read = manager.get("/app/admin/workflows/slow-drip").await?;
    assert_eq!(read.status, StatusCode::OK, "{}", read.html);
    assert!(textarea(&read.html).contains("&quot;5d&quot;"));
    assert!(read.html.contains("readonly"), "{}", read.html);
    assert!(
        !read.html.contains("action=\"/app/admin/workflows/slow-drip\""),
        "no editor form for a manager: {}",
        read.html
    );
    assert!(!read.html.contains("/status\""), "no status buttons for a manager");
    let refused = manager
        .post(
            "/app/admin/workflows/slow-drip",
            &[
                ("document", &slow_drip("7d").to_string()),
                ("_csrf", &read.csrf().unwrap()),
            ],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(current_version(&server, &ws, "slow-drip").await?["current_version"], 2);
    let list = manager.get("/app/admin/workflows").await?;
    assert!(
        !list.html.contains("/app/admin/workflows/new"),
        "no new workflow for a manager"
    );

    let mut rep = PageVisitor::new(&server);
    rep.log_in(ws.tenant, &ws.person("rep_a").email, PASSWORD).await?;
    assert_eq!(
        rep.get("/app/admin/workflows/slow-drip").await?.status,
        StatusCode::FORBIDDEN
    );

    // The status buttons on the page come back to it; an archived workflow
    // is read only.
    let archived = admin
        .post(
            "/app/admin/workflows/slow-drip/status",
            &[("status", "archived"), ("back", "page"), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(
        archived.location(),
        Some("/app/admin/workflows/slow-drip?done=archived")
    );
    let page = admin.get("/app/admin/workflows/slow-drip?done=archived").await?;
    assert!(page.html.contains("readonly"), "{}", page.html);

    // A workflow that does not exist is not made by its page's post.
    assert_eq!(
        admin.get("/app/admin/workflows/nothing").await?.status,
        StatusCode::NOT_FOUND
    );
    let nowhere = admin
        .post(
            "/app/admin/workflows/nothing",
            &[("document", &slow_drip("3d").to_string()), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    let (status, _) = server.get_json(&ws.admin, "/api/v1/workflows/nothing").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

async fn admins_create_a_workflow_from_a_slug_and_a_document(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let mut admin = PageVisitor::new(&server);
    admin.log_in(ws.tenant, ADMIN_EMAIL, PASSWORD).await?;
    let form = admin.get("/app/admin/workflows/new").await?;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(form.html.contains("name=\"slug\""), "{}", form.html);
    assert!(textarea(&form.html).contains("&quot;trigger&quot;"), "a starting point");
    let csrf = form.csrf().unwrap();
    let document = slow_drip("2d").to_string();

    let bad_slug = admin
        .post(
            "/app/admin/workflows/new",
            &[("slug", "Slow Drip"), ("document", &document), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(bad_slug.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_slug.html.contains("id=\"slug-problem\""), "{}", bad_slug.html);
    assert!(bad_slug.html.contains("value=\"Slow Drip\""), "the slug typed stays");

    let mut nameless = slow_drip("2d");
    nameless["name"] = json!("");
    let refused = admin
        .post(
            "/app/admin/workflows/new",
            &[
                ("slug", "slow-drip"),
                ("document", &nameless.to_string()),
                ("_csrf", &csrf),
            ],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("data-pointer=\"/name\""), "{}", refused.html);
    let (status, _) = server.get_json(&ws.admin, "/api/v1/workflows/slow-drip").await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing made");

    let created = admin
        .post(
            "/app/admin/workflows/new",
            &[("slug", "slow-drip"), ("document", &document), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    assert_eq!(created.location(), Some("/app/admin/workflows/slow-drip?published=1"));
    let workflow = current_version(&server, &ws, "slow-drip").await?;
    assert_eq!(
        (workflow["current_version"].as_i64(), workflow["status"].as_str()),
        (Some(1), Some("active")),
        "{workflow}"
    );

    // A slug in use is refused, not published over.
    let again = admin
        .post(
            "/app/admin/workflows/new",
            &[("slug", "slow-drip"), ("document", &document), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.html.contains("already in use"), "{}", again.html);
    assert_eq!(current_version(&server, &ws, "slow-drip").await?["current_version"], 1);

    let mut manager = PageVisitor::new(&server);
    manager
        .log_in(ws.tenant, &ws.person("manager_a").email, PASSWORD)
        .await?;
    assert_eq!(
        manager.get("/app/admin/workflows/new").await?.status,
        StatusCode::FORBIDDEN
    );
    Ok(())
}

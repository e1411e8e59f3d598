//! The dashboard page over HTTP, as a browser sends it: the figures the API
//! gives, in the viewer's scope, the query's problems at their pointers, and
//! each view as CSV for a session (the figures themselves are checked in
//! tests/tests/e2e/dashboard.rs).

use leadhost_tests::pages::PageVisitor;
use leadhost_tests::workspace::{ADMIN_EMAIL, PASSWORD, Workspace};
use leadhost_tests::{Backend, StatusCode, TestServer, on_both_backends};

on_both_backends!(the_dashboard_page_shows_the_apis_figures_in_scope_and_exports_csv);

async fn the_dashboard_page_shows_the_apis_figures_in_scope_and_exports_csv(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let (status, api) = server.get_json(&ws.admin, "/api/v1/dashboard").await?;
    assert_eq!(status, StatusCode::OK, "{api}");
    let total = api["total"].as_i64().unwrap();
    assert_eq!(total, 3, "the workspace's three leads: {api}");

    let mut admin = PageVisitor::new(&server);
    admin.log_in(ws.tenant, ADMIN_EMAIL, PASSWORD).await?;
    let page = admin.get("/app/dashboard").await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html.contains("<svg class=\"bars\""),
        "the funnel drawn: {}",
        page.html
    );
    assert!(
        page.html
            .contains(&format!("<tr data-key=\"leads\"><td>Leads</td><td>{total}</td></tr>")),
        "{}",
        page.html
    );

    // A manager sees their team's (rep_a's lead), and may not ask for another team.
    let (_, east) = server
        .get_json(&ws.person("manager_a").token, "/api/v1/dashboard")
        .await?;
    let mut manager = PageVisitor::new(&server);
    manager
        .log_in(ws.tenant, &ws.person("manager_a").email, PASSWORD)
        .await?;
    let page = manager.get("/app/dashboard").await?;
    assert!(
        page.html.contains(&format!(
            "<tr data-key=\"leads\"><td>Leads</td><td>{}</td></tr>",
            east["total"]
        )),
        "{}",
        page.html
    );
    assert!(!page.html.contains("value=\"west\""), "only their teams to choose from");
    assert_eq!(
        manager.get("/app/dashboard?team=west").await?.status,
        StatusCode::FORBIDDEN
    );
    let mut rep = PageVisitor::new(&server);
    rep.log_in(ws.tenant, &ws.person("rep_a").email, PASSWORD).await?;
    assert_eq!(rep.get("/app/dashboard").await?.status, StatusCode::FORBIDDEN);

    // A bad range: each problem at its pointer, the form kept.
    let bad = admin.get("/app/dashboard?from=2026-13-01&to=yesterday").await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("data-pointer=\"/from\""), "{}", bad.html);
    assert!(bad.html.contains("data-pointer=\"/to\""), "{}", bad.html);
    assert!(bad.html.contains("id=\"dashboard-filters\""));

    // The funnel as CSV, the same rows as the API's.
    let csv = admin.get("/app/dashboard/funnel.csv").await?;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let first = csv.html.lines().nth(1).unwrap_or_default();
    assert_eq!(first, format!("new,{total},,"), "{}", csv.html);
    assert_eq!(
        admin.get("/app/dashboard/nothing.csv").await?.status,
        StatusCode::NOT_FOUND
    );
    Ok(())
}

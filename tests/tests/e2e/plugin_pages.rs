//! Uploading a plugin from the plugins page, as a browser sends the form
//! (multipart, `_csrf` its first part): a real example component admitted
//! and stored as over the API, a new version under the same name, each
//! refused upload a 422 page with the API's own message, the gate's CSRF
//! check on a multipart body, its size limit, and the roles that may upload.

use leadhost::plugins::upload::UPLOAD_LIMIT;
use leadhost_tests::pages::{PageAnswer, PageVisitor};
use leadhost_tests::workspace::{ADMIN_EMAIL, PASSWORD, Workspace};
use leadhost_tests::{Backend, StatusCode, TestServer, on_both_backends, plugin_wasm};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

on_both_backends!(
    admins_and_integrators_upload_a_component_and_its_next_version,
    refused_uploads_are_shown_with_the_apis_message,
    the_gate_refuses_uploads_without_their_token_or_where_none_is_taken,
);

const PLUGINS: &str = "/app/admin/plugins";

/// One part of a multipart form, in the order a browser sends them: a text
/// input (name, value), or the component file (file name, bytes).
enum Field {
    Text(&'static str, String),
    File(&'static str, Vec<u8>),
}

fn text(name: &'static str, value: &str) -> Field {
    Field::Text(name, value.to_owned())
}

/// Posts `fields` as a multipart form with the visitor's session cookie.
async fn post_multipart(
    server: &TestServer,
    visitor: &PageVisitor<'_>,
    path: &str,
    fields: Vec<Field>,
) -> anyhow::Result<PageAnswer> {
    let mut form = Form::new();
    for field in fields {
        form = match field {
            Field::Text(name, value) => form.text(name, value),
            Field::File(file_name, bytes) => form.part(
                "component",
                Part::bytes(bytes).file_name(file_name).mime_str("application/wasm")?,
            ),
        };
    }
    let session = visitor.cookie("lh_session").unwrap_or_default();
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .post(server.url(path))
        .header("cookie", format!("lh_session={session}"))
        .header("accept-language", "en")
        .multipart(form)
        .send()
        .await?;
    Ok(PageAnswer {
        status: response.status(),
        headers: response.headers().clone(),
        html: response.text().await?,
    })
}

/// The upload form as the page lays it out: `_csrf`, the file, the name,
/// the world, and `enabled` when ticked.
fn upload_form(
    csrf: &str,
    (file_name, bytes): (&'static str, Vec<u8>),
    name: &str,
    world: &str,
    enabled: bool,
) -> Vec<Field> {
    let mut fields = vec![
        text("_csrf", csrf),
        Field::File(file_name, bytes),
        text("name", name),
        text("world", world),
    ];
    if enabled {
        fields.push(text("enabled", "true"));
    }
    fields
}

fn component(name: &str) -> anyhow::Result<(&'static str, Vec<u8>)> {
    Ok(("plugin.wasm", std::fs::read(plugin_wasm(name))?))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

async fn plugins(server: &TestServer, ws: &Workspace) -> anyhow::Result<Vec<Value>> {
    let (status, list) = server.get_json(&ws.admin, "/api/v1/plugins").await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {list}");
    Ok(list["plugins"].as_array().cloned().unwrap_or_default())
}

async fn signed_in<'s>(server: &'s TestServer, tenant: &str, email: &str) -> anyhow::Result<PageVisitor<'s>> {
    let mut visitor = PageVisitor::new(server);
    let login = visitor.log_in(tenant, email, PASSWORD).await?;
    anyhow::ensure!(login.status == StatusCode::SEE_OTHER, "{email}: {}", login.status);
    Ok(visitor)
}

async fn admins_and_integrators_upload_a_component_and_its_next_version(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let mut admin = signed_in(&server, ws.tenant, ADMIN_EMAIL).await?;
    let page = admin.get(PLUGINS).await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let form = section_after(&page.html, "id=\"upload\"");
    assert!(form.contains("enctype=\"multipart/form-data\""), "{form}");
    let first_input = &form[form.find("<input").unwrap()..];
    assert!(
        first_input.starts_with("<input type=\"hidden\" name=\"_csrf\""),
        "{form}"
    );
    let csrf = page.csrf().unwrap();

    let bant = component("bant_scorer")?;
    let bant_sha = sha256_hex(&bant.1);
    let uploaded = post_multipart(
        &server,
        &admin,
        PLUGINS,
        upload_form(&csrf, bant, "bant", "scorer", true),
    )
    .await?;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.html);
    assert_eq!(uploaded.location(), Some("/app/admin/plugins?done=uploaded"));
    let page = admin.get("/app/admin/plugins?done=uploaded").await?;
    assert!(page.html.contains("The plugin is uploaded."), "{}", page.html);
    let row = section_after(&page.html, "data-name=\"bant\"");
    assert!(row.contains("scorer") && row.contains("ready · on"), "{row}");
    let listed = plugins(&server, &ws).await?;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["name"], "bant");
    assert_eq!(listed[0]["world"], "scorer");
    assert_eq!(listed[0]["enabled"], true);
    assert_eq!(listed[0]["sha256"], bant_sha.as_str());

    // It runs as one uploaded over the API does.
    let lead = json!({
        "name": "周敏", "email": "zhou.min@example.cn", "company": "华南电子", "province": "zhejiang",
        "company_size": "200-999", "budget": "200k-1m", "authority": "decision_maker",
        "timeline": "this_quarter", "consent": true, "need": "CRM for 20 reps"
    });
    let (status, created) = server.submit(ws.tenant, "website-demo-request", &lead).await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let lead = server
        .processed_lead(&ws.admin, created["id"].as_str().unwrap())
        .await?;
    let parts = lead["score_parts"].as_array().cloned().unwrap_or_default();
    assert!(parts.iter().any(|p| p["source"] == "bant"), "{lead}");

    // An integrator publishes the next version under the same name, left
    // off: the plugin is replaced, not doubled.
    let (status, body) = server
        .send_json(
            Method::POST,
            &ws.admin,
            "/api/v1/users",
            &json!({"email": "dev@acme.example", "role": "integrator", "password": PASSWORD}),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut integrator = signed_in(&server, ws.tenant, "dev@acme.example").await?;
    let csrf = integrator.get(PLUGINS).await?.csrf().unwrap();
    let profile = component("profile_scorer")?;
    let profile_sha = sha256_hex(&profile.1);
    let replaced = post_multipart(
        &server,
        &integrator,
        PLUGINS,
        upload_form(&csrf, profile, "bant", "scorer", false),
    )
    .await?;
    assert_eq!(replaced.status, StatusCode::SEE_OTHER, "{}", replaced.html);
    let listed = plugins(&server, &ws).await?;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["sha256"], profile_sha.as_str());
    assert_eq!(listed[0]["enabled"], false, "{}", listed[0]);
    let page = admin.get(PLUGINS).await?;
    assert!(
        section_after(&page.html, "data-name=\"bant\"").contains("ready · off"),
        "{}",
        page.html
    );
    Ok(())
}

async fn refused_uploads_are_shown_with_the_apis_message(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let mut admin = signed_in(&server, ws.tenant, ADMIN_EMAIL).await?;
    let csrf = admin.get(PLUGINS).await?.csrf().unwrap();
    // Borrowed once, for each upload's future.
    let (server, admin) = (&server, &admin);
    let upload = |file: (&'static str, Vec<u8>), name: &str, world: &str| {
        let fields = upload_form(&csrf, file, name, world, true);
        async move { post_multipart(server, admin, PLUGINS, fields).await }
    };
    let problems_of = |answer: &PageAnswer| -> String {
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", answer.html);
        section_after(&answer.html, "id=\"upload\"").to_owned()
    };

    // Not WebAssembly, and larger than axum's default body limit (2 MiB):
    // read whole, refused with the API's own message.
    let mut junk = b"MZ\x90\0 not wasm at all".to_vec();
    junk.resize(3 << 20, b'.');
    let (_, api) = server
        .upload_plugin(&ws.admin, "junk", "scorer", &junk, json!({}))
        .await?;
    let api_message = api["errors"][0]["message"].as_str().unwrap().to_owned();
    assert_eq!(api_message, "the file is not WebAssembly", "{api}");
    let refused = problems_of(&upload(("junk.wasm", junk), "junk", "scorer").await?);
    assert!(refused.contains(&format!("/component {api_message}")), "{refused}");
    assert!(refused.contains("value=\"junk\""), "the name is kept: {refused}");

    let core_module = b"\0asm\x01\0\0\0".to_vec();
    let refused = problems_of(&upload(("core.wasm", core_module), "core", "scorer").await?);
    assert!(
        refused.contains("core WebAssembly module, not a component"),
        "{refused}"
    );

    // A router sent as a scorer: refused at the world, as the API does.
    let refused = problems_of(&upload(component("region_router")?, "regions", "scorer").await?);
    assert!(refused.contains("/world the component is not a scorer"), "{refused}");

    let refused = problems_of(&upload(component("bant_scorer")?, "Bad Name", "scorer").await?);
    assert!(refused.contains("is not a valid plugin name slug"), "{refused}");
    let refused = problems_of(&upload(component("bant_scorer")?, "", "scorer").await?);
    assert!(refused.contains("/name is required"), "{refused}");
    let refused = problems_of(&upload(component("bant_scorer")?, "bant", "oracle").await?);
    assert!(refused.contains("is not a plugin world"), "{refused}");
    let refused = problems_of(&upload(("", Vec::new()), "bant", "scorer").await?);
    assert!(refused.contains("/component is required"), "{refused}");

    assert!(plugins(server, &ws).await?.is_empty(), "nothing stored");
    // And the server goes on: the next good upload is taken.
    let uploaded = upload(component("bant_scorer")?, "bant", "scorer").await?;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.html);
    assert_eq!(plugins(server, &ws).await?.len(), 1);
    Ok(())
}

async fn the_gate_refuses_uploads_without_their_token_or_where_none_is_taken(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let mut admin = signed_in(&server, ws.tenant, ADMIN_EMAIL).await?;
    let csrf = admin.get(PLUGINS).await?.csrf().unwrap();
    let bant = || component("bant_scorer").map(|(file, bytes)| Field::File(file, bytes));

    let missing = post_multipart(
        &server,
        &admin,
        PLUGINS,
        vec![bant()?, text("name", "bant"), text("world", "scorer")],
    )
    .await?;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "no token: {}", missing.html);
    let wrong = post_multipart(
        &server,
        &admin,
        PLUGINS,
        vec![
            text("_csrf", "not-the-token"),
            bant()?,
            text("name", "bant"),
            text("world", "scorer"),
        ],
    )
    .await?;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "a wrong token: {}", wrong.html);
    // The token must be the first part, as the page's form sends it.
    let late = post_multipart(
        &server,
        &admin,
        PLUGINS,
        vec![
            bant()?,
            text("name", "bant"),
            text("world", "scorer"),
            text("_csrf", &csrf),
        ],
    )
    .await?;
    assert_eq!(
        late.status,
        StatusCode::FORBIDDEN,
        "the token after the file: {}",
        late.html
    );
    assert!(plugins(&server, &ws).await?.is_empty(), "nothing stored");

    // More than the API takes for a plugin: 413 before anything is parsed.
    let mut huge = vec![0u8; UPLOAD_LIMIT + 1];
    huge[..8].copy_from_slice(b"\0asm\x0d\0\x01\0");
    let too_large = post_multipart(
        &server,
        &admin,
        PLUGINS,
        upload_form(&csrf, ("huge.wasm", huge), "huge", "scorer", true),
    )
    .await?;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", too_large.html);
    assert!(too_large.html.contains("over the size limit"), "{}", too_large.html);

    // A multipart body where no file is taken, even with its token.
    let elsewhere = post_multipart(
        &server,
        &admin,
        "/app/account/preferences",
        vec![text("_csrf", &csrf), text("language", "en")],
    )
    .await?;
    assert_eq!(
        elsewhere.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        elsewhere.html
    );
    assert!(
        elsewhere.html.contains("does not take file uploads"),
        "{}",
        elsewhere.html
    );

    // A rep may not upload (nor see the page), token or not.
    let mut rep = signed_in(&server, ws.tenant, &ws.person("rep_a").email).await?;
    let rep_csrf = rep.get("/app/agenda").await?.csrf().unwrap();
    assert_eq!(rep.get(PLUGINS).await?.status, StatusCode::FORBIDDEN);
    let refused = post_multipart(
        &server,
        &rep,
        PLUGINS,
        upload_form(&rep_csrf, component("bant_scorer")?, "bant", "scorer", true),
    )
    .await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    assert!(plugins(&server, &ws).await?.is_empty(), "nothing stored");

    // After all that the server still answers, and the admin's upload works.
    let page = admin.get(PLUGINS).await?;
    assert_eq!(page.status, StatusCode::OK);
    let uploaded = post_multipart(
        &server,
        &admin,
        PLUGINS,
        upload_form(&csrf, component("bant_scorer")?, "bant", "scorer", true),
    )
    .await?;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.html);
    assert_eq!(plugins(&server, &ws).await?.len(), 1);
    Ok(())
}

/// The page's HTML from the element carrying `marker` to the end of its
/// `section` or `table`.
fn section_after<'a>(html: &'a str, marker: &str) -> &'a str {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} is not in the page: {html}"));
    let rest = &html[start..];
    let end = ["</section>", "</table>"]
        .iter()
        .filter_map(|close| rest.find(close))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

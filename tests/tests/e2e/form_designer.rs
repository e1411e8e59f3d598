//! The form designer over HTTP, as a browser without JavaScript sends it
//! (tests/tests/browser/designer.rs drives it with the live preview): add
//! a field, set its options, see the preview (the public page's renderer)
//! change, fix a problem shown at its pointer, publish, and see the public
//! page and the version list change.

use leadhost_tests::pages::{PageAnswer, PageVisitor, hidden_value, unescape};
use leadhost_tests::workspace::{ADMIN_EMAIL, PASSWORD, Workspace};
use leadhost_tests::{Backend, StatusCode, TestServer, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    admins_design_a_field_preview_it_and_publish_a_version,
    the_json_view_shows_problems_at_their_pointers_and_only_admins_design,
);

const DESIGNER: &str = "/app/admin/forms/website-demo-request";

/// The draft the designer page carries, as JSON.
fn draft_of(page: &PageAnswer) -> Value {
    let raw = hidden_value(&page.html, "draft").expect("the designer carries its draft");
    serde_json::from_str(&unescape(&raw)).expect("the draft is JSON")
}

/// The preview frame's document (its `srcdoc`).
fn preview_of(page: &PageAnswer) -> String {
    let at = page.html.find("srcdoc=\"").expect("a preview frame") + 8;
    unescape(page.html[at..].split('"').next().unwrap_or(""))
}

/// Which `f{i}` the designer gave a field.
fn index_of(page: &PageAnswer, field: &str) -> usize {
    (0..)
        .take_while(|i| page.html.contains(&format!("name=\"f{i}.name\"")))
        .find(|i| page.html.contains(&format!("name=\"f{i}.name\" value=\"{field}\"")))
        .unwrap_or_else(|| panic!("no field {field} in the designer"))
}

async fn admins_design_a_field_preview_it_and_publish_a_version(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let mut admin = PageVisitor::new(&server);
    admin.log_in(ws.tenant, ADMIN_EMAIL, PASSWORD).await?;

    let list = admin.get("/app/admin/forms").await?;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    assert!(list.html.contains(&format!("href=\"{DESIGNER}\"")), "{}", list.html);

    let designer = admin.get(DESIGNER).await?;
    assert_eq!(designer.status, StatusCode::OK, "{}", designer.html);
    let csrf = designer.csrf().unwrap();
    assert!(
        preview_of(&designer).contains("name=\"company\""),
        "the preview is the form page"
    );
    assert!(!preview_of(&designer).contains("Annual budget"));
    let v1_leads = ws.leads.len().to_string();
    assert!(
        designer.html.contains("data-version=\"1\"")
            && designer.html.contains(&format!("<td class=\"leads\">{v1_leads}</td>")),
        "version 1 with the workspace's {v1_leads} leads: {}",
        designer.html
    );

    // A bad name is refused at the new field's inputs; nothing else moves.
    let draft = draft_of(&designer).to_string();
    let refused = admin
        .post(
            DESIGNER,
            &[
                ("_csrf", &csrf),
                ("draft", &draft),
                ("action", "add"),
                ("new_name", "Annual Budget!"),
                ("new_type", "select"),
            ],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("data-pointer=\"/new_field\""), "{}", refused.html);

    // Add a choice field with its labels: it is in the editor and the preview.
    let added = admin
        .post(
            DESIGNER,
            &[
                ("_csrf", &csrf),
                ("draft", &draft),
                ("action", "add"),
                ("new_name", "annual_budget"),
                ("new_type", "select"),
                ("new_label_zh", "年度预算"),
                ("new_label_en", "Annual budget"),
                ("preview_lang", "en"),
            ],
        )
        .await?;
    assert_eq!(added.status, StatusCode::OK, "{}", added.html);
    assert!(added.html.contains("id=\"field-annual_budget\""));
    assert!(preview_of(&added).contains("Annual budget"), "{}", preview_of(&added));
    let i = index_of(&added, "annual_budget");
    let draft = draft_of(&added);
    assert_eq!(
        draft["schema"]["properties"]["annual_budget"]["enum"],
        json!(["option_1"])
    );
    assert!(
        draft["schema"]["properties"]["company"]["description"].is_string(),
        "what the designer does not show is kept"
    );
    let draft = draft.to_string();

    // Its options and required, as the live preview posts them.
    let name = format!("f{i}.name");
    let kind = format!("f{i}.type");
    let label_en = format!("f{i}.label_en");
    let options = format!("f{i}.options");
    let required = format!("f{i}.required");
    let fields = |options_text: &'static str| -> Vec<(String, String)> {
        [
            ("_csrf", csrf.as_str()),
            ("draft", draft.as_str()),
            (name.as_str(), "annual_budget"),
            (kind.as_str(), "select"),
            (label_en.as_str(), "Annual budget"),
            (options.as_str(), options_text),
            (required.as_str(), "1"),
            ("preview_lang", "en"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    };
    let good = fields("small | 十万以下 | Under 100k\nlarge | 十万以上 | 100k or more");
    let pairs: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let preview = admin.post(&format!("{DESIGNER}/preview"), &pairs).await?;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.html);
    assert!(preview.html.contains("100k or more"), "{}", preview.html);
    assert!(
        preview.html.contains("<select"),
        "a select, as the public page shows it"
    );

    // An option listed twice: the preview and the designer say where.
    let twice = fields("small\nsmall");
    let pairs: Vec<(&str, &str)> = twice.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let problem = admin.post(&format!("{DESIGNER}/preview"), &pairs).await?;
    assert_eq!(problem.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem.html.contains("/schema/properties/annual_budget/enum/1"),
        "{}",
        problem.html
    );
    let mut publish_twice = pairs.clone();
    publish_twice.push(("action", "publish"));
    let not_published = admin.post(DESIGNER, &publish_twice).await?;
    assert_eq!(not_published.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        not_published
            .html
            .contains("data-pointer=\"/schema/properties/annual_budget/enum/1\""),
        "{}",
        not_published.html
    );
    let (_, form) = server.get_json(&ws.admin, "/api/v1/forms/website-demo-request").await?;
    assert_eq!(form["form"]["current_version"], 1, "nothing published: {form}");

    // Publish: version 2 is what the public page shows and takes.
    let mut publish = good.clone();
    publish.push(("action".into(), "publish".into()));
    let pairs: Vec<(&str, &str)> = publish.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let published = admin.post(DESIGNER, &pairs).await?;
    assert_eq!(published.status, StatusCode::SEE_OTHER, "{}", published.html);
    assert_eq!(published.location(), Some(&*format!("{DESIGNER}?published=2")));
    let (_, form) = server.get_json(&ws.admin, "/api/v1/forms/website-demo-request").await?;
    assert_eq!(form["form"]["current_version"], 2, "{form}");

    let public = server
        .http
        .get(server.url("/f/acme/website-demo-request?lang=en"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        public.contains("Annual budget") && public.contains("100k or more"),
        "{public}"
    );

    let lead = json!({
        "name": "周杰", "email": "zhou.jie@example.cn", "company": "华南贸易", "province": "guangdong",
        "company_size": "50-199", "budget": "200k-1m", "authority": "decision_maker",
        "timeline": "this_quarter", "consent": true, "need": "CRM"
    });
    let (status, answer) = server.submit(ws.tenant, "website-demo-request", &lead).await?;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the new field is required: {answer}"
    );
    let mut lead = lead;
    lead["annual_budget"] = json!("large");
    let (status, answer) = server.submit(ws.tenant, "website-demo-request", &lead).await?;
    assert!(status.is_success(), "{status} {answer}");

    let after = admin.get(&format!("{DESIGNER}?published=2")).await?;
    assert!(after.html.contains("Published version 2") || after.html.contains("已发布第 2 版"));
    let versions = &after.html[after.html.find("id=\"versions\"").unwrap()..];
    let v2 = &versions[versions.find("data-version=\"2\"").unwrap()..];
    assert!(
        v2.contains("<td class=\"leads\">1</td>"),
        "one lead on version 2: {versions}"
    );
    let v1 = &versions[versions.find("data-version=\"1\"").unwrap()..];
    assert!(
        v1.contains(&format!("<td class=\"leads\">{v1_leads}</td>")),
        "{versions}"
    );

    // Moving and removing fields change the draft only, until published.
    let draft = draft_of(&after).to_string();
    let moved = admin
        .post(
            DESIGNER,
            &[("_csrf", &csrf), ("draft", &draft), ("action", "up:annual_budget")],
        )
        .await?;
    let order = draft_of(&moved)["ui_schema"]["ui:order"].clone();
    let names: Vec<&str> = order.as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let at = names.iter().position(|n| *n == "annual_budget").unwrap();
    assert_eq!(at, names.len() - 2, "one place up: {names:?}");
    let removed = admin
        .post(
            DESIGNER,
            &[("_csrf", &csrf), ("draft", &draft), ("action", "remove:annual_budget")],
        )
        .await?;
    assert!(!removed.html.contains("id=\"field-annual_budget\""));
    assert!(
        draft_of(&removed)["schema"]["properties"]
            .get("annual_budget")
            .is_none()
    );
    let (_, form) = server.get_json(&ws.admin, "/api/v1/forms/website-demo-request").await?;
    assert_eq!(form["form"]["current_version"], 2, "a draft is not published: {form}");
    Ok(())
}

async fn the_json_view_shows_problems_at_their_pointers_and_only_admins_design(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let mut admin = PageVisitor::new(&server);
    admin.log_in(ws.tenant, ADMIN_EMAIL, PASSWORD).await?;
    let designer = admin.get(DESIGNER).await?;
    let csrf = designer.csrf().unwrap();
    let draft = draft_of(&designer);
    let ui = draft["ui_schema"].to_string();

    let mut schema = draft["schema"].clone();
    schema["properties"]["company_size"]["type"] = json!("strin");
    let schema = schema.to_string();
    let bad = admin
        .post(
            DESIGNER,
            &[
                ("_csrf", &csrf),
                ("title", "Demo"),
                ("schema_json", &schema),
                ("ui_schema_json", &ui),
                ("action", "json_publish"),
            ],
        )
        .await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.html);
    assert!(
        bad.html
            .contains("data-pointer=\"/schema/properties/company_size/type\""),
        "{}",
        bad.html
    );
    let garbled = admin
        .post(
            DESIGNER,
            &[
                ("_csrf", &csrf),
                ("title", "Demo"),
                ("schema_json", "{\"type\": "),
                ("ui_schema_json", &ui),
                ("action", "json"),
            ],
        )
        .await?;
    assert_eq!(garbled.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(garbled.html.contains("(line 1"), "{}", garbled.html);
    assert!(
        garbled.html.contains("{&quot;type&quot;: </textarea>"),
        "the text is kept: {}",
        garbled.html
    );
    let (_, form) = server.get_json(&ws.admin, "/api/v1/forms/website-demo-request").await?;
    assert_eq!(form["form"]["current_version"], 1, "{form}");

    // A good JSON edit publishes as the API would.
    let mut schema = draft["schema"].clone();
    schema["properties"]["job_title"]["maxLength"] = json!(60);
    let schema = schema.to_string();
    let good = admin
        .post(
            DESIGNER,
            &[
                ("_csrf", &csrf),
                ("title", "Demo"),
                ("schema_json", &schema),
                ("ui_schema_json", &ui),
                ("action", "json_publish"),
            ],
        )
        .await?;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.html);
    let (_, version) = server
        .get_json(&ws.admin, "/api/v1/forms/website-demo-request/versions/2")
        .await?;
    assert_eq!(
        version["schema"]["properties"]["job_title"]["maxLength"], 60,
        "{version}"
    );

    // A post larger than twice the API's body limit is refused whole.
    let huge = format!("{{\"description\": \"{}\"}}", "x".repeat(200 * 1024));
    let refused = admin
        .post(
            DESIGNER,
            &[
                ("_csrf", &csrf),
                ("title", "Demo"),
                ("schema_json", &huge),
                ("action", "json"),
            ],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Without the CSRF token, nothing; a rep or a manager may not design.
    let forged = admin
        .post(
            DESIGNER,
            &[
                ("title", "Demo"),
                ("schema_json", &schema),
                ("ui_schema_json", &ui),
                ("action", "json_publish"),
            ],
        )
        .await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    for who in ["rep.a@acme.example", "manager.a@acme.example"] {
        let mut other = PageVisitor::new(&server);
        other.log_in(ws.tenant, who, PASSWORD).await?;
        assert_eq!(other.get(DESIGNER).await?.status, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(
            other.get("/app/admin/forms").await?.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    let (_, form) = server.get_json(&ws.admin, "/api/v1/forms/website-demo-request").await?;
    assert_eq!(form["form"]["current_version"], 2, "{form}");

    // A new form starts with a name and an email, in the designer.
    let created = admin
        .post(
            "/app/admin/forms",
            &[("_csrf", &csrf), ("slug", "trade-show"), ("title", "Trade show")],
        )
        .await?;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    assert_eq!(created.location(), Some("/app/admin/forms/trade-show"));
    let taken = admin
        .post(
            "/app/admin/forms",
            &[("_csrf", &csrf), ("slug", "trade-show"), ("title", "Again")],
        )
        .await?;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fresh = admin.get("/app/admin/forms/trade-show").await?;
    assert!(fresh.html.contains("id=\"field-email\""), "{}", fresh.html);
    Ok(())
}

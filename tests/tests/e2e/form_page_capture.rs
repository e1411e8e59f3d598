//! The public form page as lead capture: accessible fields and errors, the
//! visit's context, scripts screened out (honeypot, fill time), thank-you
//! and redirect, the visitor's language, returning visitors asked only what
//! is not known, the kiosk, and the page's own script. Over HTTP, as a
//! browser without JavaScript (or the kiosk's script) posts.

use leadhost_tests::{Backend, StatusCode, TestServer, on_both_backends, pointers};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::followup::advance;

on_both_backends!(
    every_field_has_its_label_and_errors_point_at_ids_on_the_page,
    the_visits_utm_parameters_and_referrer_reach_the_touch,
    a_filled_honeypot_stores_nothing_and_a_fast_post_is_asked_again,
    a_form_sets_its_thank_you_words_or_an_https_redirect,
    the_page_and_its_messages_speak_the_visitors_language,
    a_returning_visitor_is_asked_only_what_is_not_known,
    a_kiosk_answers_its_script_in_json_and_remembers_nobody,
    the_pages_script_and_style_come_from_the_host,
);

const DEMO: &str = "/f/acme/website-demo-request";
const BADGE: &str = "/f/acme/trade-show-badge-scan";

/// A server whose clock moves only when told (so a post can be "5 seconds
/// after the page" without waiting), with tenant `acme` and `forms`.
async fn clocked_server(backend: Backend, forms: &[&str]) -> anyhow::Result<(TestServer, String)> {
    let server = TestServer::start_with(backend, &["--manual-clock"]).await?;
    let token = server.create_tenant("acme").await?;
    for form in forms {
        server.create_form_from_file(&token, form).await?;
    }
    Ok((server, token))
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

impl Page {
    /// The page's hidden `_` fields, as a browser posts them back.
    fn carried(&self) -> Vec<(String, String)> {
        hidden_fields(&self.html)
            .into_iter()
            .filter(|(name, _)| name.starts_with('_'))
            .collect()
    }

    fn set_cookie(&self) -> Option<String> {
        self.headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

async fn get_page(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<Page> {
    let mut request = server.http.get(server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let res = request.send().await?;
    Ok(Page {
        status: res.status(),
        headers: res.headers().clone(),
        html: res.text().await?,
    })
}

/// A browser's post of `pairs` to `path` (a page is the answer).
async fn post_form(
    server: &TestServer,
    path: &str,
    pairs: &[(String, String)],
    headers: &[(&str, &str)],
) -> anyhow::Result<Page> {
    // A browser is told where a redirect goes; the test looks at it.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut request = client.post(server.url(path)).header("accept", "text/html").form(pairs);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let res = request.send().await?;
    Ok(Page {
        status: res.status(),
        headers: res.headers().clone(),
        html: res.text().await?,
    })
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// What the page carries plus what the visitor typed.
fn with_page(page: &Page, typed: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = page.carried();
    all.extend(pairs(typed));
    all
}

fn valid_demo(email: &str) -> Vec<(&str, &str)> {
    vec![
        ("name", "Li Wei"),
        ("email", email),
        ("company", "ACME"),
        ("consent", "true"),
    ]
}

/// `(name, value)` of every `<input type="hidden">`, unescaped.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[at + "<input type=\"hidden\" name=\"".len()..];
        let Some((name, after)) = rest.split_once('"') else {
            break;
        };
        let value = after
            .strip_prefix(" value=\"")
            .and_then(|v| v.split_once('"'))
            .map(|(v, _)| v)
            .unwrap_or("");
        found.push((unescape(name), unescape(value)));
    }
    found
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The opening tag of the element with `id`.
fn tag_with_id<'h>(html: &'h str, id: &str) -> &'h str {
    let at = html
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element #{id}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// The text of a field's error element.
fn error_text(html: &str, field: &str) -> String {
    let open = format!("id=\"f-{field}-error\">");
    let at = html.find(&open).unwrap_or_else(|| panic!("no error beside {field}")) + open.len();
    unescape(&html[at..at + html[at..].find("</p>").unwrap()])
}

async fn leads(server: &TestServer, token: &str) -> anyhow::Result<Vec<Value>> {
    let (status, list) = server.get_json(token, "/api/v1/leads").await?;
    assert_eq!(status, StatusCode::OK, "{list}");
    Ok(list["leads"].as_array().cloned().unwrap_or_default())
}

async fn lead(server: &TestServer, token: &str, id: &str) -> anyhow::Result<Value> {
    Ok(server.get_json(token, &format!("/api/v1/leads/{id}")).await?.1)
}

/// `leadhost_submissions_discarded_total{reason="..."}`.
async fn discarded(server: &TestServer, reason: &str) -> anyhow::Result<u64> {
    let text = server.http.get(server.url("/metrics")).send().await?.text().await?;
    let line = format!("leadhost_submissions_discarded_total{{reason=\"{reason}\"}} ");
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix(&line))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {line} in {text}")))
}

async fn every_field_has_its_label_and_errors_point_at_ids_on_the_page(backend: Backend) -> anyhow::Result<()> {
    let (server, _token) =
        clocked_server(backend, &["website-demo-request.json", "trade-show-badge-scan.json"]).await?;
    let demo = get_page(&server, DEMO, &[]).await?;
    let badge = get_page(&server, BADGE, &[]).await?;
    assert_eq!((demo.status, badge.status), (StatusCode::OK, StatusCode::OK));
    for (html, widgets) in [
        (
            &demo.html,
            vec![
                "type=\"text\" name=\"name\"",
                "type=\"email\" name=\"email\"",
                "type=\"tel\" name=\"phone\"",
                "<select id=\"f-province\"",
                "type=\"radio\" name=\"company_size\"",
                "<textarea id=\"f-need\"",
                "type=\"checkbox\" name=\"consent\"",
            ],
        ),
        (
            &badge.html,
            vec![
                "type=\"number\" name=\"interest_level\"",
                "type=\"checkbox\" name=\"products_of_interest\"",
                "<input type=\"hidden\" name=\"event\" value=\"cn-saas-expo-2025-shanghai\">",
            ],
        ),
    ] {
        for widget in widgets {
            assert!(html.contains(widget), "the page lacks {widget:?}");
        }
        assert!(html.contains("<form method=\"post\" accept-charset=\"utf-8\" novalidate"));
    }

    // Everything wrong at once: a missing name, a broken email, a budget and
    // a company size that are no choice, too long a need, no consent.
    let need = "x".repeat(2001);
    let typed = [
        ("email", "li@"),
        ("budget", "a lot"),
        ("company_size", "12"),
        ("need", need.as_str()),
    ];
    let bad = post_form(&server, DEMO, &with_page(&demo, &typed), &[]).await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = &bad.html;
    for id in [
        "f-name",
        "f-email",
        "f-budget",
        "f-need",
        "f-consent",
        "f-company_size-0",
    ] {
        let tag = tag_with_id(html, id);
        assert!(tag.contains("aria-invalid=\"true\""), "{tag}");
    }
    let group = html
        .split("<fieldset")
        .skip(1)
        .find(|tag| tag.contains("f-company_size-error"))
        .map(|tag| &tag[..tag.find('>').unwrap()])
        .expect("the company size group is described by its error");
    assert!(group.contains("aria-invalid=\"true\""), "{group}");
    assert!(
        !tag_with_id(html, "f-job_title").contains("aria-invalid"),
        "a good field is not marked"
    );
    for control in ["f-name", "f-email", "f-phone", "f-budget", "f-need", "f-consent"] {
        assert!(html.contains(&format!("for=\"{control}\"")), "{control} has no label");
        assert!(
            html.matches(&format!("id=\"{control}-error\"")).count() <= 1,
            "one error element per field"
        );
    }
    // Every id an element is described by is on the page.
    for described in html.split("aria-describedby=\"").skip(1) {
        for id in described[..described.find('"').unwrap()].split(' ') {
            assert!(
                html.contains(&format!(" id=\"{id}\"")),
                "aria-describedby names #{id}, which is not there"
            );
        }
    }
    assert!(!error_text(html, "email").is_empty());

    // A group of checkboxes and a number, wrong.
    let bad_badge = post_form(
        &server,
        BADGE,
        &with_page(
            &badge,
            &[
                ("name", "Chen"),
                ("company", "Logi"),
                ("interest_level", "9"),
                ("products_of_interest", "nope"),
            ],
        ),
        &[],
    )
    .await?;
    assert_eq!(bad_badge.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(tag_with_id(&bad_badge.html, "f-interest_level").contains("aria-invalid=\"true\""));
    assert!(tag_with_id(&bad_badge.html, "f-products_of_interest-0").contains("aria-invalid=\"true\""));
    Ok(())
}

async fn the_visits_utm_parameters_and_referrer_reach_the_touch(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = clocked_server(backend, &["website-demo-request.json"]).await?;
    let query = "?utm_source=wechat&utm_medium=social&utm_campaign=spring&utm_term=crm&utm_content=banner";
    let path = format!("{DEMO}{query}");
    let article = "https://mp.weixin.qq.com/s/article?id=1&x=2";
    let referred = get_page(&server, &path, &[("referer", article)]).await?;
    let carried = referred.carried();
    for (name, value) in [
        ("_utm_source", "wechat"),
        ("_utm_medium", "social"),
        ("_utm_campaign", "spring"),
        ("_utm_term", "crm"),
        ("_utm_content", "banner"),
        ("_referrer", article),
    ] {
        assert!(
            carried.iter().any(|(n, v)| n == name && v == value),
            "the page does not carry {name}={value}: {carried:?}"
        );
    }
    let direct = get_page(&server, DEMO, &[]).await?;
    assert!(!direct.carried().iter().any(|(n, _)| n == "_referrer"));
    advance(&server, 5).await?;

    // The browser's post names the page itself as its referrer; the
    // visitor's referrer is the one the page carried, or none.
    let page_url = server.url(&path);
    let posted = post_form(
        &server,
        &path,
        &with_page(&referred, &valid_demo("utm@example.com")),
        &[("referer", page_url.as_str())],
    )
    .await?;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.html);
    let posted = post_form(
        &server,
        DEMO,
        &with_page(&direct, &valid_demo("direct@example.com")),
        &[("referer", server.url(DEMO).as_str())],
    )
    .await?;
    assert_eq!(posted.status, StatusCode::CREATED);

    let all = leads(&server, &token).await?;
    assert_eq!(all.len(), 2);
    for summary in all {
        let lead = lead(&server, &token, summary["id"].as_str().unwrap()).await?;
        let touch = &lead["touches"][0];
        if lead["email"] == "utm@example.com" {
            assert_eq!(touch["source"], "wechat");
            assert_eq!(touch["utm_medium"], "social");
            assert_eq!(touch["utm_campaign"], "spring");
            assert_eq!(touch["utm_term"], "crm");
            assert_eq!(touch["utm_content"], "banner");
            assert_eq!(touch["referrer"], article);
        } else {
            assert_eq!(touch["source"], "direct", "{touch}");
            assert_eq!(touch["referrer"], Value::Null);
        }
    }
    Ok(())
}

async fn a_filled_honeypot_stores_nothing_and_a_fast_post_is_asked_again(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = clocked_server(backend, &["website-demo-request.json"]).await?;
    let mut pages = Vec::new();
    for _ in 0..6 {
        pages.push(get_page(&server, DEMO, &[]).await?);
    }
    let honeypot = tag_with_id(&pages[0].html, "f-_website");
    for attribute in ["name=\"_website\"", "tabindex=\"-1\"", "autocomplete=\"off\""] {
        assert!(honeypot.contains(attribute), "{honeypot}");
    }
    assert!(
        pages[0].html.contains("<label for=\"f-_website\">请勿填写此项"),
        "its label tells people to leave it"
    );

    // At once after the page: a script's speed, or a person's autofill. Not
    // thanked and dropped: the form comes back with what was typed, asking
    // for the click again, and that click is taken however quick.
    let fast = post_form(
        &server,
        DEMO,
        &with_page(&pages[0], &valid_demo("fast@example.com")),
        &[],
    )
    .await?;
    assert_eq!(fast.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", fast.html);
    assert!(fast.html.contains("然后再点一次提交"), "{}", fast.html);
    assert!(fast.html.contains("value=\"fast@example.com\""), "typed values kept");
    assert_eq!(fast.set_cookie(), None, "nobody to remember yet");
    let again = post_form(&server, DEMO, &with_page(&fast, &valid_demo("fast@example.com")), &[]).await?;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.html);
    // A mistake is shown even that fast: a person may be quick.
    let fast_mistake = post_form(&server, DEMO, &with_page(&pages[1], &[("email", "li@")]), &[]).await?;
    assert_eq!(fast_mistake.status, StatusCode::UNPROCESSABLE_ENTITY);

    advance(&server, 5).await?;
    let mut trapped = with_page(&pages[2], &valid_demo("trap@example.com"));
    trapped.retain(|(name, _)| name != "_website");
    trapped.push(("_website".into(), "https://spam.example".into()));
    let trapped = post_form(&server, DEMO, &trapped, &[]).await?;
    assert_eq!(trapped.status, StatusCode::CREATED);
    let mut forged = with_page(&pages[3], &valid_demo("forged@example.com"));
    for (name, value) in forged.iter_mut() {
        if name == "_rendered" {
            *value = "1000.00000000000000000000000000000000".into();
        }
    }
    let forged = post_form(&server, DEMO, &forged, &[]).await?;
    assert_eq!(forged.status, StatusCode::CREATED);
    // The kiosk's script asks for JSON: a discarded post looks stored.
    let mut scripted = with_page(&pages[4], &valid_demo("json-trap@example.com"));
    scripted.push(("_website".into(), "x".into()));
    let res = server
        .http
        .post(server.url(DEMO))
        .header("accept", "application/json")
        .form(&scripted)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.json::<Value>().await?["id"].is_string());
    let stored = leads(&server, &token).await?;
    assert_eq!(stored.len(), 1, "only the person asked again: {stored:?}");
    assert_eq!(
        discarded(&server, "too_fast").await?,
        0,
        "a fast post is asked again, never dropped"
    );
    assert_eq!(discarded(&server, "honeypot").await?, 2);
    assert_eq!(discarded(&server, "forged_render_time").await?, 1);

    // A person, five seconds after the page.
    let person = post_form(
        &server,
        DEMO,
        &with_page(&pages[5], &valid_demo("person@example.com")),
        &[],
    )
    .await?;
    assert_eq!(person.status, StatusCode::CREATED);
    // Integrations post without the page's fields, at once: JSON to the
    // page's route, the API route, and their own HTML form.
    let (status, _) = server
        .submit(
            "acme",
            "website-demo-request",
            &json!({"name": "J", "email": "json@example.com", "company": "C", "consent": true}),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED);
    let res = server
        .http
        .post(server.url("/api/v1/forms/website-demo-request/leads"))
        .bearer_auth(&token)
        .json(&json!({"name": "A", "email": "api@example.com", "company": "C", "consent": true}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let own_form = post_form(&server, DEMO, &pairs(&valid_demo("own-form@example.com")), &[]).await?;
    assert_eq!(own_form.status, StatusCode::CREATED);
    let emails: Vec<Value> = leads(&server, &token)
        .await?
        .into_iter()
        .map(|l| l["email"].clone())
        .collect();
    assert_eq!(emails.len(), 5, "{emails:?}");
    Ok(())
}

async fn a_form_sets_its_thank_you_words_or_an_https_redirect(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let token = server.create_tenant("acme").await?;
    let schema = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                        "properties": {"name": {"type": "string", "minLength": 1}}, "required": ["name"]});
    let thanks = json!({"zh": "多谢惠顾，回头见", "en": "Much obliged, see you soon"});
    let (status, body) = server
        .send_json(
            reqwest::Method::POST,
            &token,
            "/api/v1/forms",
            &json!({"slug": "thanks", "title": "Thanks", "schema": schema, "ui_schema": {"ui:thankYou": thanks}}),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let english = post_form(
        &server,
        "/f/acme/thanks",
        &pairs(&[("name", "A")]),
        &[("accept-language", "en-US")],
    )
    .await?;
    assert_eq!(english.status, StatusCode::CREATED);
    assert!(english.html.contains("Much obliged, see you soon"), "{}", english.html);
    let chinese = post_form(&server, "/f/acme/thanks", &pairs(&[("name", "B")]), &[]).await?;
    assert!(chinese.html.contains("多谢惠顾，回头见"));

    for bad in ["http://example.com/thanks", "javascript:alert(1)", "/thanks"] {
        let (status, problem) = server
            .send_json(
                reqwest::Method::PUT,
                &token,
                "/api/v1/forms/thanks",
                &json!({"schema": schema, "ui_schema": {"ui:redirect": bad}}),
            )
            .await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(pointers(&problem), ["/ui_schema/ui:redirect"], "{problem}");
    }
    let (status, body) = server
        .send_json(
            reqwest::Method::PUT,
            &token,
            "/api/v1/forms/thanks",
            &json!({"schema": schema, "ui_schema": {"ui:redirect": "https://example.com/thanks?from=form"}}),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let redirected = post_form(&server, "/f/acme/thanks", &pairs(&[("name", "C")]), &[]).await?;
    assert_eq!(redirected.status, StatusCode::SEE_OTHER);
    assert_eq!(redirected.headers["location"], "https://example.com/thanks?from=form");
    assert!(
        redirected.set_cookie().is_some_and(|c| c.starts_with("lh_visitor=")),
        "the visitor is remembered before leaving"
    );
    // A script asking for JSON gets JSON, not the redirect.
    let (status, created) = server.submit("acme", "thanks", &json!({"name": "D"})).await?;
    assert_eq!(status, StatusCode::CREATED);
    assert!(created["id"].is_string());
    assert_eq!(leads(&server, &token).await?.len(), 4);
    Ok(())
}

async fn the_page_and_its_messages_speak_the_visitors_language(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let token = server.create_tenant("acme").await?;
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 2},
            "email": {"type": "string", "format": "email"},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "notes": {"type": "string", "maxLength": 5},
            "size": {"type": "integer", "minimum": 1},
            "seats": {"type": "integer", "maximum": 5},
            "plan": {"type": "string", "enum": ["basic", "pro"]},
            "age": {"type": "integer"},
            "company": {"type": "string"}
        },
        "required": ["company"]
    });
    let ui = json!({
        "ui:title": {"zh": "关键词表单", "en": "Keyword form"},
        "ui:submit": {"zh": "发送", "en": "Send"},
        "name": {"ui:title": {"zh": "姓名", "en": "Name"}, "ui:help": {"zh": "全名", "en": "Full name"}},
        "plan": {"ui:enumNames": [{"zh": "基础版", "en": "Basic"}, {"zh": "专业版", "en": "Pro"}]}
    });
    let (status, body) = server
        .send_json(
            reqwest::Method::POST,
            &token,
            "/api/v1/forms",
            &json!({"slug": "keywords", "title": "Keywords", "schema": schema, "ui_schema": ui}),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let path = "/f/acme/keywords";
    let zh = get_page(&server, path, &[]).await?.html;
    let en = get_page(&server, &format!("{path}?lang=en"), &[]).await?.html;
    let en_by_browser = get_page(&server, path, &[("accept-language", "en-US,en;q=0.9")])
        .await?
        .html;
    let zh_by_choice = get_page(&server, &format!("{path}?lang=zh"), &[("accept-language", "en-US")])
        .await?
        .html;
    for html in [&zh, &zh_by_choice] {
        for needle in [
            "<html lang=\"zh-CN\">",
            "关键词表单",
            ">姓名",
            "全名",
            "基础版",
            "— 请选择 —",
            ">发送<",
        ] {
            assert!(html.contains(needle), "the Chinese page lacks {needle:?}");
        }
    }
    for html in [&en, &en_by_browser] {
        for needle in [
            "<html lang=\"en\">",
            "Keyword form",
            ">Name",
            "Full name",
            "Basic",
            "— Please choose —",
            ">Send<",
        ] {
            assert!(html.contains(needle), "the English page lacks {needle:?}");
        }
    }

    let wrong = pairs(&[
        ("name", "x"),
        ("email", "nope"),
        ("code", "abc"),
        ("notes", "too long"),
        ("size", "0"),
        ("seats", "9"),
        ("plan", "gold"),
        ("age", "old"),
    ]);
    let expected = [
        ("company", "必填", "is required"),
        ("name", "至少需要 2 个字符", "must be at least 2 characters"),
        ("email", "不是有效的邮箱地址", "is not a valid email address"),
        ("code", "格式不正确", "does not have the expected format"),
        ("notes", "最多 5 个字符", "must be at most 5 characters"),
        ("size", "不能小于 1", "must be at least 1"),
        ("seats", "不能大于 5", "must be at most 5"),
        ("plan", "请从给出的选项中选择", "is not one of the choices"),
        ("age", "必须是整数", "must be a whole number"),
    ];
    let zh = post_form(&server, path, &wrong, &[]).await?;
    let en = post_form(&server, &format!("{path}?lang=en"), &wrong, &[]).await?;
    assert_eq!(
        (zh.status, en.status),
        (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::UNPROCESSABLE_ENTITY)
    );
    for (field, chinese, english) in expected {
        assert_eq!(error_text(&zh.html, field), chinese, "{field}");
        assert_eq!(error_text(&en.html, field), english, "{field}");
    }
    assert!(zh.html.contains("请检查下面标出的字段。"));
    assert!(en.html.contains("Please correct the fields marked below."));
    // Integrations read English, as before.
    let (status, problem) = server.submit("acme", "keywords", &json!({"name": "x"})).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let messages: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"is required") && messages.contains(&"must be at least 2 characters"),
        "{problem}"
    );
    Ok(())
}

async fn a_returning_visitor_is_asked_only_what_is_not_known(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = clocked_server(backend, &["website-demo-request.json"]).await?;
    let first = get_page(&server, DEMO, &[]).await?;
    advance(&server, 5).await?;
    let mut typed = valid_demo("li.wei@example.com");
    typed.push(("job_title", "CTO"));
    let posted = post_form(&server, DEMO, &with_page(&first, &typed), &[]).await?;
    assert_eq!(posted.status, StatusCode::CREATED);
    let set_cookie = posted.set_cookie().expect("the visitor is remembered");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/f/acme", "Max-Age="] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("lh_visitor="));

    // Known: name, email, company, job title, consent. The form asks at
    // most 3 new fields: phone, province and company size, in its order.
    let again = get_page(&server, DEMO, &[("cookie", &cookie)]).await?;
    assert_eq!(again.status, StatusCode::OK);
    let html = &again.html;
    assert!(html.contains("欢迎回来"), "a returning visitor is greeted");
    for asked in ["name=\"phone\"", "name=\"province\"", "name=\"company_size\""] {
        assert!(html.contains(asked), "{asked} is asked");
    }
    for known in [
        "name=\"name\"",
        "name=\"email\"",
        "name=\"company\"",
        "name=\"job_title\"",
        "name=\"consent\"",
        "name=\"industry\"",
    ] {
        assert!(!html.contains(known), "{known} is not on the page");
    }
    for value in ["li.wei@example.com", "Li Wei", "ACME", "CTO"] {
        assert!(
            !html.contains(value),
            "the known {value:?} is not sent to the page, even hidden"
        );
    }
    assert_eq!(html.matches("<div class=\"field").count(), 3);

    advance(&server, 5).await?;
    let second = post_form(
        &server,
        DEMO,
        &with_page(&again, &[("company_size", "50-199")]),
        &[("cookie", &cookie)],
    )
    .await?;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.html);
    let all = leads(&server, &token).await?;
    assert_eq!(all.len(), 1, "the same lead: the known email was merged in");
    let stored = lead(&server, &token, all[0]["id"].as_str().unwrap()).await?;
    assert_eq!(stored["fields"]["company_size"], "50-199");
    assert_eq!(stored["fields"]["job_title"], "CTO");
    assert_eq!(stored["touches"].as_array().unwrap().len(), 2);

    // A cookie not signed by the tenant, someone else at the browser, and a
    // kiosk: the whole form.
    let forged = get_page(
        &server,
        DEMO,
        &[("cookie", "lh_visitor=someone.0123456789abcdef0123456789abcdef")],
    )
    .await?;
    assert!(forged.html.contains("name=\"email\""));
    let someone_else = get_page(&server, &format!("{DEMO}?forget=1"), &[("cookie", &cookie)]).await?;
    assert!(someone_else.html.contains("name=\"email\""));
    assert!(
        someone_else
            .set_cookie()
            .is_some_and(|c| c.starts_with("lh_visitor=;") && c.contains("Max-Age=0")),
        "the cookie is dropped"
    );
    let kiosk = get_page(&server, &format!("{DEMO}?kiosk=1"), &[("cookie", &cookie)]).await?;
    assert!(kiosk.html.contains("name=\"email\"") && !kiosk.html.contains("欢迎回来"));
    advance(&server, 5).await?;
    let kiosk_post = post_form(
        &server,
        &format!("{DEMO}?kiosk=1"),
        &with_page(&kiosk, &valid_demo("booth@example.com")),
        &[("cookie", &cookie)],
    )
    .await?;
    assert_eq!(kiosk_post.status, StatusCode::CREATED);
    assert_eq!(kiosk_post.set_cookie(), None, "a kiosk remembers nobody");
    assert_eq!(leads(&server, &token).await?.len(), 2);
    Ok(())
}

async fn a_kiosk_answers_its_script_in_json_and_remembers_nobody(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = clocked_server(backend, &["trade-show-badge-scan.json", "website-demo-request.json"]).await?;
    // The badge scan is a kiosk by its own setting; any form by `?kiosk=1`.
    let badge = get_page(&server, BADGE, &[]).await?;
    for needle in [
        "data-kiosk autocomplete=\"off\"",
        "id=\"kiosk-words\"",
        "class=\"kiosk-status\"",
    ] {
        assert!(badge.html.contains(needle), "{needle}");
    }
    assert!(
        get_page(&server, &format!("{DEMO}?kiosk=1"), &[])
            .await?
            .html
            .contains("data-kiosk")
    );
    assert!(!get_page(&server, DEMO, &[]).await?.html.contains("data-kiosk"));
    advance(&server, 5).await?;

    // The script posts the form with a key of its own, and again when it
    // did not hear back: one lead, one touch.
    let mut kept = with_page(&badge, &[("name", "Chen Jie"), ("company", "Logi"), ("event", "expo")]);
    kept.retain(|(name, _)| name != "_submission");
    kept.push(("_submission".into(), "kiosk-00112233445566778899aabbccddeeff".into()));
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = server
            .http
            .post(server.url(BADGE))
            .header("accept", "application/json")
            .form(&kept)
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert!(res.headers().get("set-cookie").is_none());
        ids.push(res.json::<Value>().await?["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids[0], ids[1]);
    let stored = lead(&server, &token, &ids[0]).await?;
    assert_eq!(stored["touches"].as_array().unwrap().len(), 1);

    // A mistake comes back as problem+json, in the page's language.
    let mut missing = with_page(&badge, &[("name", "Wu")]);
    missing.retain(|(name, _)| name != "_submission");
    missing.push(("_submission".into(), "kiosk-2".into()));
    let res = server
        .http
        .post(server.url(BADGE))
        .header("accept", "application/json")
        .form(&missing)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await?;
    assert_eq!(pointers(&problem), ["/company"]);
    assert_eq!(problem["errors"][0]["message"], "必填");

    // Without the script: the thank-you page leads back to an empty form.
    let mut plain = with_page(&badge, &[("name", "Sun"), ("company", "Sun Co")]);
    plain.retain(|(name, _)| name != "_submission");
    plain.push(("_submission".into(), "kiosk-3".into()));
    let thanks = post_form(&server, &format!("{BADGE}?lang=en"), &plain, &[]).await?;
    assert_eq!(thanks.status, StatusCode::CREATED);
    assert!(
        thanks.html.contains("href=\"/f/acme/trade-show-badge-scan?lang=en\""),
        "{}",
        thanks.html
    );
    assert!(thanks.html.contains("Next visitor"));
    assert_eq!(thanks.set_cookie(), None);
    assert_eq!(leads(&server, &token).await?.len(), 2);
    Ok(())
}

async fn the_pages_script_and_style_come_from_the_host(backend: Backend) -> anyhow::Result<()> {
    let (server, _token) = clocked_server(backend, &["website-demo-request.json"]).await?;
    let page = get_page(&server, DEMO, &[]).await?;
    assert_eq!(page.headers["cache-control"], "no-store", "a page's tokens are its own");
    let src_of = |prefix: &str| {
        let at = page.html.find(prefix).unwrap_or_else(|| panic!("no {prefix}")) + prefix.len();
        page.html[at..at + page.html[at..].find('"').unwrap()].to_owned()
    };
    let script = src_of("<script src=\"");
    let style = src_of("<link rel=\"stylesheet\" href=\"");
    assert!(script.starts_with("/assets/form.js?v="), "{script}");
    assert!(style.starts_with("/assets/form.css?v="), "{style}");
    assert!(
        !page.html.contains("src=\"http") && !page.html.contains("href=\"http"),
        "nothing from another host"
    );
    for (url, file, content_type) in [
        (&script, "form.js", "text/javascript"),
        (&style, "form.css", "text/css"),
    ] {
        let res = server.http.get(server.url(url)).send().await?;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"].to_str()?.starts_with(content_type));
        let cache = res.headers()["cache-control"].to_str()?.to_owned();
        assert!(
            cache.contains("max-age=31536000") && cache.contains("immutable"),
            "{cache}"
        );
        let vendored = std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../host/assets")
                .join(file),
        )?;
        assert_eq!(res.text().await?, vendored);
    }
    let missing = server.http.get(server.url("/assets/jquery.js")).send().await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    Ok(())
}

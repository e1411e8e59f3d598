//! `/app/admin/forms`: an admin's forms and the form designer.
//!
//! The designer edits a draft (`forms::design::FormDraft`) field by field,
//! beside a preview that is the public page's own renderer. The draft
//! travels with the page as JSON in a hidden field, so nothing is stored
//! until the admin publishes a version; each post applies the typed field
//! settings to it, then the button's action (add, move, remove, publish).
//! With JavaScript, the page's script posts the draft to `…/preview` as the
//! admin types and shows what comes back; without it, "update preview" does
//! the same by a round trip. A JSON view edits the whole draft at once.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::frame::{Section, csrf, local_time, notice, page};
use super::setup::{not_json, problems_at_pointers};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::error::{ApiError, FieldError};
use crate::forms::assets::DESIGNER_JS;
use crate::forms::design::{BothLanguages, Choice, DesignField, FieldType, FormDraft};
use crate::forms::page::{PageState, render as render_form};
use crate::forms::{FormUpload, VersionUpload, create_form, publish_version};
use crate::i18n::Lang;
use crate::storage::FormRecord;

/// `GET /app/admin/forms`: every form, with a way to start a new one.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let forms = state.store.tenant(viewer.tenant_id()).forms().await?;
    let tenant = state.store.tenant_by_id(viewer.tenant_id()).await?;
    let problem = query.get("problem").map(String::as_str);
    Ok(forms_page(&viewer, &forms, &tenant.slug, problem, &BTreeMap::new()).into_response())
}

fn forms_page(
    viewer: &Viewer,
    forms: &[FormRecord],
    tenant_slug: &str,
    problem: Option<&str>,
    typed: &BTreeMap<String, String>,
) -> Markup {
    let w = viewer.words();
    let body = html! {
        @if forms.is_empty() { p.muted { (w.no_forms) } }
        table #forms {
            thead { tr { th { (w.form_title) } th { (w.form_slug) } th { (w.version) } th { (w.public_page) } } }
            tbody {
                @for form in forms {
                    tr {
                        td { a href=(format!("/app/admin/forms/{}", form.slug)) { (form.title) } }
                        td { code { (form.slug) } }
                        td { (form.current_version) }
                        td { a href=(public_url(tenant_slug, &form.slug)) { (public_url(tenant_slug, &form.slug)) } }
                    }
                }
            }
        }
        section #new-form {
            h2 { (w.new_form) }
            @if let Some(problem) = problem { div.problem role="alert" { (problem) } }
            form method="post" action="/app/admin/forms" {
                (csrf(viewer))
                label for="new-slug" { (w.form_slug) }
                input #new-slug name="slug" required value=[typed.get("slug")] placeholder="trade-show-2027";
                label for="new-title" { (w.form_title) }
                input #new-title name="title" required value=[typed.get("title")];
                p { button type="submit" { (w.new_form) } }
            }
        }
    };
    page(viewer, Section::Forms, w.forms, body)
}

fn public_url(tenant_slug: &str, form_slug: &str) -> String {
    format!("/f/{tenant_slug}/{form_slug}")
}

/// `POST /app/admin/forms`: a new form with a name and an email field,
/// opened in the designer.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let slug = form.get("slug").map(|s| s.trim()).unwrap_or_default().to_owned();
    let title = form.get("title").map(|s| s.trim()).unwrap_or_default().to_owned();
    let starter = FormDraft::starter(&title);
    let upload = FormUpload {
        slug: slug.clone(),
        title,
        schema: starter.schema,
        ui_schema: starter.ui_schema,
    };
    match create_form(&state, viewer.tenant_id(), upload).await {
        Ok(created) => Ok(Redirect::to(&format!("/app/admin/forms/{}", created.slug)).into_response()),
        Err(e) => {
            let problem = match &e {
                ApiError::Validation { errors, .. } => {
                    errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ")
                }
                ApiError::Conflict(message) => message.clone(),
                _ => return Err(e.into()),
            };
            let forms = state.store.tenant(viewer.tenant_id()).forms().await?;
            let tenant = state.store.tenant_by_id(viewer.tenant_id()).await?;
            let page = forms_page(&viewer, &forms, &tenant.slug, Some(&problem), &form);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// What the designer shows: the draft, its problems, and where it stands.
struct Designer<'a> {
    form: &'a FormRecord,
    draft: &'a FormDraft,
    problems: &'a [FieldError],
    preview_lang: Lang,
    /// The JSON view's text when it was what the admin sent (kept as typed).
    json_typed: Option<(&'a str, &'a str)>,
    published: Option<i32>,
}

/// `GET /app/admin/forms/{slug}`: the designer on the current version.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let store = state.store.tenant(viewer.tenant_id());
    let form = store.form(&slug).await?;
    let version = store.form_version(&form.id, form.current_version).await?;
    let draft = FormDraft {
        title: version.title,
        schema: serde_json::from_str(&version.schema).unwrap_or(Value::Null),
        ui_schema: serde_json::from_str(&version.ui_schema).unwrap_or(Value::Null),
    };
    let designer = Designer {
        form: &form,
        draft: &draft,
        problems: &[],
        preview_lang: viewer.lang,
        json_typed: None,
        published: query.get("published").and_then(|v| v.parse().ok()),
    };
    Ok(render(&state, &viewer, designer).await?.into_response())
}

/// The designer's inputs read back: the draft with the typed field
/// settings applied, and the problems with them.
fn read_designer(form: &BTreeMap<String, String>) -> Result<(FormDraft, Vec<FieldError>), FieldError> {
    let mut draft: FormDraft = form
        .get("draft")
        .and_then(|d| serde_json::from_str(d).ok())
        .ok_or_else(|| FieldError::new("", "the designer's draft did not come back; open the form again"))?;
    if let Some(title) = form.get("title") {
        draft.title = title.trim().to_owned();
    }
    // What was not sent is left as the draft has it.
    if form.contains_key("page_title_zh") || form.contains_key("page_title_en") {
        let page_title = BothLanguages {
            zh: form.get("page_title_zh").cloned().unwrap_or_default(),
            en: form.get("page_title_en").cloned().unwrap_or_default(),
        };
        draft.set_page_title(&page_title);
    }
    let mut problems = Vec::new();
    let edits: Vec<DesignField> = form
        .iter()
        .filter_map(|(key, name)| {
            let i = key.strip_prefix('f')?.strip_suffix(".name")?.parse::<usize>().ok()?;
            Some((i, name))
        })
        .filter_map(|(i, name)| field_edit(form, i, name, &mut problems))
        .collect();
    problems.extend(draft.apply(&edits));
    Ok((draft, problems))
}

/// One field's inputs (`f{i}.…`); a number that is not one is a problem
/// at the field's keyword.
fn field_edit(
    form: &BTreeMap<String, String>,
    i: usize,
    name: &str,
    problems: &mut Vec<FieldError>,
) -> Option<DesignField> {
    let get = |key: &str| form.get(&format!("f{i}.{key}")).map(|v| v.trim()).unwrap_or("");
    let field_type = FieldType::parse(get("type"))?;
    let at = |keyword: &str| format!("/schema/properties/{name}/{keyword}");
    let mut number = |key: &str, keyword: &str| -> Option<f64> {
        let raw = get(key);
        if raw.is_empty() {
            return None;
        }
        raw.parse::<f64>().ok().filter(|n| n.is_finite()).or_else(|| {
            problems.push(FieldError::new(at(keyword), format!("{raw:?} is not a number")));
            None
        })
    };
    let minimum = number("min", "minimum");
    let maximum = number("max", "maximum");
    let max_length = number("max_length", "maxLength").and_then(|n| {
        (n >= 1.0 && n.fract() == 0.0).then_some(n as u64).or_else(|| {
            problems.push(FieldError::new(at("maxLength"), "must be a whole number above 0"));
            None
        })
    });
    let options = form
        .get(&format!("f{i}.options"))
        .map(|text| parse_options(text))
        .unwrap_or_default();
    let both = |key: &str| BothLanguages {
        zh: get(&format!("{key}_zh")).to_owned(),
        en: get(&format!("{key}_en")).to_owned(),
    };
    Some(DesignField {
        name: name.to_owned(),
        field_type,
        label: both("label"),
        help: both("help"),
        required: !get("required").is_empty(),
        options,
        minimum,
        maximum,
        max_length,
        shown_when: Some((get("when_field").to_owned(), get("when_value").to_owned())),
    })
}

/// Options as typed, one per line: `value | 中文 | English` (labels optional).
fn parse_options(text: &str) -> Vec<Choice> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let mut parts = line.split('|').map(str::trim);
            let value = parts.next().unwrap_or_default().to_owned();
            let zh = parts.next().unwrap_or_default().to_owned();
            let en = parts.next().unwrap_or_default().to_owned();
            Choice {
                value,
                label: BothLanguages { zh, en },
            }
        })
        .collect()
}

fn options_text(options: &[Choice]) -> String {
    options
        .iter()
        .map(|c| match (c.label.zh.as_str(), c.label.en.as_str()) {
            ("", "") => c.value.clone(),
            (zh, en) => format!("{} | {zh} | {en}", c.value),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The JSON view's three parts read as a draft; text that is not JSON is
/// a problem at its part, with the line and column.
fn read_json_view(viewer: &Viewer, form: &BTreeMap<String, String>) -> Result<FormDraft, Vec<FieldError>> {
    let part = |key: &str| -> Result<Value, FieldError> {
        let text = form.get(key).map(String::as_str).unwrap_or("");
        if key == "ui_schema_json" && text.trim().is_empty() {
            return Ok(json!({}));
        }
        let at = if key == "schema_json" { "/schema" } else { "/ui_schema" };
        serde_json::from_str(text).map_err(|e| not_json(viewer, at, &e))
    };
    let (schema, ui_schema) = (part("schema_json"), part("ui_schema_json"));
    match (schema, ui_schema) {
        (Ok(schema), Ok(ui_schema)) => Ok(FormDraft {
            title: form.get("title").map(|t| t.trim().to_owned()).unwrap_or_default(),
            schema,
            ui_schema,
        }),
        (schema, ui_schema) => Err([schema.err(), ui_schema.err()].into_iter().flatten().collect()),
    }
}

/// `POST /app/admin/forms/{slug}`: the designer's buttons.
pub async fn act(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let record = state.store.tenant(viewer.tenant_id()).form(&slug).await?;
    let action = form.get("action").map(String::as_str).unwrap_or("preview");
    let preview_lang = preview_lang(&viewer, &form);
    let from_json = action.starts_with("json");
    let (draft, mut problems) = if from_json {
        match read_json_view(&viewer, &form) {
            Ok(draft) => (draft, Vec::new()),
            Err(problems) => {
                let current = FormDraft {
                    title: form.get("title").cloned().unwrap_or_default(),
                    schema: Value::Null,
                    ui_schema: Value::Null,
                };
                let typed = (
                    form.get("schema_json").map(String::as_str).unwrap_or(""),
                    form.get("ui_schema_json").map(String::as_str).unwrap_or(""),
                );
                let designer = Designer {
                    form: &record,
                    draft: &current,
                    problems: &problems,
                    preview_lang,
                    json_typed: Some(typed),
                    published: None,
                };
                let page = render(&state, &viewer, designer).await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
        }
    } else {
        match read_designer(&form) {
            Ok(read) => read,
            Err(lost) => return Err(PageError::Internal(anyhow::anyhow!(lost.message))),
        }
    };
    let mut draft = draft;
    match action.split_once(':') {
        Some(("up", name)) => draft.move_field(name, -1),
        Some(("down", name)) => draft.move_field(name, 1),
        Some(("remove", name)) => draft.remove_field(name),
        _ if action == "add" => {
            let field_type = form
                .get("new_type")
                .and_then(|t| FieldType::parse(t))
                .unwrap_or(FieldType::Text);
            let label = BothLanguages {
                zh: form.get("new_label_zh").cloned().unwrap_or_default(),
                en: form.get("new_label_en").cloned().unwrap_or_default(),
            };
            let name = form.get("new_name").map(String::as_str).unwrap_or("");
            if let Err(problem) = draft.add_field(name, field_type, label) {
                problems.push(problem);
            }
        }
        _ => {}
    }
    if problems.is_empty()
        && let Err(found) = draft.compile()
    {
        problems = found;
    }
    let publishing = matches!(action, "publish" | "json_publish");
    if publishing && problems.is_empty() {
        let upload = VersionUpload {
            title: Some(draft.title.clone()),
            schema: draft.schema.clone(),
            ui_schema: draft.ui_schema.clone(),
        };
        return match publish_version(&state, viewer.tenant_id(), &slug, upload).await {
            Ok(published) => Ok(Redirect::to(&format!(
                "/app/admin/forms/{slug}?published={}",
                published.current_version
            ))
            .into_response()),
            Err(ApiError::Validation { errors, .. }) => {
                designer_again(&state, &viewer, &record, &draft, &errors, preview_lang).await
            }
            Err(other) => Err(other.into()),
        };
    }
    designer_again(&state, &viewer, &record, &draft, &problems, preview_lang).await
}

/// The designer on `draft`: 422 when it has problems.
async fn designer_again(
    state: &AppState,
    viewer: &Viewer,
    record: &FormRecord,
    draft: &FormDraft,
    problems: &[FieldError],
    preview_lang: Lang,
) -> Result<Response, PageError> {
    let designer = Designer {
        form: record,
        draft,
        problems,
        preview_lang,
        json_typed: None,
        published: None,
    };
    let page = render(state, viewer, designer).await?;
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, page).into_response())
}

fn preview_lang(viewer: &Viewer, form: &BTreeMap<String, String>) -> Lang {
    match form.get("preview_lang").map(String::as_str) {
        Some("zh") => Lang::Zh,
        Some("en") => Lang::En,
        _ => viewer.lang,
    }
}

/// `POST /app/admin/forms/{slug}/preview`: the draft as the public page
/// would show it (the page's script puts it in the preview frame), or its
/// problems (422).
pub async fn preview(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    state.store.tenant(viewer.tenant_id()).form(&slug).await?;
    let (draft, problems) = read_designer(&form).map_err(|lost| PageError::Internal(anyhow::anyhow!(lost.message)))?;
    let (status, mut html) = preview_document(&viewer, &draft, &problems, preview_lang(&viewer, &form));
    if let Some(field) = form.get("focus").filter(|f| draft.field_names().contains(f)) {
        html.push_str(&scroll_to(field));
    }
    Ok((status, Html(html)).into_response())
}

/// A script that brings the field being edited into the preview's view
/// (the frame is sandboxed from the page, so the page cannot scroll it).
fn scroll_to(field: &str) -> String {
    let id = serde_json::to_string(&format!("f-{field}"))
        .unwrap_or_default()
        .replace('<', "\\u003c");
    format!(
        "<script>(function(){{var f=document.getElementById({id});\
         if(f)f.closest('.field,p,div').scrollIntoView({{block:'center'}});}})();</script>"
    )
}

/// The preview frame's document: the public page's own rendering of the
/// draft, or a page listing what stops it.
fn preview_document(viewer: &Viewer, draft: &FormDraft, problems: &[FieldError], lang: Lang) -> (StatusCode, String) {
    let compiled = if problems.is_empty() {
        draft.compile()
    } else {
        Err(problems.to_vec())
    };
    match compiled {
        Ok(compiled) => (
            StatusCode::OK,
            render_form(&compiled, &PageState::new(lang)).into_string(),
        ),
        Err(problems) => {
            let body = html! {
                div.summary role="alert" {
                    p { strong { (viewer.words().fix_errors) } }
                    @for p in &problems { p.error { code { (p.pointer) } " " (p.message) } }
                }
            };
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                crate::forms::page::layout(lang, &draft.title, body).into_string(),
            )
        }
    }
}

async fn render(state: &AppState, viewer: &Viewer, d: Designer<'_>) -> Result<Markup, PageError> {
    let w = viewer.words();
    let lang = viewer.lang;
    let store = state.store.tenant(viewer.tenant_id());
    let versions = store.form_versions(&d.form.id).await?;
    let tenant = state.store.tenant_by_id(viewer.tenant_id()).await?;
    let public = public_url(&tenant.slug, &d.form.slug);
    let fields = d.draft.fields();
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let draft_json = serde_json::to_string(d.draft).unwrap_or_default();
    let typed = serde_json::to_value(d.draft).ok();
    let (_, preview) = preview_document(viewer, d.draft, d.problems, d.preview_lang);
    let page_title = d.draft.page_title();
    let action = format!("/app/admin/forms/{}", d.form.slug);
    let problems_of = |name: &str| -> Vec<&FieldError> {
        let schema_at = format!("/schema/properties/{name}");
        let ui_at = format!("/ui_schema/{name}");
        d.problems
            .iter()
            .filter(|p| {
                [&schema_at, &ui_at]
                    .iter()
                    .any(|at| p.pointer == **at || p.pointer.starts_with(&format!("{at}/")))
            })
            .collect()
    };
    let body = html! {
        p { a href="/app/admin/forms" { "← " (w.forms) } " · " (w.public_page) ": " a #public-link href=(public) { (public) } }
        @if let Some(version) = d.published { (notice(&w.form_published.replace("{}", &version.to_string()))) }
        (problems_at_pointers(viewer, "designer-problems", d.problems, typed.as_ref()))
        div.designer style="display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1.5rem;align-items:start" {
            form #designer method="post" action=(action) novalidate data-designer
                data-preview=(format!("{action}/preview")) {
                (csrf(viewer))
                input type="hidden" name="draft" value=(draft_json);
                label for="form-title" { (w.form_title) }
                input #form-title name="title" value=(d.draft.title);
                div style="display:flex;gap:.5rem" {
                    div { label for="page-title-zh" { (w.page_title) " (中文)" }
                        input #page-title-zh name="page_title_zh" value=(page_title.zh); }
                    div { label for="page-title-en" { (w.page_title) " (English)" }
                        input #page-title-en name="page_title_en" value=(page_title.en); }
                }
                @for (i, field) in fields.iter().enumerate() {
                    (field_editor(viewer, i, field, &names, &problems_of(&field.name)))
                }
                fieldset #new-field {
                    legend { (w.add_field) }
                    div style="display:flex;flex-wrap:wrap;gap:.5rem;align-items:end" {
                        div { label for="new-name" { (w.field_name) }
                            input #new-name name="new_name" placeholder="annual_budget" size="16"
                                aria-invalid=[d.problems.iter().any(|p| p.pointer == "/new_field").then_some("true")]; }
                        div { label for="new-type" { (w.field_type) } (type_select("new-type", "new_type", FieldType::Text, lang, false)) }
                        div { label for="new-label-zh" { (w.label) " (中文)" } input #new-label-zh name="new_label_zh" size="12"; }
                        div { label for="new-label-en" { (w.label) " (English)" } input #new-label-en name="new_label_en" size="12"; }
                        button type="submit" name="action" value="add" { (w.add_field) }
                    }
                }
                div style="display:flex;gap:.5rem;align-items:end;margin-top:1rem" {
                    div { label for="preview-lang" { (w.preview_language) }
                        select #preview-lang name="preview_lang" {
                            @for l in Lang::ALL {
                                option value=(l.code()) selected[l == d.preview_lang] { (match l { Lang::Zh => "中文", Lang::En => "English" }) }
                            }
                        }
                    }
                    button type="submit" name="action" value="preview" { (w.update_preview) }
                    button #publish type="submit" name="action" value="publish" { (w.publish) }
                }
            }
            section #preview-pane style="position:sticky;top:0" {
                h2 { (w.preview) " " span #preview-status.muted role="status" {} }
                iframe #preview title=(w.preview) sandbox="allow-scripts" srcdoc=(preview)
                    style="width:100%;height:80vh;border:1px solid #ccc;background:#fff" {}
            }
        }
        details #json-view open[d.json_typed.is_some()] {
            summary { (w.json_view) }
            form method="post" action=(action) novalidate {
                (csrf(viewer))
                input type="hidden" name="title" value=(d.draft.title);
                label for="schema-json" { "schema" }
                textarea #schema-json name="schema_json" rows="18" spellcheck="false" style="font-family:monospace" {
                    (d.json_typed.map(|t| t.0.to_owned()).unwrap_or_else(|| pretty(&d.draft.schema)))
                }
                label for="ui-schema-json" { "ui_schema" }
                textarea #ui-schema-json name="ui_schema_json" rows="12" spellcheck="false" style="font-family:monospace" {
                    (d.json_typed.map(|t| t.1.to_owned()).unwrap_or_else(|| pretty(&d.draft.ui_schema)))
                }
                p {
                    button type="submit" name="action" value="json" { (w.apply_json) } " "
                    button type="submit" name="action" value="json_publish" { (w.publish) }
                }
            }
        }
        section #versions {
            h2 { (w.versions) }
            table {
                thead { tr { th { (w.version) } th { (w.form_title) } th { (w.created) } th { (w.leads_captured) } } }
                tbody {
                    @for v in &versions {
                        tr data-version=(v.version) {
                            td { (v.version) @if v.version == d.form.current_version { " (" (w.current) ")" } }
                            td { (v.title) }
                            td { (local_time(viewer, v.created_at)) }
                            td.leads { (v.leads) }
                        }
                    }
                }
            }
        }
        script src=(DESIGNER_JS.url()) defer {}
    };
    Ok(page(
        viewer,
        Section::Forms,
        &format!("{} · {}", w.form_designer, d.form.slug),
        body,
    ))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn type_select(id: &str, name: &str, current: FieldType, lang: Lang, rerender: bool) -> Markup {
    html! {
        select id=(id) name=(name) data-rerender[rerender] {
            @for t in FieldType::ALL {
                option value=(t.as_str()) selected[t == current] { (lang.term(&format!("field:{}", t.as_str()))) }
            }
        }
    }
}

/// One field's settings, named `f{i}.…`, with its problems.
fn field_editor(viewer: &Viewer, i: usize, field: &DesignField, names: &[&str], problems: &[&FieldError]) -> Markup {
    let w = viewer.words();
    let lang = viewer.lang;
    let id = |key: &str| format!("f{i}-{key}");
    let name = |key: &str| format!("f{i}.{key}");
    let (when_field, when_value) = field.shown_when.clone().unwrap_or_default();
    let number = |n: Option<f64>| n.map(|n| n.to_string());
    html! {
        fieldset.design-field #(format!("field-{}", field.name)) data-field=(field.name)
            aria-invalid=[(!problems.is_empty()).then_some("true")] {
            legend {
                code { (field.name) } " "
                button type="submit" name="action" value=(format!("up:{}", field.name)) title=(w.move_up) aria-label=(format!("{} {}", w.move_up, field.name)) { "↑" }
                button type="submit" name="action" value=(format!("down:{}", field.name)) title=(w.move_down) aria-label=(format!("{} {}", w.move_down, field.name)) { "↓" }
                button type="submit" name="action" value=(format!("remove:{}", field.name)) aria-label=(format!("{} {}", w.remove, field.name)) { (w.remove) }
            }
            @if !problems.is_empty() {
                ul.problem role="alert" { @for p in problems { li data-pointer=(p.pointer) { (p.message) } } }
            }
            input type="hidden" name=(name("name")) value=(field.name);
            div style="display:flex;flex-wrap:wrap;gap:.5rem;align-items:end" {
                div { label for=(id("type")) { (w.field_type) } (type_select(&id("type"), &name("type"), field.field_type, lang, true)) }
                div { label for=(id("label_zh")) { (w.label) " (中文)" } input id=(id("label_zh")) name=(name("label_zh")) value=(field.label.zh) size="14"; }
                div { label for=(id("label_en")) { (w.label) " (English)" } input id=(id("label_en")) name=(name("label_en")) value=(field.label.en) size="14"; }
                div { label { input type="checkbox" name=(name("required")) value="1" checked[field.required]; " " (w.field_required) } }
            }
            div style="display:flex;flex-wrap:wrap;gap:.5rem" {
                div { label for=(id("help_zh")) { (w.help_text) " (中文)" } input id=(id("help_zh")) name=(name("help_zh")) value=(field.help.zh) size="20"; }
                div { label for=(id("help_en")) { (w.help_text) " (English)" } input id=(id("help_en")) name=(name("help_en")) value=(field.help.en) size="20"; }
            }
            @if field.field_type.has_options() {
                label for=(id("options")) { (w.options_hint) }
                textarea id=(id("options")) name=(name("options")) rows=(field.options.len().clamp(2, 8)) { (options_text(&field.options)) }
            }
            div style="display:flex;flex-wrap:wrap;gap:.5rem" {
                @if field.field_type.has_bounds() {
                    div { label for=(id("min")) { (w.minimum) } input id=(id("min")) name=(name("min")) inputmode="decimal" size="6" value=[number(field.minimum)]; }
                    div { label for=(id("max")) { (w.maximum) } input id=(id("max")) name=(name("max")) inputmode="decimal" size="6" value=[number(field.maximum)]; }
                }
                @if field.field_type.has_length() {
                    div { label for=(id("max_length")) { (w.max_length) } input id=(id("max_length")) name=(name("max_length")) inputmode="numeric" size="6" value=[field.max_length]; }
                }
                div { label for=(id("when_field")) { (w.shown_when) }
                    select id=(id("when_field")) name=(name("when_field")) {
                        option value="" { (w.always_shown) }
                        @for other in names.iter().filter(|n| **n != field.name) {
                            option value=(other) selected[*other == when_field] { (other) }
                        }
                    }
                }
                div { label for=(id("when_value")) { (w.has_value) } input id=(id("when_value")) name=(name("when_value")) value=(when_value) size="10"; }
            }
        }
    }
}

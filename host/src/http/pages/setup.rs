//! `/app/admin/setup/{setting}`: an admin edits the scoring model, the
//! routing rules, the SLA policy and the pool settings as JSON. The save
//! goes through `setup::Setting::replace`, as the API's does; each problem
//! is shown at its JSON pointer, with what the document holds there, and
//! the typed text is kept. Recent changes, with who made them, sit beside.
//! The common cases have forms too, saved through the same path: the SLA
//! policy's and pool's numbers, the scoring model's thresholds, and the
//! routing rules (a rule added, moved or removed).

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::frame::{Section, csrf, local_time, notice, page};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::error::FieldError;
use crate::setup::{Setting, SetupError};

/// How many past changes the page lists.
const CHANGES_SHOWN: i64 = 10;

/// The common fields of a setting, set with a form instead of JSON: each a
/// whole number at its pointer (blank: absent, or `null` for the pool's
/// limits, which it turns off).
fn quick_fields(setting: Setting) -> &'static [&'static str] {
    match setting {
        Setting::SlaPolicy => &[
            "/first_touch_minutes/hot",
            "/first_touch_minutes/warm",
            "/first_touch_minutes/cold",
            "/warn_before_minutes",
            "/follow_up_hours",
            "/recycle_after_hours",
        ],
        Setting::PoolSettings => &["/claim_limit", "/bar_hours"],
        // The thresholds an admin tunes most; the rules stay in the JSON.
        Setting::ScoringModel => &["/tiers/warm", "/tiers/hot", "/promote/mql", "/promote/sql"],
        Setting::RoutingRules => &[],
    }
}

/// The document with the quick form's fields set, or the problems with them.
fn with_quick_fields(
    setting: Setting,
    mut document: Value,
    form: &BTreeMap<String, String>,
) -> Result<Value, Vec<FieldError>> {
    let mut problems = Vec::new();
    for pointer in quick_fields(setting) {
        let raw = form.get(*pointer).map(|v| v.trim()).unwrap_or("");
        let value = match raw {
            "" if setting == Setting::PoolSettings => Some(Value::Null),
            "" => None,
            raw => match raw.parse::<u32>() {
                Ok(n) => Some(Value::from(n)),
                Err(_) => {
                    problems.push(FieldError::new(*pointer, format!("{raw:?} is not a whole number")));
                    continue;
                }
            },
        };
        let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
        if let Some(Value::Object(members)) = document.pointer_mut(parent) {
            match value {
                Some(value) => members.insert(key.to_owned(), value),
                None => members.remove(key),
            };
        }
    }
    if problems.is_empty() {
        Ok(document)
    } else {
        Err(problems)
    }
}

/// The routing rules changed by the rules form: a rule added at the end
/// (`rule_add`), or rule `i` moved up, down or removed
/// (`rule_up:i`, `rule_down:i`, `rule_remove:i`). The whole document is
/// then checked and saved as a JSON edit would be.
fn with_rule_change(
    mut document: Value,
    mode: &str,
    form: &BTreeMap<String, String>,
) -> Result<Value, Vec<FieldError>> {
    if !document.is_object() {
        document = json!({});
    }
    let rules = document
        .as_object_mut()
        .map(|d| d.entry("rules").or_insert_with(|| json!([])))
        .and_then(Value::as_array_mut)
        .ok_or_else(|| vec![FieldError::new("/rules", "must be an array of rules")])?;
    let at = |i: &str| i.parse::<usize>().ok().filter(|i| *i < rules.len());
    match mode.split_once(':') {
        Some(("rule_up", i)) => {
            if let Some(i) = at(i).filter(|i| *i > 0) {
                rules.swap(i, i - 1);
            }
        }
        Some(("rule_down", i)) => {
            if let Some(i) = at(i).filter(|i| i + 1 < rules.len()) {
                rules.swap(i, i + 1);
            }
        }
        Some(("rule_remove", i)) => {
            if let Some(i) = at(i) {
                rules.remove(i);
            }
        }
        _ => rules.push(rule_from(form, rules.len())?),
    }
    Ok(document)
}

/// A rule from the add-a-rule form; the rest of its checks are the rules'.
fn rule_from(form: &BTreeMap<String, String>, index: usize) -> Result<Value, Vec<FieldError>> {
    let get = |key: &str| form.get(key).map(|v| v.trim()).unwrap_or("");
    let mut when = serde_json::Map::new();
    let tiers: Vec<&str> = ["hot", "warm", "cold"]
        .into_iter()
        .filter(|t| form.contains_key(&format!("rule_tier_{t}")))
        .collect();
    if !tiers.is_empty() {
        when.insert("tier".into(), json!(tiers));
    }
    let sources: Vec<&str> = get("rule_source")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if !sources.is_empty() {
        when.insert("source".into(), json!(sources));
    }
    if !get("rule_form").is_empty() {
        when.insert("form".into(), json!([get("rule_form")]));
    }
    let assign = match get("rule_target").split_once(':') {
        Some(("team", name)) => json!({"team": name}),
        Some(("rep", email)) => json!({"rep": email}),
        _ if get("rule_target") == "hold" => json!({"hold": true}),
        _ if get("rule_target") == "pool" => json!({"pool": true}),
        _ => {
            return Err(vec![FieldError::new(
                format!("/rules/{index}/assign"),
                "choose where the matching leads go",
            )]);
        }
    };
    Ok(json!({"id": get("rule_id"), "when": when, "assign": assign}))
}

/// The rules as a list with their order, and a form adding one: the
/// common case without JSON.
async fn rules_form(state: &AppState, viewer: &Viewer, document: Option<&Value>) -> Result<Markup, PageError> {
    let w = viewer.words();
    let lang = viewer.lang;
    let store = state.store.tenant(viewer.tenant_id());
    let teams = store.teams().await?;
    let reps: Vec<_> = store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.role == crate::domain::Role::Rep)
        .collect();
    let forms = store.forms().await?;
    let rules = document
        .and_then(|d| d.get("rules"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let compact = |v: Option<&Value>| v.map(Value::to_string).unwrap_or_default();
    Ok(html! {
        section #rules-form {
            form method="post" action="/app/admin/setup/routing_rules" novalidate {
                (csrf(viewer))
                table #rules {
                    thead { tr { th { "#" } th { "id" } th { (w.rule_when) } th { (w.rule_assign) } th {} } }
                    tbody {
                        @for (i, rule) in rules.iter().enumerate() {
                            tr data-rule=(compact(rule.get("id")).trim_matches('"')) {
                                td { (i + 1) }
                                td { code { (rule.get("id").and_then(Value::as_str).unwrap_or("")) } }
                                td { code { (compact(rule.get("when"))) } }
                                td { code { (compact(rule.get("assign"))) } }
                                td {
                                    button type="submit" name="mode" value=(format!("rule_up:{i}")) aria-label=(w.move_up) { "↑" }
                                    button type="submit" name="mode" value=(format!("rule_down:{i}")) aria-label=(w.move_down) { "↓" }
                                    button type="submit" name="mode" value=(format!("rule_remove:{i}")) { (w.remove) }
                                }
                            }
                        }
                    }
                }
            }
            form #add-rule method="post" action="/app/admin/setup/routing_rules" novalidate {
                (csrf(viewer))
                input type="hidden" name="mode" value="rule_add";
                div.filters style="display:flex;flex-wrap:wrap;gap:.5rem;align-items:end" {
                    div { label for="rule-id" { "id" } input #rule-id name="rule_id" size="12" placeholder="hot-to-east"; }
                    div { span { (w.tier) } br;
                        @for tier in ["hot", "warm", "cold"] {
                            label { input type="checkbox" name=(format!("rule_tier_{tier}")) value="1"; " " (lang.term(tier)) } " "
                        }
                    }
                    div { label for="rule-source" { (w.source) } input #rule-source name="rule_source" size="12" placeholder="webinar, partner"; }
                    div { label for="rule-form" { (w.form) }
                        select #rule-form name="rule_form" {
                            option value="" { (w.all) }
                            @for form in &forms { option value=(form.slug) { (form.title) } }
                        }
                    }
                    div { label for="rule-target" { (w.rule_assign) }
                        select #rule-target name="rule_target" {
                            @for team in &teams { option value=(format!("team:{}", team.name)) { (w.team) ": " (team.name) } }
                            @for rep in &reps { option value=(format!("rep:{}", rep.email)) { (rep.name) " <" (rep.email) ">" } }
                            option value="pool" { (w.pool) }
                            option value="hold" { (w.held) }
                        }
                    }
                    button type="submit" { (w.add_rule) }
                }
            }
        }
    })
}

fn setting(slug: &str) -> Result<Setting, PageError> {
    Setting::parse(slug).ok_or(PageError::NotFound)
}

struct Editor<'a> {
    setting: Setting,
    text: &'a str,
    problems: &'a [FieldError],
    /// Shown with a notice: the tenant has none yet.
    starting_point: bool,
    saved: bool,
}

async fn render(state: &AppState, viewer: &Viewer, editor: Editor<'_>) -> Result<Markup, PageError> {
    let w = viewer.words();
    let store = state.store.tenant(viewer.tenant_id());
    let changes = store.setting_changes(editor.setting.slug(), CHANGES_SHOWN).await?;
    let typed: Option<Value> = serde_json::from_str(editor.text).ok();
    let lang = viewer.lang;
    let rules = match editor.setting {
        Setting::RoutingRules => Some(rules_form(state, viewer, typed.as_ref()).await?),
        _ => None,
    };
    let body = html! {
        nav.tabs aria-label=(w.setup) {
            @for s in Setting::ALL {
                a href=(format!("/app/admin/setup/{}", s.slug()))
                    class=[(s == editor.setting).then_some("here")]
                    aria-current=[(s == editor.setting).then_some("page")] { (lang.term(s.slug())) }
            }
        }
        @if editor.saved { (notice(w.setup_saved)) }
        @if editor.starting_point { p.muted { (w.starting_point) } }
        @if !quick_fields(editor.setting).is_empty() {
            @let current: Option<Value> = typed.clone();
            section #quick-form {
                form method="post" action=(format!("/app/admin/setup/{}", editor.setting.slug())) novalidate {
                    (csrf(viewer))
                    input type="hidden" name="mode" value="form";
                    div.filters style="display:flex;flex-wrap:wrap;gap:.5rem" {
                        @for pointer in quick_fields(editor.setting) {
                            @let id = pointer.trim_start_matches('/').replace('/', "-");
                            @let value = current.as_ref().and_then(|v| v.pointer(pointer)).and_then(Value::as_u64);
                            div {
                                label for=(id) { (lang.term(pointer)) }
                                input #(id) name=(pointer) inputmode="numeric" size="8"
                                    value=[value] aria-invalid=[editor.problems.iter().any(|p| p.pointer == *pointer).then_some("true")];
                            }
                        }
                    }
                    p { button type="submit" { (w.save) } }
                }
            }
        }
        @if let Some(rules) = &rules { (rules) }
        (problems_at_pointers(viewer, "setup-problems", editor.problems, typed.as_ref()))
        form #json-form method="post" action=(format!("/app/admin/setup/{}", editor.setting.slug())) novalidate {
            (csrf(viewer))
            label for="document" { (lang.term(editor.setting.slug())) " (JSON)" }
            textarea #document name="document" rows="24" spellcheck="false" style="font-family:monospace"
                aria-invalid=[(!editor.problems.is_empty()).then_some("true")]
                aria-describedby=[(!editor.problems.is_empty()).then_some("setup-problems")] { (editor.text) }
            p { button type="submit" { (w.save) } }
        }
        section {
            h2 { (w.recent_changes) }
            @if changes.is_empty() {
                p.muted { (w.no_changes) }
            } @else {
                table #changes {
                    thead { tr { th { (w.created) } th { (w.changed_by) } } }
                    tbody {
                        @for change in &changes {
                            tr {
                                td { (local_time(viewer, change.changed_at)) }
                                td { (change.changed_by_name.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(viewer, Section::Setup, w.setup, body))
}

/// The typed text as JSON, or where it stops being JSON (a problem at the
/// document's root, saying the line and column).
pub(super) fn typed_document(viewer: &Viewer, text: &str) -> Result<Value, SetupError> {
    serde_json::from_str(text).map_err(|e| SetupError::Invalid {
        title: "",
        problems: vec![not_json(viewer, "", &e)],
    })
}

/// Text that should be JSON and is not: a problem at `pointer` saying the
/// line and column where it stops.
pub(super) fn not_json(viewer: &Viewer, pointer: &str, e: &serde_json::Error) -> FieldError {
    FieldError::new(
        pointer,
        format!(
            "{} (line {}, column {}: {e})",
            viewer.words().json_not_valid,
            e.line(),
            e.column()
        ),
    )
}

/// Each problem at its pointer, with what the typed document holds there.
pub(super) fn problems_at_pointers(
    viewer: &Viewer,
    id: &str,
    problems: &[FieldError],
    typed: Option<&Value>,
) -> Markup {
    html! {
        @if !problems.is_empty() {
            div.problem role="alert" id=(id) {
                (viewer.words().fix_errors)
                ul {
                    @for problem in problems {
                        li data-pointer=(problem.pointer) {
                            code { (if problem.pointer.is_empty() { "/" } else { problem.pointer.as_str() }) }
                            " " (problem.message)
                            @if let Some(value) = typed.and_then(|v| v.pointer(&problem.pointer)).filter(|_| !problem.pointer.is_empty()) {
                                br; span.muted { (excerpt(value)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A value's JSON, cut short: what the document holds at a problem's pointer.
fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// `GET /app/admin/setup/{setting}`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let setting = setting(&slug)?;
    let store = state.store.tenant(viewer.tenant_id());
    let current = setting.current(&store).await?;
    let starting_point = !exists(&store, setting).await?;
    let text = serde_json::to_string_pretty(&current).unwrap_or_default();
    let editor = Editor {
        setting,
        text: &text,
        problems: &[],
        starting_point,
        saved: query.contains_key("done"),
    };
    Ok(render(&state, &viewer, editor).await?.into_response())
}

/// Whether the tenant has set its own (else the editor starts from a
/// starting point, or the default model).
async fn exists(store: &crate::storage::TenantStore<'_>, setting: Setting) -> Result<bool, PageError> {
    Ok(match setting {
        Setting::ScoringModel => store.scoring_model().await?.is_some(),
        Setting::RoutingRules => store.routing_rules().await?.is_some(),
        Setting::SlaPolicy => store.sla_policy().await?.is_some(),
        Setting::PoolSettings => true,
    })
}

/// `POST /app/admin/setup/{setting}`: saved and shown again, or the typed
/// text back with each problem at its pointer (422).
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let setting = setting(&slug)?;
    let text = match form.get("mode").map(String::as_str) {
        // The quick form: its fields set on the document as it stands.
        Some("form") => {
            let current = setting.current(&state.store.tenant(viewer.tenant_id())).await?;
            match with_quick_fields(setting, current.clone(), &form) {
                Ok(document) => serde_json::to_string_pretty(&document).unwrap_or_default(),
                Err(problems) => {
                    let text = serde_json::to_string_pretty(&current).unwrap_or_default();
                    return refused(&state, &viewer, setting, &text, &problems).await;
                }
            }
        }
        // The rules form: one rule added, moved or removed.
        Some(mode) if setting == Setting::RoutingRules && mode.starts_with("rule_") => {
            let current = setting.current(&state.store.tenant(viewer.tenant_id())).await?;
            match with_rule_change(current.clone(), mode, &form) {
                Ok(document) => serde_json::to_string_pretty(&document).unwrap_or_default(),
                Err(problems) => {
                    let text = serde_json::to_string_pretty(&current).unwrap_or_default();
                    return refused(&state, &viewer, setting, &text, &problems).await;
                }
            }
        }
        _ => form.get("document").cloned().unwrap_or_default(),
    };
    let outcome = match typed_document(&viewer, &text) {
        Ok(document) => {
            setting
                .replace(&state, viewer.tenant_id(), Some(viewer.user_id()), document)
                .await
        }
        Err(not_json) => Err(not_json),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/app/admin/setup/{}?done=1", setting.slug())).into_response()),
        Err(SetupError::Invalid { problems, .. }) => refused(&state, &viewer, setting, &text, &problems).await,
        Err(SetupError::Store(e)) => Err(e.into()),
    }
}

/// The editor again with the text as sent and each problem at its pointer.
async fn refused(
    state: &AppState,
    viewer: &Viewer,
    setting: Setting,
    text: &str,
    problems: &[FieldError],
) -> Result<Response, PageError> {
    let editor = Editor {
        setting,
        text,
        problems,
        starting_point: false,
        saved: false,
    };
    let page = render(state, viewer, editor).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

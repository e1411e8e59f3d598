//! `/app/dashboard`: the managers' 看板. The same views as
//! `GET /api/v1/dashboard` (`dashboard::load` decides the scope: admins see
//! everything, managers their teams), with a date range and filters, the
//! funnel and the tiers drawn as server-rendered SVG bars, and each view as
//! CSV (`/app/dashboard/{view}.csv`, for a session rather than a token).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde_json::Value;

use super::frame::{Section, page};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::dashboard::figures::VIEWS;
use crate::dashboard::{self, Dashboard, DashboardQuery, Table, export};
use crate::domain::Role;
use crate::error::{ApiError, FieldError};
use crate::i18n::Lang;

/// Columns the JSON and CSV keep for programs but a person need not read.
const HIDDEN: [&str; 3] = ["user_id", "average_seconds", "average_seconds_to_won"];

/// Why the dashboard could not be shown: the query's problems, or a page error.
enum Refusal {
    Problems(Vec<FieldError>),
    Page(PageError),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Validation { errors, .. } => Refusal::Problems(errors),
            ApiError::Forbidden => Refusal::Page(PageError::Forbidden),
            other => Refusal::Page(PageError::Internal(anyhow::anyhow!("{other}"))),
        }
    }
}

async fn board(
    state: &AppState,
    viewer: &Viewer,
    params: &BTreeMap<String, String>,
) -> Result<(DashboardQuery, Dashboard), Refusal> {
    let store = state.store.tenant(viewer.tenant_id());
    let time_zone = store.settings().await.map_err(|e| Refusal::Page(e.into()))?.time_zone;
    let query = DashboardQuery::parse(params, dashboard::today(&time_zone)).map_err(Refusal::Problems)?;
    let board = dashboard::load(&store, viewer.caller.role, Some(viewer.user_id()), &query).await?;
    Ok((query, board))
}

/// `GET /app/dashboard`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let w = viewer.words();
    let mut shown = params.clone();
    let (status, body) = match board(&state, &viewer, &params).await {
        Ok((query, board)) => {
            // The form shows the range in effect (the last 30 days unless asked).
            shown.insert("from".into(), query.from.to_string());
            shown.insert("to".into(), query.to.to_string());
            (StatusCode::OK, views(&viewer, &board, &params))
        }
        Err(Refusal::Problems(problems)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            html! {
                div.problem role="alert" #dashboard-problems {
                    (w.fix_errors)
                    ul { @for p in &problems { li data-pointer=(p.pointer) { code { (p.pointer) } " " (p.message) } } }
                }
            },
        ),
        Err(Refusal::Page(e)) => return Err(e),
    };
    let filters = filters(&state, &viewer, &shown).await?;
    let body = html! { (filters) (body) };
    Ok((status, page(&viewer, Section::Dashboard, w.dashboard, body)).into_response())
}

/// `GET /app/dashboard/{view}.csv`: one view, as the API exports it.
pub async fn export_view(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(file): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let view = file
        .strip_suffix(".csv")
        .filter(|v| VIEWS.contains(v))
        .ok_or(PageError::NotFound)?;
    let (query, board) = match board(&state, &viewer, &params).await {
        Ok(found) => found,
        Err(Refusal::Problems(_)) => return Ok(StatusCode::UNPROCESSABLE_ENTITY.into_response()),
        Err(Refusal::Page(e)) => return Err(e),
    };
    let table = board.view(view).ok_or(PageError::NotFound)?;
    let (name, body) = export::view_file(view, &query, table).map_err(|e| PageError::Internal(e.into()))?;
    Ok(crate::http::csv_download(&name, body))
}

/// The range and filter form (a GET: the URL is the view, to bookmark or share).
async fn filters(state: &AppState, viewer: &Viewer, params: &BTreeMap<String, String>) -> Result<Markup, PageError> {
    let w = viewer.words();
    let store = state.store.tenant(viewer.tenant_id());
    let teams: Vec<String> = match viewer.caller.role {
        Role::Admin => store.teams().await?.into_iter().map(|t| t.name).collect(),
        _ => store.teams_managed_by(viewer.user_id()).await?,
    };
    let forms = store.forms().await?;
    let value = |key: &str| params.get(key).map(String::as_str).unwrap_or("");
    let chosen = |key: &str, option: &str| value(key) == option;
    Ok(html! {
        form.filters #dashboard-filters method="get" action="/app/dashboard" {
            div { label for="from" { (w.from) } input #from type="date" name="from" value=(value("from")); }
            div { label for="to" { (w.to) } input #to type="date" name="to" value=(value("to")); }
            div {
                label for="team" { (w.team) }
                select #team name="team" {
                    option value="" { (w.all) }
                    @for team in &teams { option value=(team) selected[chosen("team", team)] { (team) } }
                }
            }
            div { label for="source" { (w.source) } input #source name="source" value=(value("source")); }
            div { label for="campaign" { (w.campaign) } input #campaign name="campaign" value=(value("campaign")); }
            div {
                label for="form" { (w.form) }
                select #form name="form" {
                    option value="" { (w.all) }
                    @for form in &forms { option value=(form.slug) selected[chosen("form", &form.slug)] { (form.slug) } }
                }
            }
            div { button type="submit" { (w.show) } }
        }
    })
}

fn views(viewer: &Viewer, board: &Dashboard, params: &BTreeMap<String, String>) -> Markup {
    let lang = viewer.lang;
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(_, v)| !v.is_empty()))
        .finish();
    html! {
        @for (name, table) in &board.views {
            section.view id=(format!("view-{name}")) {
                h2 {
                    (lang.term(name)) " "
                    a.muted href=(format!("/app/dashboard/{name}.csv?{query}")) download { "CSV" }
                }
                @match *name {
                    "funnel" => (bars(table, "leads", lang)),
                    "tiers" => (bars(table, "leads", lang)),
                    _ => {}
                }
                (table_of(table, lang))
            }
        }
    }
}

/// Horizontal bars of a count column, drawn on the server (no script).
fn bars(table: &Table, column: &str, lang: Lang) -> Markup {
    let Some(at) = table.columns.iter().position(|c| *c == column) else {
        return html! {};
    };
    let counts: Vec<(String, i64)> = table
        .rows
        .iter()
        .map(|row| (label(&row[0], lang), row[at].as_i64().unwrap_or(0)))
        .collect();
    let most = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let (row_height, label_width, bar_width) = (26, 120, 420);
    let height = row_height * counts.len() as i64;
    html! {
        svg.bars role="img" aria-label=(lang.term(column)) width=(label_width + bar_width + 80) height=(height)
            viewBox=(format!("0 0 {} {height}", label_width + bar_width + 80)) {
            @for (i, (name, n)) in counts.iter().enumerate() {
                @let y = i as i64 * row_height;
                @let width = (n * bar_width / most).max(if *n > 0 { 2 } else { 0 });
                text x=(label_width - 8) y=(y + 17) text-anchor="end" font-size="13" { (name) }
                rect x=(label_width) y=(y + 4) width=(width) height=(row_height - 8) rx="3" fill="#1f4fd1" {}
                text x=(label_width + width + 6) y=(y + 17) font-size="13" { (n) }
            }
        }
    }
}

fn table_of(table: &Table, lang: Lang) -> Markup {
    let shown: Vec<usize> = (0..table.columns.len())
        .filter(|&i| !HIDDEN.contains(&table.columns[i]))
        .collect();
    // The summary's rows are figures: each value reads by its figure's name.
    let by_row = table.columns == ["figure", "value"];
    let rows = table
        .rows
        .iter()
        .filter(|row| !(by_row && HIDDEN.contains(&row[0].as_str().unwrap_or_default())));
    html! {
        div style="overflow-x:auto" { table {
            thead { tr { @for &i in &shown { th { (lang.term(table.columns[i])) } } } }
            tbody {
                @for row in rows {
                    tr data-key=(row[0].as_str().unwrap_or_default()) {
                        @for &i in &shown {
                            @let column = if by_row && i == 1 { row[0].as_str().unwrap_or_default() } else { table.columns[i] };
                            td { (cell(column, &row[i], lang)) }
                        }
                    }
                }
            }
        } }
    }
}

/// A value as a person reads it: rates as percentages, money in major
/// units, the domain's words in the viewer's language.
fn cell(column: &str, value: &Value, lang: Lang) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::Number(n) if is_rate(column) => format!("{:.1}%", n.as_f64().unwrap_or(0.0) * 100.0),
        Value::Number(n) if column.ends_with("value") => format!("{:.2}", n.as_f64().unwrap_or(0.0) / 100.0),
        Value::String(_) => label(value, lang),
        other => other.to_string(),
    }
}

fn is_rate(column: &str) -> bool {
    column.ends_with("rate")
        || [
            "conversion",
            "share",
            "sla_compliance",
            "lead_to_opportunity",
            "opportunity_to_won",
        ]
        .contains(&column)
}

fn label(value: &Value, lang: Lang) -> String {
    match value {
        Value::String(s) => lang.term(s).to_owned(),
        other => other.to_string(),
    }
}

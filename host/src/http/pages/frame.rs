//! The frame every workspace page shares: navigation, the unread count, the
//! style sheet; and the small pieces pages repeat (times in the viewer's
//! zone, SLA countdowns, the CSRF field, messages).

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::Viewer;
use crate::clock::Timestamp;
use crate::domain::Role;
use crate::i18n::Lang;

const STYLE: &str = "
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'PingFang SC','Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:0;color:#1d2433;line-height:1.45;background:#f6f7f9}
header{background:#1d2433;color:#fff;display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1rem;padding:.5rem 1rem}
header a{color:#dfe6f3;text-decoration:none;padding:.25rem .4rem;border-radius:4px}
header a.here{background:#3a4660;color:#fff}
header .who{margin-left:auto;font-size:.875rem;color:#b8c2d6}
header form{display:inline}
header button{background:none;border:1px solid #5b6780;color:#dfe6f3;padding:.2rem .6rem;font-size:.875rem}
.badge{background:#d92d20;color:#fff;border-radius:999px;padding:0 .45rem;font-size:.75rem;margin-left:.2rem}
main{max-width:72rem;margin:1rem auto;padding:0 1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
h2{font-size:1.1rem;margin:1.25rem 0 .5rem}
section{background:#fff;border:1px solid #e1e5eb;border-radius:6px;padding:.75rem 1rem;margin-bottom:1rem}
table{width:100%;border-collapse:collapse;font-size:.925rem}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-weight:600;color:#4a5468;white-space:nowrap}
a{color:#1f4fd1}
.tier-hot{color:#b42318;font-weight:600}.tier-warm{color:#b54708}.tier-cold{color:#475467}
.late{color:#b42318;font-weight:600}.soon{color:#b54708}
.muted{color:#667085;font-size:.875rem}
.notice{border:1px solid #12b76a;background:#ecfdf3;padding:.5rem .75rem;border-radius:4px}
.problem{border:1px solid #b42318;background:#fef3f2;padding:.5rem .75rem;border-radius:4px}
.error{color:#b42318;font-size:.875rem;margin:.2rem 0 0}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
label{display:block;font-weight:600;font-size:.875rem;margin:.5rem 0 .2rem}
input,select,textarea{font:inherit;padding:.4rem;border:1px solid #b8c0cc;border-radius:4px;max-width:100%}
textarea{width:100%;min-height:4rem}
button{background:#1f4fd1;color:#fff;border:0;border-radius:4px;padding:.45rem 1rem;font:inherit;cursor:pointer}
.timeline{list-style:none;padding:0;margin:0}
.timeline li{border-left:3px solid #d0d5dd;padding:.2rem .75rem;margin:.4rem 0}
.timeline .what{font-weight:600}
.grid{display:grid;grid-template-columns:2fr 1fr;gap:1rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem .75rem;margin:0}
dt{color:#4a5468}dd{margin:0}
svg.bars{max-width:100%;height:auto;display:block;margin:.25rem 0 .75rem}
nav.tabs{display:flex;flex-wrap:wrap;gap:.25rem;margin-bottom:.75rem}
nav.tabs a{padding:.3rem .6rem;border:1px solid #d0d5dd;border-radius:4px;text-decoration:none}
nav.tabs a.here{background:#1d2433;color:#fff;border-color:#1d2433}
@media (max-width:700px){.grid{grid-template-columns:1fr}table{font-size:.85rem}th:nth-child(n+5),td:nth-child(n+5){display:none}}
";

/// The workspace sections, for the navigation's highlight.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Agenda,
    Leads,
    Pool,
    Notifications,
    Account,
    Setup,
    Workflows,
    Dashboard,
    Users,
    Plugins,
    Teams,
    Forms,
}

/// A workspace page: navigation, then `body`.
pub fn page(viewer: &Viewer, section: Section, title: &str, body: Markup) -> Markup {
    let w = viewer.words();
    let leads_label = match viewer.caller.role {
        Role::Rep => w.my_leads,
        Role::Manager => w.team_leads,
        _ => w.all_leads,
    };
    let link = |href: &str, label: &str, here: Section| {
        html! { a href=(href) class=[(section == here).then_some("here")] { (label) } }
    };
    html! {
        (DOCTYPE)
        html lang=(viewer.lang.html_lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (w.product) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { (w.product) }
                    nav {
                        (link("/app/agenda", w.agenda, Section::Agenda))
                        (link("/app/leads", leads_label, Section::Leads))
                        (link("/app/pool", w.pool, Section::Pool))
                        a href="/app/notifications" class=[(section == Section::Notifications).then_some("here")] {
                            (w.notifications)
                            @if viewer.unread > 0 { span.badge #unread aria-label=(format!("{} {}", viewer.unread, w.unread)) { (viewer.unread) } }
                        }
                        @if viewer.caller.role == Role::Admin {
                            (link("/app/admin/setup/scoring_model", w.setup, Section::Setup))
                            (link("/app/admin/users", w.users, Section::Users))
                            (link("/app/admin/teams", w.teams, Section::Teams))
                            (link("/app/admin/forms", w.forms, Section::Forms))
                        }
                        @if matches!(viewer.caller.role, Role::Admin | Role::Integrator) {
                            (link("/app/admin/plugins", w.plugins, Section::Plugins))
                        }
                        @if matches!(viewer.caller.role, Role::Admin | Role::Manager) {
                            (link("/app/dashboard", w.dashboard, Section::Dashboard))
                            (link("/app/admin/workflows", w.workflows, Section::Workflows))
                        }
                        (link("/app/account", w.account, Section::Account))
                    }
                    span.who { (viewer.session.name) " · " (viewer.lang.term(viewer.session.role.as_str())) }
                    form method="post" action="/app/logout" {
                        (csrf(viewer))
                        button type="submit" { (w.log_out) }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// A page outside the workspace (login, errors).
pub fn bare_with(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.html_lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { main style="max-width:26rem;margin-top:3rem" { h1 { (title) } (body) } }
        }
    }
}

/// The hidden field every state-changing form carries.
pub fn csrf(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="_csrf" value=(viewer.session.csrf_token); }
}

/// A time in the viewer's zone, to the minute.
pub fn local_time(viewer: &Viewer, at: Timestamp) -> String {
    match jiff::Timestamp::from_microsecond(at.micros()) {
        Ok(ts) => ts.to_zoned(viewer.zone.clone()).strftime("%Y-%m-%d %H:%M").to_string(),
        Err(_) => at.to_rfc3339(),
    }
}

/// A `datetime-local` value read in the viewer's zone.
pub fn parse_input_time(viewer: &Viewer, raw: &str) -> Option<Timestamp> {
    let civil: jiff::civil::DateTime = raw.trim().parse().ok()?;
    let zoned = civil.to_zoned(viewer.zone.clone()).ok()?;
    Some(Timestamp(zoned.timestamp().as_microsecond()))
}

/// How long until a deadline ("due in 2 h 5 min") or since it passed.
pub fn countdown(viewer: &Viewer, due: Timestamp, now: Timestamp) -> Markup {
    let w = viewer.words();
    let left = due.micros() - now.micros();
    let minutes = (left.abs() / 60_000_000).max(if left < 0 { 1 } else { 0 });
    let span = if minutes >= 48 * 60 {
        format!("{} {}", minutes / 1440, w.days)
    } else if minutes >= 60 {
        format!("{} {} {} {}", minutes / 60, w.hours, minutes % 60, w.minutes)
    } else {
        format!("{minutes} {}", w.minutes)
    };
    let class = if left < 0 {
        "late"
    } else if left < 2 * 3_600_000_000 {
        "soon"
    } else {
        ""
    };
    html! {
        span class=(class) title=(local_time(viewer, due)) {
            @if left < 0 { (w.overdue_by) " " (span) } @else { (w.due_in) " " (span) }
        }
    }
}

/// A message after a change (`role=status`) or a problem (`role=alert`).
pub fn notice(text: &str) -> Markup {
    html! { p.notice role="status" { (text) } }
}

pub fn problems(viewer: &Viewer, problems: &[String]) -> Markup {
    html! {
        @if !problems.is_empty() {
            div.problem role="alert" {
                (viewer.words().fix_errors)
                ul { @for p in problems { li { (p) } } }
            }
        }
    }
}

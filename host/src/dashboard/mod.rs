//! The dashboard: the figures sales managers steer by, read from per-day
//! rollups counted when each change happens (`rollup`, `domain::LeadFacts`,
//! `storage::dashboard`), never by scanning the leads.
//!
//! A view covers a range of days (`from` to `to`, inclusive, in the
//! tenant's time zone) and is filtered by team, source, UTM campaign and
//! form. What each number means:
//!
//! - **The cohort.** Every lead-based figure counts the leads *created* in
//!   the range (that match the filters), wherever they are now. A team
//!   filter keeps the leads whose *current* owner is *now* a member of the
//!   team (so a reassigned lead follows its owner, and a rep who moves team
//!   takes their leads along); a manager sees their teams' members only.
//!   Leads in the pool or held for nurture belong to no team.
//! - **funnel**: for each stage of new → MQL → SQL → opportunity → won, how
//!   many of the cohort *reached* it (entered it or a later one: a lead
//!   promoted from new straight to SQL passed MQL; a lead that was recycled
//!   and came back counts once). `conversion` is that count over the
//!   previous stage's, `drop_off` the previous stage's count minus it.
//!   `lost` and `disqualified`: leads of the cohort that ever entered them.
//! - **summary**: `lead_to_opportunity` = reached opportunity / leads;
//!   `opportunity_to_won` = won / reached opportunity; `average_days_to_won`
//!   = the mean time from a won lead's creation to its (first) win;
//!   `won_value` = the sum of the won leads' deal values (minor units, e.g.
//!   fen); the SLA figures as below, over the whole cohort.
//! - **stages**: the mean time a lead of the cohort spent in each stage,
//!   over the stays that ended (a lead still in a stage is not counted for
//!   it yet); `stays` is how many.
//! - **sources**, **campaigns**, **channels** (lead quality): per value,
//!   `leads`, `mql_rate` (reached MQL / leads), `conversion` (won / leads),
//!   `won` and `won_value`. No campaign is `""`.
//! - **reps**: per user, the activities *they logged in the range* (by the
//!   activity's day, on leads matching the source, campaign and form
//!   filters): calls, meetings, emails, messages; beside the cohort's leads
//!   they own now: `leads`, `opportunities` (reached opportunity), `won`,
//!   `won_value`, `conversion` (won / leads), and their SLA.
//! - **SLA** (per rep and in the summary): `sla_due` = leads given a
//!   first-touch deadline; `sla_in_time` = of those, first touched by the
//!   owner (a call, email, meeting or message) by the deadline standing
//!   then; `sla_late` = first touched after it; `sla_breached` = not
//!   touched yet, and a deadline passed; `sla_pending` = the rest (not
//!   touched, no deadline passed yet); `sla_compliance` = in time /
//!   (in time + late + breached): only decided deadlines count, so a lead
//!   whose deadline is still ahead is neither; `breaches` = deadlines
//!   (first touch or follow-up) that passed untouched.
//! - **tiers**: the cohort's leads by their tier now, with each tier's share.
//!
//! Rates are fractions rounded to 4 decimals, `null` when nothing is
//! under them. Every view is also a CSV file (`export`).
//!
//! Days are the tenant's time zone's when the change was counted; after a
//! zone change (or a restored backup) `leadhost dashboard rebuild` counts
//! every day again (`storage::TenantStore::rebuild_dashboard`).

pub mod export;
pub mod figures;
pub mod rollup;

use std::collections::BTreeMap;

use jiff::civil::Date;

use crate::domain::Role;
use crate::error::{ApiError, FieldError};
use crate::storage::{RollupFilter, StoreError, TenantStore, day_in};

pub use figures::{Dashboard, Table};

/// The longest range a view covers.
const MAX_DAYS: i32 = 1100;
/// The range when none is given: the last 30 days.
const DEFAULT_DAYS: i32 = 30;

/// A dashboard request as parsed from the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardQuery {
    pub from: Date,
    pub to: Date,
    pub team: Option<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    /// A form's slug.
    pub form: Option<String>,
}

impl DashboardQuery {
    /// Reads `from`, `to` (`YYYY-MM-DD`; by default the 30 days up to
    /// `today`), `team`, `source`, `campaign` and `form`; each problem at
    /// its pointer.
    pub fn parse(params: &BTreeMap<String, String>, today: Date) -> Result<Self, Vec<FieldError>> {
        let mut problems = Vec::new();
        let text = |key: &str| params.get(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut date = |key: &str| {
            text(key).and_then(|raw| match raw.parse::<Date>() {
                Ok(date) if raw.len() == 10 => Some(date),
                _ => {
                    problems.push(FieldError::new(format!("/{key}"), "must be a date, YYYY-MM-DD"));
                    None
                }
            })
        };
        let (from, to) = (date("from"), date("to"));
        let to = to.unwrap_or(today);
        let from = from.unwrap_or_else(|| to.saturating_sub(jiff::Span::new().days(DEFAULT_DAYS - 1)));
        if problems.is_empty() {
            let days = (to - from).get_days();
            if days < 0 {
                problems.push(FieldError::new("/to", "must not be before from"));
            } else if days >= MAX_DAYS {
                problems.push(FieldError::new(
                    "/from",
                    format!("a range covers at most {MAX_DAYS} days"),
                ));
            }
        }
        for key in ["team", "source", "campaign", "form"] {
            if text(key).is_some_and(|v| v.chars().count() > 200) {
                problems.push(FieldError::new(format!("/{key}"), "at most 200 characters"));
            }
        }
        match problems.is_empty() {
            true => Ok(DashboardQuery {
                from,
                to,
                team: text("team"),
                source: text("source"),
                campaign: text("campaign"),
                form: text("form"),
            }),
            false => Err(problems),
        }
    }
}

/// Today in the tenant's time zone.
pub fn today(time_zone: &str) -> Date {
    let zone = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    day_in(Some(&zone), crate::clock::Timestamp::now())
        .parse()
        .expect("day_in writes YYYY-MM-DD")
}

/// The dashboard for a caller: an admin sees everything; a manager sees the
/// teams they manage (asking for another team is refused); any other role
/// is refused (the permission table already does).
pub async fn load(
    store: &TenantStore<'_>,
    role: Role,
    user_id: Option<&str>,
    query: &DashboardQuery,
) -> Result<Dashboard, ApiError> {
    let owners = match (role, user_id) {
        (Role::Admin, _) => match &query.team {
            None => None,
            Some(team) => Some(members(store, team).await?),
        },
        (Role::Manager, Some(me)) => {
            let managed = store.teams_managed_by(me).await?;
            match &query.team {
                Some(team) if !managed.contains(team) => return Err(ApiError::Forbidden),
                Some(team) => Some(members(store, team).await?),
                None => {
                    let mut all = Vec::new();
                    for team in &managed {
                        all.extend(members(store, team).await?);
                    }
                    all.sort();
                    all.dedup();
                    Some(all)
                }
            }
        }
        _ => return Err(ApiError::Forbidden),
    };
    let form_id = match &query.form {
        None => None,
        Some(slug) => Some(match store.form(slug).await {
            Ok(form) => form.id,
            Err(StoreError::NotFound) => {
                return Err(ApiError::validation(
                    "the dashboard's filters are not valid",
                    vec![FieldError::new("/form", format!("no form {slug:?}"))],
                ));
            }
            Err(other) => return Err(other.into()),
        }),
    };
    let filter = RollupFilter {
        from: query.from.to_string(),
        to: query.to.to_string(),
        owners,
        source: query.source.clone(),
        campaign: query.campaign.clone(),
        form_id,
    };
    let sums = store.dashboard_sums(&filter).await?;
    let activity = store.dashboard_activity(&filter).await?;
    let emails = store.user_emails().await?;
    Ok(figures::compute(&sums, &activity, &emails))
}

/// The members of a team by name; an unknown team is a problem at `/team`.
async fn members(store: &TenantStore<'_>, team: &str) -> Result<Vec<String>, ApiError> {
    store.team_member_ids(team).await?.ok_or_else(|| {
        ApiError::validation(
            "the dashboard's filters are not valid",
            vec![FieldError::new("/team", format!("no team {team:?}"))],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_range_defaults_to_the_last_30_days_and_bad_dates_are_each_reported() {
        let today: Date = "2026-12-03".parse().unwrap();
        let query = DashboardQuery::parse(&params(&[]), today).unwrap();
        assert_eq!(query.from.to_string(), "2026-11-04");
        assert_eq!(query.to, today);
        let problems =
            DashboardQuery::parse(&params(&[("from", "03/12/2026"), ("to", "2026-13-01")]), today).unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/from", "/to"]);
        let problems =
            DashboardQuery::parse(&params(&[("from", "2026-12-04"), ("to", "2026-12-03")]), today).unwrap_err();
        assert_eq!(problems[0].pointer, "/to");
    }
}

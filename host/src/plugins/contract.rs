//! What crosses the plugin boundary: the lead and candidates as the host
//! hands them over, and the checks every result passes before it is used.
//! A plugin that lies (a rep that does not exist, absurd points, a flood of
//! reasons) gets `Failure::InvalidResult`, and the built-in rules apply.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::bindings::{Action, Assignment, BehaviourCount, Lead, Rep, RouteDecision, ScorePart};
use super::capped::{ID_CHARS, REASON_CHARS, cut_chars};
use super::sandbox::Failure;
use crate::clock::Timestamp;
use crate::domain::{Stage, Tier};

/// The lead as JSON: the format of `plugins/examples/sample-lead.json`, of
/// `leadhost plugin run --lead`, and of test runs over the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    #[serde(default = "default_id")]
    pub id: String,
    #[serde(default)]
    pub form: String,
    #[serde(default = "one")]
    pub form_version: u32,
    pub fields: serde_json::Map<String, Value>,
    #[serde(default = "default_channel")]
    pub channel: String,
    #[serde(default = "default_source")]
    pub source: String,
    #[serde(default)]
    pub score: i32,
    #[serde(default = "default_tier")]
    pub tier: Tier,
    #[serde(default = "default_stage")]
    pub stage: Stage,
    #[serde(default)]
    pub behaviour: Vec<BehaviourInput>,
    #[serde(default = "default_created_at")]
    pub created_at: String,
}

impl LeadInput {
    /// A lead as `leadhost plugin run --lead` reads it: this format; a lead
    /// copied from `GET /api/v1/leads/{id}` (its other members, such as its
    /// timeline, are left out, and its behaviour events are counted by kind
    /// over the 7 and 30 days before now); or a bare object of form fields.
    pub fn read(value: Value) -> Result<Self, String> {
        let Value::Object(mut lead) = value else {
            return Err("a lead is a JSON object".into());
        };
        if !matches!(lead.get("fields"), Some(Value::Object(_))) {
            // A bare object of form fields.
            let bare = serde_json::json!({ "fields": lead });
            return serde_json::from_value(bare).map_err(|e| e.to_string());
        }
        // What `GET /api/v1/leads/{id}` shows beside this format's members;
        // anything else unknown is still refused (a typo in a lead file).
        const API_ONLY: [&str; 21] = [
            "email",
            "phone",
            "name",
            "company",
            "owner_id",
            "score_parts",
            "scored_at",
            "stage_entered_at",
            "assigned_at",
            "touched_at",
            "follow_up_due_at",
            "updated_at",
            "processed_at",
            "held_at",
            "deal_value",
            "expected_close_on",
            "touches",
            "events",
            "stages",
            "activities",
            "tasks",
        ];
        lead.retain(|member, _| !API_ONLY.contains(&member.as_str()));
        if let Some(Value::Array(events)) = lead.get("behaviour")
            && events.iter().any(|e| e.get("last7_days").is_none())
        {
            // The API's list of events, not counts: count them by kind.
            let now = Timestamp::now();
            let mut counts: Vec<BehaviourInput> = Vec::new();
            for event in events {
                let Some(kind) = event["kind"].as_str() else { continue };
                let at = event["occurred_at"].as_str().and_then(Timestamp::parse_rfc3339);
                let days = at.map_or(f64::MAX, |at| now.seconds_since(at) / 86_400.0);
                let index = match counts.iter().position(|c| c.kind == kind) {
                    Some(index) => index,
                    None => {
                        counts.push(BehaviourInput {
                            kind: kind.to_owned(),
                            last7_days: 0,
                            last30_days: 0,
                        });
                        counts.len() - 1
                    }
                };
                counts[index].last7_days += u32::from(days <= 7.0);
                counts[index].last30_days += u32::from(days <= 30.0);
            }
            lead.insert(
                "behaviour".into(),
                serde_json::to_value(counts).map_err(|e| e.to_string())?,
            );
        }
        serde_json::from_value(Value::Object(lead)).map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviourInput {
    pub kind: String,
    pub last7_days: u32,
    pub last30_days: u32,
}

fn default_id() -> String {
    "00000000-0000-0000-0000-000000000000".into()
}
fn one() -> u32 {
    1
}
fn default_channel() -> String {
    "api".into()
}
fn default_source() -> String {
    "direct".into()
}
fn default_tier() -> Tier {
    Tier::Cold
}
fn default_stage() -> Stage {
    Stage::New
}
fn default_created_at() -> String {
    "1970-01-01T00:00:00Z".into()
}

impl From<LeadInput> for Lead {
    fn from(input: LeadInput) -> Self {
        Lead {
            id: input.id,
            form: input.form,
            form_version: input.form_version,
            fields: Value::Object(input.fields).to_string(),
            channel: input.channel,
            source: input.source,
            score: input.score,
            tier: input.tier.as_str().to_owned(),
            stage: input.stage.as_str().to_owned(),
            behaviour: input
                .behaviour
                .into_iter()
                .map(|b| BehaviourCount {
                    kind: b.kind,
                    last7_days: b.last7_days,
                    last30_days: b.last30_days,
                })
                .collect(),
            created_at: input.created_at,
        }
    }
}

/// A candidate rep as JSON (for `plugin run --candidates` and test runs).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepInput {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub specialties: Vec<String>,
    #[serde(default)]
    pub capacity: u32,
    #[serde(default)]
    pub open_leads: u32,
    #[serde(default = "yes")]
    pub available: bool,
}

fn yes() -> bool {
    true
}

impl From<RepInput> for Rep {
    fn from(r: RepInput) -> Self {
        Rep {
            id: r.id,
            name: r.name,
            regions: r.regions,
            specialties: r.specialties,
            capacity: r.capacity,
            open_leads: r.open_leads,
            available: r.available,
        }
    }
}

/// Most score parts one scorer may return, and the most points one part may
/// add or take away.
pub const MAX_SCORE_PARTS: usize = 50;
pub const MAX_PART_POINTS: i32 = 1000;
const MAX_ACTIONS: usize = 20;

/// Checks a scorer's parts; their reasons are cut to `REASON_CHARS`.
pub fn check_score(mut parts: Vec<ScorePart>) -> Result<Vec<ScorePart>, Failure> {
    if parts.len() > MAX_SCORE_PARTS {
        return Err(Failure::InvalidResult(format!(
            "{} score parts; at most {MAX_SCORE_PARTS}",
            parts.len()
        )));
    }
    for part in &mut parts {
        // A range check: `abs` overflows on i32::MIN.
        if !(-MAX_PART_POINTS..=MAX_PART_POINTS).contains(&part.points) {
            return Err(Failure::InvalidResult(format!(
                "{} points for {:?}; a part adds at most ±{MAX_PART_POINTS}",
                part.points,
                cut_chars(&part.reason, REASON_CHARS)
            )));
        }
        cut_reason(&mut part.reason);
    }
    Ok(parts)
}

/// A routing decision must name one of the candidates it was given.
/// A team a router may name, by id or by name.
#[derive(Debug, Clone)]
pub struct TeamRef {
    pub id: String,
    pub name: String,
}

/// Checks a routing decision; `teams: None` accepts any team (a trial run,
/// where the tenant's teams are not at hand).
pub fn check_route(
    mut decision: RouteDecision,
    candidates: &[Rep],
    teams: Option<&[TeamRef]>,
) -> Result<RouteDecision, Failure> {
    match &mut decision {
        RouteDecision::Rep(Assignment { id, reason }) => {
            cut_reason(reason);
            if !candidates.iter().any(|c| &c.id == id) {
                return Err(Failure::InvalidResult(format!(
                    "it named rep {:?}, who is not among the candidates",
                    cut_chars(id, ID_CHARS)
                )));
            }
        }
        RouteDecision::Team(Assignment { id, reason }) => {
            cut_reason(reason);
            if teams.is_some_and(|teams| !teams.iter().any(|t| &t.id == id || &t.name == id)) {
                return Err(Failure::InvalidResult(format!(
                    "it named team {:?}, which does not exist",
                    cut_chars(id, ID_CHARS)
                )));
            }
        }
        RouteDecision::PublicPool(reason) => cut_reason(reason),
    }
    Ok(decision)
}

pub fn check_actions(actions: Vec<Action>) -> Result<Vec<Action>, Failure> {
    if actions.len() > MAX_ACTIONS {
        return Err(Failure::InvalidResult(format!(
            "{} actions; at most {MAX_ACTIONS}",
            actions.len()
        )));
    }
    Ok(actions)
}

fn cut_reason(reason: &mut String) {
    if let Cow::Owned(cut) = cut_chars(reason, REASON_CHARS) {
        *reason = cut;
    }
}

/// Results as JSON, for `plugin run`, test runs and the timeline.
pub fn score_json(parts: &[ScorePart]) -> Value {
    serde_json::json!({
        "points": parts.iter().map(|p| i64::from(p.points)).sum::<i64>(),
        "parts": parts.iter().map(|p| serde_json::json!({"points": p.points, "reason": p.reason})).collect::<Vec<_>>(),
    })
}

pub fn route_json(decision: &RouteDecision) -> Value {
    match decision {
        RouteDecision::Rep(a) => serde_json::json!({"rep": a.id, "reason": a.reason}),
        RouteDecision::Team(a) => serde_json::json!({"team": a.id, "reason": a.reason}),
        RouteDecision::PublicPool(reason) => {
            serde_json::json!({"public_pool": true, "reason": reason})
        }
    }
}

pub fn actions_json(actions: &[Action]) -> Value {
    Value::Array(
        actions
            .iter()
            .map(|action| match action {
                Action::SendEmail(e) => serde_json::json!({"send_email": {
                    "to": e.to, "subject": e.subject, "body_text": e.body_text, "body_html": e.body_html}}),
                Action::Wait(seconds) => serde_json::json!({"wait_seconds": seconds}),
                Action::AddTag(tag) => serde_json::json!({"add_tag": tag}),
                Action::NotifyOwner(message) => serde_json::json!({"notify_owner": message}),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(points: i32, reason: &str) -> ScorePart {
        ScorePart {
            points,
            reason: reason.into(),
        }
    }

    #[test]
    fn scores_within_bounds_pass_and_others_are_invalid() {
        assert!(check_score(vec![part(20, "Budget"), part(-5, "Student")]).is_ok());
        assert!(check_score(vec![part(5000, "x")]).is_err());
        assert!(check_score((0..51).map(|_| part(1, "x")).collect()).is_err());
        let long = check_score(vec![part(1, &"x".repeat(501))]).unwrap();
        assert!(long[0].reason.starts_with(&"x".repeat(REASON_CHARS)) && long[0].reason.ends_with("more characters]"));
        for extreme in [i32::MIN, i32::MAX, -1001, 1001] {
            assert!(check_score(vec![part(extreme, "x")]).is_err(), "{extreme} points");
        }
        assert!(check_score(vec![part(-1000, "x"), part(1000, "y")]).is_ok());
    }

    #[test]
    fn a_lead_may_be_a_copy_from_the_api_or_bare_fields() {
        let copied = serde_json::json!({
            "id": "l1", "form": "demo", "form_version": 2, "fields": {"budget": "200k-1m"},
            "channel": "form_page", "source": "baidu", "score": 12, "tier": "warm", "stage": "mql",
            "created_at": "2026-11-30T09:00:00Z", "assigned_at": null, "score_parts": [],
            "touches": [], "events": [{"kind": "scored"}],
            "behaviour": [{"id": "e1", "kind": "page_view", "url": null, "detail": {},
                           "occurred_at": Timestamp::now().to_rfc3339()}]
        });
        let lead = LeadInput::read(copied).unwrap();
        assert_eq!(
            (lead.id.as_str(), lead.tier, lead.stage),
            ("l1", Tier::Warm, Stage::Mql)
        );
        assert_eq!((lead.behaviour[0].last7_days, lead.behaviour[0].last30_days), (1, 1));
        let bare = LeadInput::read(serde_json::json!({"budget": "200k-1m", "email": "li@example.com"})).unwrap();
        assert_eq!(bare.fields["budget"], "200k-1m");
        assert_eq!((bare.tier, bare.stage), (Tier::Cold, Stage::New));
        assert!(LeadInput::read(serde_json::json!(["not", "a lead"])).is_err());
    }

    #[test]
    fn a_route_must_name_a_candidate() {
        let rep = Rep {
            id: "u1".into(),
            name: "Li".into(),
            regions: vec![],
            specialties: vec![],
            capacity: 0,
            open_leads: 0,
            available: true,
        };
        let to = |id: &str| {
            RouteDecision::Rep(Assignment {
                id: id.into(),
                reason: "r".into(),
            })
        };
        assert!(check_route(to("u1"), std::slice::from_ref(&rep), Some(&[])).is_ok());
        assert!(check_route(to("ghost"), &[rep], Some(&[])).is_err());
        assert!(check_route(RouteDecision::PublicPool("none".into()), &[], Some(&[])).is_ok());
        let team = |id: &str| {
            RouteDecision::Team(Assignment {
                id: id.into(),
                reason: "east".into(),
            })
        };
        let east = TeamRef {
            id: "t1".into(),
            name: "east".into(),
        };
        assert!(check_route(team("east"), &[], Some(std::slice::from_ref(&east))).is_ok());
        assert!(check_route(team("west"), &[], Some(&[east])).is_err());
    }
}

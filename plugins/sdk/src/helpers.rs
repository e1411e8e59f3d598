//! Constructors and helpers on the generated WIT types.

use serde::Deserialize;
use serde_json::Value;

use crate::fields::json_kind;
use crate::{Assignment, BehaviourCount, Email, Lead, Rep, RouteDecision, ScorePart};

impl Lead {
    /// The behaviour counts of events of `kind` (e.g. `page_view`), if the
    /// lead has had any.
    pub fn behaviour_count(&self, kind: &str) -> Option<&BehaviourCount> {
        self.behaviour.iter().find(|b| b.kind == kind)
    }

    /// Events of `kind` in the last 7 days (0 when none).
    pub fn last7_days(&self, kind: &str) -> u32 {
        self.behaviour_count(kind).map_or(0, |b| b.last7_days)
    }

    /// Events of `kind` in the last 30 days (0 when none).
    pub fn last30_days(&self, kind: &str) -> u32 {
        self.behaviour_count(kind).map_or(0, |b| b.last30_days)
    }

    /// Read a lead from the JSON format of `leadhost plugin run --lead` (see
    /// `plugins/examples/sample-lead.json`): the record's fields in
    /// snake_case, with `fields` a JSON object (a string holding one is also
    /// accepted) and `behaviour` a list of `{kind, last7_days, last30_days}`.
    /// Missing keys take empty/zero values. Handy in unit tests:
    ///
    /// ```
    /// let lead = leadhost_plugin::Lead::from_json(r#"{
    ///     "fields": {"email": "li.wei@example.cn"},
    ///     "behaviour": [{"kind": "page_view", "last7_days": 4, "last30_days": 9}]
    /// }"#).unwrap();
    /// assert_eq!(lead.last7_days("page_view"), 4);
    /// assert_eq!(lead.fields, r#"{"email":"li.wei@example.cn"}"#);
    /// ```
    pub fn from_json(json: &str) -> Result<Lead, String> {
        let raw: LeadJson =
            serde_json::from_str(json).map_err(|e| format!("invalid lead JSON: {e}"))?;
        let fields = match raw.fields {
            Value::Null => "{}".to_string(),
            Value::Object(map) => Value::Object(map).to_string(),
            Value::String(s) => match serde_json::from_str::<Value>(&s) {
                Ok(Value::Object(_)) => s,
                _ => return Err("invalid lead JSON: `fields` must be a JSON object".into()),
            },
            other => {
                return Err(format!(
                    "invalid lead JSON: `fields` must be a JSON object, got {}",
                    json_kind(&other)
                ));
            }
        };
        Ok(Lead {
            id: raw.id,
            form: raw.form,
            form_version: raw.form_version,
            fields,
            channel: raw.channel,
            source: raw.source,
            score: raw.score,
            tier: raw.tier,
            stage: raw.stage,
            behaviour: raw
                .behaviour
                .into_iter()
                .map(|b| BehaviourCount {
                    kind: b.kind,
                    last7_days: b.last7_days,
                    last30_days: b.last30_days,
                })
                .collect(),
            created_at: raw.created_at,
        })
    }
}

/// The JSON shape read by [`Lead::from_json`].
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LeadJson {
    /// See [`Lead`] for the meaning of each field.
    id: String,
    form: String,
    form_version: u32,
    fields: Value,
    channel: String,
    source: String,
    score: i32,
    tier: String,
    stage: String,
    behaviour: Vec<BehaviourJson>,
    created_at: String,
}

impl Default for LeadJson {
    fn default() -> Self {
        Self {
            id: String::new(),
            form: String::new(),
            form_version: 1,
            fields: Value::Null,
            channel: String::new(),
            source: String::new(),
            score: 0,
            tier: "cold".into(),
            stage: "new".into(),
            behaviour: Vec::new(),
            created_at: String::new(),
        }
    }
}

/// One behaviour count in the JSON read by [`Lead::from_json`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviourJson {
    kind: String,
    #[serde(default)]
    last7_days: u32,
    #[serde(default)]
    last30_days: u32,
}

impl ScorePart {
    /// A score part of `points` (negative subtracts) with the reason shown on
    /// the lead's timeline.
    pub fn new(points: i32, reason: impl Into<String>) -> Self {
        Self {
            points,
            reason: reason.into(),
        }
    }
}

impl Assignment {
    /// An assignment to `id` (a rep or team id) with the reason shown on the
    /// lead's timeline.
    pub fn new(id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            reason: reason.into(),
        }
    }
}

impl RouteDecision {
    /// Assign to the rep with id `rep_id` (must be one of the candidates).
    pub fn to_rep(rep_id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Rep(Assignment::new(rep_id, reason))
    }

    /// Assign to the team with id `team_id`; the team's strategy picks the rep.
    pub fn to_team(team_id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Team(Assignment::new(team_id, reason))
    }

    /// Put the lead in the public pool, with the reason.
    pub fn public_pool(reason: impl Into<String>) -> Self {
        Self::PublicPool(reason.into())
    }
}

impl Rep {
    /// True when the rep holds fewer open leads than their capacity (a
    /// capacity of 0 means no limit).
    pub fn has_capacity(&self) -> bool {
        self.capacity == 0 || self.open_leads < self.capacity
    }

    /// True when the rep is available and has capacity for another lead.
    pub fn can_take_lead(&self) -> bool {
        self.available && self.has_capacity()
    }

    /// True when one of the rep's regions equals `region`, ignoring case and
    /// surrounding whitespace.
    pub fn covers_region(&self, region: &str) -> bool {
        contains_ignore_case(&self.regions, region)
    }

    /// True when one of the rep's specialties equals `specialty`, ignoring
    /// case and surrounding whitespace.
    pub fn has_specialty(&self, specialty: &str) -> bool {
        contains_ignore_case(&self.specialties, specialty)
    }
}

impl Email {
    /// A plain-text email to `to`.
    pub fn new(
        to: impl Into<String>,
        subject: impl Into<String>,
        body_text: impl Into<String>,
    ) -> Self {
        Self {
            to: to.into(),
            subject: subject.into(),
            body_text: body_text.into(),
            body_html: None,
        }
    }
}

/// Case- and whitespace-insensitive membership test (Unicode lowercase, so
/// non-ASCII region names like `Zhejiang`/`浙江` work too).
fn contains_ignore_case(list: &[String], wanted: &str) -> bool {
    let wanted = wanted.trim();
    !wanted.is_empty()
        && list.iter().any(|item| {
            let item = item.trim();
            item.eq_ignore_ascii_case(wanted) || item.to_lowercase() == wanted.to_lowercase()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(capacity: u32, open_leads: u32, available: bool) -> Rep {
        Rep {
            id: "r".into(),
            name: "R".into(),
            regions: vec![" Zhejiang".into(), "Île-de-France".into()],
            specialties: vec!["SaaS".into()],
            capacity,
            open_leads,
            available,
        }
    }

    #[test]
    fn rep_capacity() {
        assert!(rep(0, 500, true).can_take_lead());
        assert!(rep(10, 9, true).can_take_lead());
        assert!(!rep(10, 10, true).can_take_lead());
        assert!(!rep(0, 0, false).can_take_lead());
    }

    #[test]
    fn rep_matching_ignores_case() {
        let r = rep(0, 0, true);
        assert!(r.covers_region("zhejiang "));
        assert!(r.covers_region("ÎLE-DE-FRANCE"));
        assert!(!r.covers_region(""));
        assert!(r.has_specialty("saas"));
        assert!(!r.has_specialty("retail"));
    }

    #[test]
    fn lead_from_json() {
        let lead = Lead::from_json(
            r#"{"id":"x","fields":"{\"a\":1}","behaviour":[{"kind":"download","last30_days":2}]}"#,
        )
        .unwrap();
        assert_eq!(lead.id, "x");
        assert_eq!(lead.fields, r#"{"a":1}"#);
        assert_eq!(lead.last30_days("download"), 2);
        assert_eq!(lead.last7_days("download"), 0);
        assert_eq!(lead.last7_days("page_view"), 0);
        assert_eq!(lead.tier, "cold");
        assert!(Lead::from_json(r#"{"fields":[1]}"#).is_err());
        assert!(Lead::from_json(r#"{"feilds":{}}"#).is_err());
    }

    #[test]
    fn sample_lead_parses() {
        let json = include_str!("../../examples/sample-lead.json");
        let lead = Lead::from_json(json).unwrap();
        assert!(!lead.id.is_empty());
        assert!(
            crate::Fields::from_lead(&lead)
                .unwrap()
                .str("email")
                .is_some()
        );
    }
}

//! The tenant's assignment rules: an ordered list, each with conditions on
//! the lead (its fields, tier, stage, source, channel, form and score) and
//! where a matching lead goes: a team (whose strategy picks the rep), a rep,
//! a router plugin, or the public pool. The first rule that matches and
//! places the lead decides; a lead no rule places goes to the public pool.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{Stage, Tier};
use crate::error::FieldError;
use crate::scoring::model::{FieldTest, field_value};

const MAX_RULES: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRules {
    pub rules: Vec<AssignmentRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRule {
    pub id: String,
    /// Every condition given must hold; none given: every lead matches.
    #[serde(default)]
    pub when: Conditions,
    pub assign: Target,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_min: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_max: Option<i32>,
    /// Tests on form fields, as in the scoring model (without points).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, FieldTest>,
    /// `tier` and `stage` parsed, by [`RoutingRules::parse`].
    #[serde(skip)]
    tiers: Option<Vec<Tier>>,
    #[serde(skip)]
    stages: Option<Vec<Stage>>,
}

/// Where a matching lead goes: exactly one of these.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// A team by name; its strategy picks the rep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// A rep by email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rep: Option<String>,
    /// A router plugin by name; if it fails, the next rule applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// `true`: the public pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<bool>,
    /// `true`: held for nurture (no owner, out of the pool, no SLA timers)
    /// until a workflow hands the lead to sales; the hand-over routes it by
    /// the rules below this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<bool>,
}

/// What a lead looks like to the rules: after scoring, before routing.
pub struct RoutedLead<'a> {
    pub fields: &'a Value,
    pub tier: Tier,
    pub stage: Stage,
    pub source: &'a str,
    pub channel: &'a str,
    pub form: &'a str,
    pub score: i32,
}

impl RoutingRules {
    /// Reads and checks the rules' shape; every problem at its pointer.
    /// Whether named teams, reps and plugins exist is checked by the caller.
    pub fn parse(value: Value) -> Result<Self, Vec<FieldError>> {
        let mut rules: RoutingRules =
            serde_path_to_error::deserialize(value).map_err(|e| vec![FieldError::from_path(&e)])?;
        let mut problems = Vec::new();
        if rules.rules.len() > MAX_RULES {
            problems.push(FieldError::new("/rules", format!("at most {MAX_RULES} rules")));
        }
        let mut seen = std::collections::HashSet::new();
        let mut rules_words = Vec::with_capacity(rules.rules.len());
        for (i, rule) in rules.rules.iter().enumerate() {
            if rule.id.is_empty() || rule.id.len() > 64 {
                problems.push(FieldError::new(format!("/rules/{i}/id"), "must be 1-64 characters"));
            } else if !seen.insert(rule.id.as_str()) {
                problems.push(FieldError::new(
                    format!("/rules/{i}/id"),
                    "is already used by an earlier rule",
                ));
            }
            let when = &rule.when;
            for tier in when.tier.iter().flatten() {
                if Tier::parse(tier).is_none() {
                    problems.push(FieldError::new(
                        format!("/rules/{i}/when/tier"),
                        format!("{tier:?} is not cold, warm or hot"),
                    ));
                }
            }
            for stage in when.stage.iter().flatten() {
                if Stage::parse(stage).is_none() {
                    problems.push(FieldError::new(
                        format!("/rules/{i}/when/stage"),
                        format!("{stage:?} is not a stage"),
                    ));
                }
            }
            rules_words.push((
                when.tier
                    .as_ref()
                    .map(|l| l.iter().filter_map(|t| Tier::parse(t)).collect()),
                when.stage
                    .as_ref()
                    .map(|l| l.iter().filter_map(|s| Stage::parse(s)).collect()),
            ));
            if let (Some(min), Some(max)) = (when.score_min, when.score_max)
                && min > max
            {
                problems.push(FieldError::new(
                    format!("/rules/{i}/when/score_max"),
                    "must not be less than score_min",
                ));
            }
            for (field, test) in &when.fields {
                let at = format!("/rules/{i}/when/fields/{}", pointer_escape(field));
                problems.extend(test.problems(&at).into_iter().map(|(p, m)| FieldError::new(p, m)));
                if test.points.is_some() {
                    problems.push(FieldError::new(
                        format!("{at}/points"),
                        "routing conditions give no points",
                    ));
                }
            }
            let target = &rule.assign;
            let given = [
                target.team.is_some(),
                target.rep.is_some(),
                target.plugin.is_some(),
                target.pool == Some(true),
                target.hold == Some(true),
            ];
            if given.iter().filter(|g| **g).count() != 1 {
                problems.push(FieldError::new(
                    format!("/rules/{i}/assign"),
                    "give exactly one of team, rep, plugin, pool: true or hold: true",
                ));
            }
        }
        for (rule, (tiers, stages)) in rules.rules.iter_mut().zip(rules_words) {
            (rule.when.tiers, rule.when.stages) = (tiers, stages);
        }
        if problems.is_empty() { Ok(rules) } else { Err(problems) }
    }
}

impl Conditions {
    pub fn matches(&self, lead: &RoutedLead<'_>) -> bool {
        let listed = |list: &Option<Vec<String>>, value: &str| {
            list.as_ref()
                .is_none_or(|l| l.iter().any(|v| v.eq_ignore_ascii_case(value)))
        };
        self.tiers.as_ref().is_none_or(|l| l.contains(&lead.tier))
            && self.stages.as_ref().is_none_or(|l| l.contains(&lead.stage))
            && listed(&self.source, lead.source)
            && listed(&self.channel, lead.channel)
            && listed(&self.form, lead.form)
            && self.score_min.is_none_or(|min| lead.score >= min)
            && self.score_max.is_none_or(|max| lead.score <= max)
            && self
                .fields
                .iter()
                .all(|(field, test)| test.matches(field_value(lead.fields, field)))
    }
}

fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn problems_point_at_the_rule() {
        let problems = RoutingRules::parse(json!({"rules": [
            {"id": "a", "when": {"tier": ["scorching"], "fields": {"size": {"points": 3}}}, "assign": {"team": "x", "rep": "y"}},
            {"id": "a", "assign": {"pool": true}},
            {"id": "b", "assign": {"crowd": true}}
        ]}))
        .unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/rules/2/assign/crowd"]);
        let problems = RoutingRules::parse(json!({"rules": [
            {"id": "a", "when": {"tier": ["scorching"], "fields": {"size": {"points": 3}}}, "assign": {"team": "x", "rep": "y"}},
            {"id": "a", "assign": {"pool": true}}
        ]}))
        .unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/rules/0/when/tier",
                "/rules/0/when/fields/size",
                "/rules/0/when/fields/size/points",
                "/rules/0/assign",
                "/rules/1/id"
            ]
        );
    }

    #[test]
    fn every_condition_given_must_hold() {
        let rules = RoutingRules::parse(json!({"rules": [
            {"id": "hot-east", "when": {"tier": ["hot"], "score_min": 10, "fields": {"province": {"one_of": ["zhejiang"]}}},
             "assign": {"team": "east"}}
        ]}))
        .unwrap();
        let fields = json!({"province": "zhejiang"});
        let mut lead = RoutedLead {
            fields: &fields,
            tier: Tier::Hot,
            stage: Stage::New,
            source: "direct",
            channel: "api",
            form: "demo",
            score: 12,
        };
        assert!(rules.rules[0].when.matches(&lead));
        lead.tier = Tier::Warm;
        assert!(!rules.rules[0].when.matches(&lead));
        lead.tier = Tier::Hot;
        lead.score = 9;
        assert!(!rules.rules[0].when.matches(&lead));
    }
}

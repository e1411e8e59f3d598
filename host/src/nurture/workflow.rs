//! A nurture workflow as an admin writes it: what enrols a lead, the steps
//! it goes through, and what takes it out. Checked as a whole at PUT, every
//! problem at its JSON Pointer, so a workflow that is stored can be run:
//! every branch lands on a step, every wait is a real duration, every
//! template parses and names only fields its leads can have.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{Stage, Tag, Tier};
use crate::error::FieldError;
use crate::scoring::model::FieldTest;

const MAX_STEPS: usize = 100;
/// The longest wait a step may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(90 * 24 * 3600);
const MAX_SUBJECT: usize = 200;
const MAX_BODY: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    pub name: String,
    pub trigger: Trigger,
    /// Whether a lead may start again after its previous run ended.
    #[serde(default)]
    pub reentry: bool,
    #[serde(default)]
    pub exit_when: ExitWhen,
    pub steps: Vec<Step>,
}

/// What enrols a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// A new lead, optionally only from these forms or sources.
    LeadCreated {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        forms: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sources: Vec<String>,
    },
    /// The lead's tier became one of these.
    TierChanged { to: Vec<String> },
    /// The lead's stage became one of these.
    StageChanged { to: Vec<String> },
    /// A behaviour event of this kind arrived.
    Event { kind: String },
    /// The lead was given this tag.
    TagAdded { tag: String },
    /// Only `POST /workflows/{slug}/enrolments`.
    Manual,
}

/// What ends a lead's run, checked on each event that could meet it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExitWhen {
    /// The lead reaches one of these stages.
    pub stages: Vec<String>,
    /// The lead unsubscribes.
    pub unsubscribed: bool,
    /// The lead's owner logs an activity (a person has taken over).
    pub owner_activity: bool,
}

impl Default for ExitWhen {
    fn default() -> Self {
        Self {
            stages: ["sql", "opportunity", "won", "lost", "disqualified"]
                .map(String::from)
                .to_vec(),
            unsubscribed: true,
            owner_activity: true,
        }
    }
}

/// One step; steps run in order, a branch jumps to a step by its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Wait a duration (`"for": "3d"`), until a time of day on given
    /// weekdays in the tenant's time zone, or until an event or a timeout.
    Wait {
        id: String,
        #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
        duration: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<TimeOfDay>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<String>,
    },
    SendEmail {
        id: String,
        email: EmailTemplate,
    },
    /// Go to `then` if the condition holds, else to `else` (default: the
    /// next step).
    Branch {
        id: String,
        #[serde(rename = "if")]
        condition: Box<Condition>,
        then: String,
        #[serde(default, rename = "else", skip_serializing_if = "Option::is_none")]
        otherwise: Option<String>,
    },
    SetField {
        id: String,
        field: String,
        value: Value,
    },
    SetTag {
        id: String,
        tag: String,
    },
    /// A task for the lead's owner, due this long after the step.
    CreateTask {
        id: String,
        title: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due_in: Option<String>,
    },
    NotifyOwner {
        id: String,
        message: String,
    },
    /// Route the held lead (rules below the hold, strategies, router
    /// plugins) and start its first-touch deadline.
    HandToSales {
        id: String,
    },
    /// A `nurture-step` plugin: its actions are carried out, each checked.
    Plugin {
        id: String,
        plugin: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<Value>,
    },
    Exit {
        id: String,
    },
}

/// A time of day (`"09:00"`) on some weekdays (default: every day).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeOfDay {
    pub time: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<String>,
}

/// An email: subject and bodies are templates over the lead (`{{
/// fields.name }}`, `{{ lead.score }}`); `fallbacks` fill fields a lead
/// lacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplate {
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fallbacks: BTreeMap<String, String>,
}

/// A branch's test: exactly one member.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_at_least: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Vec<String>>,
    /// A form field's test, as in the scoring model: `{"field": "budget",
    /// "test": {"one_of": [">1m"]}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<FieldCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// A behaviour event of this kind was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_seen: Option<String>,
    /// The email of this run's step with this id was opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_opened: Option<String>,
    /// A link in the email of this run's step with this id was clicked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_clicked: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldCondition {
    pub field: String,
    pub test: FieldTest,
}

/// What a workflow is checked against: the tenant's forms (slug to the
/// field names of its current version) and its nurture-step plugins.
#[derive(Debug, Default)]
pub struct TenantFacts {
    pub form_fields: BTreeMap<String, BTreeSet<String>>,
    pub step_plugins: BTreeSet<String>,
}

impl Step {
    pub fn id(&self) -> &str {
        match self {
            Step::Wait { id, .. }
            | Step::SendEmail { id, .. }
            | Step::Branch { id, .. }
            | Step::SetField { id, .. }
            | Step::SetTag { id, .. }
            | Step::CreateTask { id, .. }
            | Step::NotifyOwner { id, .. }
            | Step::HandToSales { id }
            | Step::Plugin { id, .. }
            | Step::Exit { id } => id,
        }
    }
}

/// Reads a duration such as `"3d"`, `"4h 30m"` or `"90s"`: positive and at
/// most `MAX_WAIT`.
pub fn duration(text: &str) -> Result<Duration, String> {
    let parsed = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{text:?} is not a duration such as \"3d\", \"4h 30m\" or \"90s\": {e}"))?;
    if parsed.is_zero() {
        return Err("must be longer than zero".into());
    }
    if parsed > MAX_WAIT {
        return Err("must be at most 90 days".into());
    }
    Ok(parsed)
}

impl Workflow {
    /// Reads and checks a workflow; every problem at its pointer.
    pub fn parse(value: Value, facts: &TenantFacts) -> Result<Self, Vec<FieldError>> {
        let workflow: Workflow =
            serde_path_to_error::deserialize(value).map_err(|e| vec![FieldError::from_path(&e)])?;
        let problems = workflow.problems(facts);
        if problems.is_empty() {
            Ok(workflow)
        } else {
            Err(problems)
        }
    }

    fn problems(&self, facts: &TenantFacts) -> Vec<FieldError> {
        let mut problems = Vec::new();
        let mut problem = |at: String, message: String| problems.push(FieldError::new(at, message));
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            problem("/name".into(), "must be 1-200 characters".into());
        }
        self.trigger_problems(facts, &mut problem);
        for (i, stage) in self.exit_when.stages.iter().enumerate() {
            if Stage::parse(stage).is_none() {
                problem(format!("/exit_when/stages/{i}"), format!("{stage:?} is not a stage"));
            }
        }
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            problem("/steps".into(), format!("must hold 1 to {MAX_STEPS} steps"));
        }
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, step) in self.steps.iter().enumerate() {
            let id = step.id();
            let valid = !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                problem(format!("/steps/{i}/id"), "must be 1-64 letters, digits, - or _".into());
            } else if index.insert(id, i).is_some() {
                problem(format!("/steps/{i}/id"), format!("{id:?} is the id of an earlier step"));
            }
        }
        let fields = self.trigger_fields(facts);
        for (i, step) in self.steps.iter().enumerate() {
            let at = format!("/steps/{i}");
            match step {
                Step::Wait {
                    duration: wait,
                    until,
                    event,
                    timeout,
                    ..
                } => {
                    let given = [wait.is_some(), until.is_some(), event.is_some()];
                    if given.iter().filter(|g| **g).count() != 1 {
                        problem(at.clone(), "give exactly one of for, until or event".into());
                    }
                    if let Some(Err(e)) = wait.as_deref().map(duration) {
                        problem(format!("{at}/for"), e);
                    }
                    if let Some(until) = until {
                        time_of_day_problems(until, &format!("{at}/until"), &mut problem);
                    }
                    match (event, timeout) {
                        (Some(_), None) => {
                            problem(format!("{at}/timeout"), "a wait for an event needs a timeout".into())
                        }
                        (None, Some(_)) => {
                            problem(format!("{at}/timeout"), "only a wait for an event has a timeout".into())
                        }
                        _ => {}
                    }
                    if let Some(Err(e)) = timeout.as_deref().map(duration) {
                        problem(format!("{at}/timeout"), e);
                    }
                }
                Step::SendEmail { email, .. } => email_problems(email, &fields, &format!("{at}/email"), &mut problem),
                Step::Branch {
                    condition,
                    then,
                    otherwise,
                    ..
                } => {
                    self.condition_problems(condition, &index, &format!("{at}/if"), &mut problem);
                    for (member, target) in [("then", Some(then)), ("else", otherwise.as_ref())] {
                        let Some(target) = target else { continue };
                        match index.get(target.as_str()) {
                            None => problem(format!("{at}/{member}"), format!("no step has the id {target:?}")),
                            Some(&to) if to <= i && !self.steps[to..i].iter().any(is_wait) => problem(
                                format!("{at}/{member}"),
                                format!("going back to {target:?} loops with no wait between"),
                            ),
                            Some(_) => {}
                        }
                    }
                }
                Step::SetField { field, .. } if field.trim().is_empty() => {
                    problem(format!("{at}/field"), "must name a field".into())
                }
                Step::SetTag { tag, .. } if Tag::parse(tag).is_err() => problem(
                    format!("{at}/tag"),
                    Tag::parse(tag).err().map(|e| e.0).unwrap_or_default(),
                ),
                Step::CreateTask { title, due_in, .. } => {
                    if !(1..=200).contains(&title.chars().count()) {
                        problem(format!("{at}/title"), "must be 1-200 characters".into());
                    }
                    if let Some(Err(e)) = due_in.as_deref().map(duration) {
                        problem(format!("{at}/due_in"), e);
                    }
                }
                Step::NotifyOwner { message, .. } if !(1..=1000).contains(&message.chars().count()) => {
                    problem(format!("{at}/message"), "must be 1-1000 characters".into())
                }
                Step::Plugin { plugin, .. } if !facts.step_plugins.contains(plugin) => problem(
                    format!("{at}/plugin"),
                    format!("the tenant has no nurture-step plugin named {plugin:?}"),
                ),
                _ => {}
            }
        }
        problems
    }

    fn trigger_problems(&self, facts: &TenantFacts, problem: &mut impl FnMut(String, String)) {
        match &self.trigger {
            Trigger::LeadCreated { forms, .. } => {
                for (i, form) in forms.iter().enumerate() {
                    if !facts.form_fields.contains_key(form) {
                        problem(
                            format!("/trigger/forms/{i}"),
                            format!("the tenant has no form {form:?}"),
                        );
                    }
                }
            }
            Trigger::TierChanged { to } => {
                for (i, tier) in to.iter().enumerate() {
                    if Tier::parse(tier).is_none() {
                        problem(format!("/trigger/to/{i}"), format!("{tier:?} is not cold, warm or hot"));
                    }
                }
            }
            Trigger::StageChanged { to } => {
                for (i, stage) in to.iter().enumerate() {
                    if Stage::parse(stage).is_none() {
                        problem(format!("/trigger/to/{i}"), format!("{stage:?} is not a stage"));
                    }
                }
            }
            Trigger::Event { kind } if kind.trim().is_empty() => {
                problem("/trigger/kind".into(), "must name an event kind".into())
            }
            Trigger::TagAdded { tag } if tag.trim().is_empty() => {
                problem("/trigger/tag".into(), "must name a tag".into())
            }
            _ => {}
        }
    }

    /// The fields a lead enrolled by the trigger can have: those of the
    /// trigger's forms, or of every form when it names none.
    fn trigger_fields(&self, facts: &TenantFacts) -> BTreeSet<String> {
        let forms: Vec<&String> = match &self.trigger {
            Trigger::LeadCreated { forms, .. } if !forms.is_empty() => forms.iter().collect(),
            _ => facts.form_fields.keys().collect(),
        };
        forms
            .into_iter()
            .filter_map(|form| facts.form_fields.get(form))
            .flatten()
            .cloned()
            .collect()
    }

    fn condition_problems(
        &self,
        condition: &Condition,
        index: &HashMap<&str, usize>,
        at: &str,
        problem: &mut impl FnMut(String, String),
    ) {
        let given = [
            condition.score_at_least.is_some(),
            condition.tier.is_some(),
            condition.stage.is_some(),
            condition.field.is_some(),
            condition.tag.is_some(),
            condition.event_seen.is_some(),
            condition.email_opened.is_some(),
            condition.email_clicked.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            problem(
                at.to_owned(),
                "give exactly one of score_at_least, tier, stage, field, tag, event_seen, email_opened or email_clicked"
                    .into(),
            );
        }
        for tier in condition.tier.iter().flatten() {
            if Tier::parse(tier).is_none() {
                problem(format!("{at}/tier"), format!("{tier:?} is not cold, warm or hot"));
            }
        }
        for stage in condition.stage.iter().flatten() {
            if Stage::parse(stage).is_none() {
                problem(format!("{at}/stage"), format!("{stage:?} is not a stage"));
            }
        }
        if let Some(field) = &condition.field {
            for (pointer, message) in field.test.problems(&format!("{at}/field/test")) {
                problem(pointer, message);
            }
        }
        for (member, step) in [
            ("email_opened", &condition.email_opened),
            ("email_clicked", &condition.email_clicked),
        ] {
            let Some(step) = step else { continue };
            let sends = index
                .get(step.as_str())
                .is_some_and(|&i| matches!(self.steps[i], Step::SendEmail { .. }));
            if !sends {
                problem(
                    format!("{at}/{member}"),
                    format!("no send_email step has the id {step:?}"),
                );
            }
        }
    }
}

fn is_wait(step: &Step) -> bool {
    matches!(step, Step::Wait { .. })
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn time_of_day_problems(until: &TimeOfDay, at: &str, problem: &mut impl FnMut(String, String)) {
    let valid = until
        .time
        .split_once(':')
        .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
        .is_some_and(|(h, m)| h < 24 && m < 60 && until.time.len() == 5);
    if !valid {
        problem(
            format!("{at}/time"),
            format!("{:?} is not a time such as \"09:00\"", until.time),
        );
    }
    for (i, day) in until.weekdays.iter().enumerate() {
        if !WEEKDAYS.contains(&day.as_str()) {
            problem(
                format!("{at}/weekdays/{i}"),
                format!("{day:?} is not one of {WEEKDAYS:?}"),
            );
        }
    }
}

/// Names a template may use: the lead's form fields, a few of the lead's
/// own columns, and the owner.
const TEMPLATE_ROOTS: [&str; 3] = ["fields", "lead", "owner"];

fn email_problems(
    email: &EmailTemplate,
    fields: &BTreeSet<String>,
    at: &str,
    problem: &mut impl FnMut(String, String),
) {
    let env = minijinja::Environment::new();
    let parts = [
        ("subject", Some(&email.subject), MAX_SUBJECT),
        ("text", Some(&email.text), MAX_BODY),
        ("html", email.html.as_ref(), MAX_BODY),
    ];
    for (member, source, limit) in parts {
        let Some(source) = source else { continue };
        let at = format!("{at}/{member}");
        if source.trim().is_empty() || source.len() > limit {
            problem(at.clone(), format!("must be 1 to {limit} bytes"));
            continue;
        }
        let template = match env.template_from_str(source) {
            Ok(template) => template,
            Err(e) => {
                problem(at, format!("is not a valid template: {e}"));
                continue;
            }
        };
        for name in template.undeclared_variables(true) {
            let mut path = name.split('.');
            let root = path.next().unwrap_or_default();
            if !TEMPLATE_ROOTS.contains(&root) {
                problem(
                    at.clone(),
                    format!("names {name:?}; a template may use fields.*, lead.* and owner.*"),
                );
            } else if root == "fields"
                && let Some(field) = path.next()
                && !fields.contains(field)
                && !email.fallbacks.contains_key(field)
            {
                problem(
                    at.clone(),
                    format!(
                        "names the field {field:?}, which no trigger form has; add it to fallbacks to give a value"
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> TenantFacts {
        TenantFacts {
            form_fields: BTreeMap::from([("demo".to_owned(), ["name", "email", "company"].map(String::from).into())]),
            step_plugins: ["welcome".to_owned()].into(),
        }
    }

    fn drip() -> Value {
        json!({
            "name": "Welcome and drip",
            "trigger": {"on": "lead_created", "forms": ["demo"]},
            "steps": [
                {"id": "welcome", "kind": "send_email", "email": {
                    "subject": "Welcome, {{ fields.name }}",
                    "text": "Hello {{ fields.name }} of {{ fields.company }}. {{ fields.city }}",
                    "fallbacks": {"city": "Hangzhou"}}},
                {"id": "call", "kind": "create_task", "title": "First call", "due_in": "4h"},
                {"id": "pause", "kind": "wait", "for": "3d"},
                {"id": "hot", "kind": "branch", "if": {"tier": ["hot"]}, "then": "handoff"},
                {"id": "clicked", "kind": "branch", "if": {"email_clicked": "welcome"}, "then": "handoff", "else": "pause"},
                {"id": "handoff", "kind": "hand_to_sales"}
            ]
        })
    }

    fn pointers(value: Value) -> Vec<String> {
        Workflow::parse(value, &facts())
            .unwrap_err()
            .into_iter()
            .map(|e| e.pointer)
            .collect()
    }

    #[test]
    fn a_drip_is_accepted() {
        let workflow = Workflow::parse(drip(), &facts()).unwrap();
        assert_eq!(workflow.steps.len(), 6);
        assert_eq!(workflow.exit_when, ExitWhen::default());
    }

    #[test]
    fn each_problem_is_at_its_pointer() {
        let mut bad = drip();
        bad["steps"][2]["for"] = json!("-1d");
        bad["steps"][3]["then"] = json!("nowhere");
        bad["steps"][0]["email"]["text"] = json!("Hi {{ fields.budget }}");
        assert_eq!(pointers(bad), ["/steps/0/email/text", "/steps/2/for", "/steps/3/then"]);
        let mut unknown = drip();
        unknown["steps"][1]["kind"] = json!("send_fax");
        assert_eq!(pointers(unknown), ["/steps/1/kind"]);
    }

    #[test]
    fn a_loop_needs_a_wait() {
        let mut looping = drip();
        looping["steps"][4]["else"] = json!("hot");
        assert_eq!(pointers(looping), ["/steps/4/else"]);
    }

    #[test]
    fn durations_are_positive_and_at_most_90_days() {
        assert_eq!(duration("3d").unwrap(), Duration::from_secs(3 * 86400));
        assert_eq!(duration("4h 30m").unwrap(), Duration::from_secs(16200));
        assert!(duration("-1d").is_err());
        assert!(duration("0s").is_err());
        assert!(duration("91d").is_err());
    }
}

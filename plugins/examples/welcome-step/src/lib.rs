//! `welcome-step`: a nurture step that sends a personalised welcome email,
//! then waits (two days by default). See README.md for the contract.

use std::collections::BTreeMap;

use leadhost_plugin::serde_json::Value;
use leadhost_plugin::{Action, Config, Email, Fields, Lead, NurtureStep, export_nurture_step, log};
use serde::Deserialize;

/// The plugin.
pub struct WelcomeStep;

impl NurtureStep for WelcomeStep {
    fn run(lead: &Lead, config: &str) -> Result<Vec<Action>, String> {
        let config: WelcomeConfig = Config::parse(config)?;
        let fields = Fields::from_lead(lead)?;
        let actions = welcome_actions(lead, &fields, &config);
        if let Some(Action::SendEmail(email)) = actions.first() {
            log::info(format!(
                "lead {}: welcome email {:?} to {}",
                lead.id, email.subject, email.to
            ));
        }
        Ok(actions)
    }
}

export_nurture_step!(WelcomeStep);

/// Two days, the default wait after the email.
pub const TWO_DAYS: u64 = 2 * 24 * 60 * 60;

/// The tenant's configuration; every key is optional.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WelcomeConfig {
    /// Subject line; placeholders allowed.
    pub subject: String,
    /// Who signs the email, available as `{from_name}`.
    pub from_name: String,
    /// Plain-text body with placeholders: `{name}`, `{company}`, `{form}`,
    /// `{from_name}`, or any other form field by its property name
    /// (`{job_title}`). `{{` and `}}` give literal braces.
    pub template: String,
    /// Optional HTML body, same placeholders (values are HTML-escaped).
    pub html_template: Option<String>,
    /// Seconds to wait after the email before the workflow's next step;
    /// 0 for no wait action.
    pub wait_seconds: u64,
    /// Optional tag to add to the lead after the email (e.g. `welcomed`).
    pub tag: Option<String>,
    /// Form property holding the recipient address.
    pub email_field: String,
    /// Text used when a placeholder's field is missing, per placeholder.
    /// Defaults: `name` → "there", `company` → "your company"; any other
    /// missing field becomes empty.
    pub fallbacks: BTreeMap<String, String>,
}

impl Default for WelcomeConfig {
    fn default() -> Self {
        Self {
            subject: "Thanks for your interest, {name}".into(),
            from_name: "The sales team".into(),
            template: "Hello {name},\n\n\
                       Thank you for your {form}. One of our specialists will be in touch \
                       within two working days to talk about {company}'s needs and \
                       arrange a time that suits you.\n\n\
                       Best regards,\n{from_name}"
                .into(),
            html_template: None,
            wait_seconds: TWO_DAYS,
            tag: None,
            email_field: "email".into(),
            fallbacks: BTreeMap::new(),
        }
    }
}

/// The step's actions: send the welcome email, then optionally tag, then
/// wait. Empty (with a warning logged) when the lead has no usable email.
pub fn welcome_actions(lead: &Lead, fields: &Fields, config: &WelcomeConfig) -> Vec<Action> {
    let Some(to) = fields.str(&config.email_field) else {
        log::warn(format!(
            "lead {} has no `{}` field; no welcome email sent",
            lead.id, config.email_field
        ));
        return Vec::new();
    };
    if !looks_like_email(to) {
        log::warn(format!(
            "lead {}: {to:?} is not an email address; no welcome email sent",
            lead.id
        ));
        return Vec::new();
    }
    let lookup = |key: &str| placeholder_value(key, lead, fields, config);
    let mut email = Email::new(
        to,
        render(&config.subject, &lookup, false).replace(['\r', '\n'], " "),
        render(&config.template, &lookup, false),
    );
    email.body_html = config
        .html_template
        .as_deref()
        .map(|t| render(t, &lookup, true));

    let mut actions = vec![Action::SendEmail(email)];
    if let Some(tag) = config
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        actions.push(Action::AddTag(tag.to_string()));
    }
    if config.wait_seconds > 0 {
        actions.push(Action::Wait(config.wait_seconds));
    }
    actions
}

/// A cheap sanity check, not validation: something@something.
fn looks_like_email(s: &str) -> bool {
    matches!(s.split_once('@'), Some((user, domain)) if !user.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace))
}

/// The value of placeholder `key` for this lead, or `None` to leave the
/// placeholder as written.
fn placeholder_value(
    key: &str,
    lead: &Lead,
    fields: &Fields,
    config: &WelcomeConfig,
) -> Option<String> {
    let value = match key {
        "from_name" => Some(config.from_name.clone()),
        "form" => Some(lead.form.replace(['-', '_'], " ")),
        "name" => fields.str("name").map(str::to_string).or_else(|| {
            let first = fields.str("first_name")?;
            Some(match fields.str("last_name") {
                Some(last) => format!("{first} {last}"),
                None => first.to_string(),
            })
        }),
        _ => match fields.get(key) {
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        },
    };
    let value = value.filter(|v| !v.is_empty());
    value.or_else(|| {
        Some(
            config
                .fallbacks
                .get(key)
                .cloned()
                .unwrap_or_else(|| match key {
                    "name" => "there".into(),
                    "company" => "your company".into(),
                    _ => String::new(),
                }),
        )
    })
}

/// Replace every `{key}` in `template` (key: letters, digits, `_`) with
/// `lookup(key)`; `{{`/`}}` are literal braces and anything else is copied.
/// With `html`, substituted values are HTML-escaped.
pub fn render(template: &str, lookup: &dyn Fn(&str) -> Option<String>, html: bool) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let Some(end) = tail.find('}').filter(|_| tail.starts_with('{')) {
            let key = &tail[1..end];
            let is_key =
                !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if let Some(value) = is_key.then(|| lookup(key)).flatten() {
                out.push_str(&if html { escape_html(&value) } else { value });
                rest = &tail[end + 1..];
                continue;
            }
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// Escape text for HTML element content and attribute values.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(fields: &str) -> Lead {
        Lead::from_json(&format!(
            r#"{{"id":"t","form":"demo-request","fields":{fields}}}"#
        ))
        .unwrap()
    }

    fn run(lead: &Lead, config: &str) -> Vec<Action> {
        WelcomeStep::run(lead, config).unwrap()
    }

    #[test]
    fn default_email_then_two_day_wait() {
        let l = lead(r#"{"email":"li.wei@example.cn","name":"Li Wei","company":"Acme"}"#);
        let actions = run(&l, "{}");
        assert_eq!(actions.len(), 2);
        let Action::SendEmail(email) = &actions[0] else {
            panic!("expected an email")
        };
        assert_eq!(email.to, "li.wei@example.cn");
        assert_eq!(email.subject, "Thanks for your interest, Li Wei");
        assert!(
            email
                .body_text
                .starts_with("Hello Li Wei,\n\nThank you for your demo request. One of our")
        );
        assert!(email.body_text.ends_with("Best regards,\nThe sales team"));
        assert_eq!(email.body_html, None);
        assert_eq!(actions[1], Action::Wait(172_800));
    }

    #[test]
    fn configured_template_fallbacks_tag_and_html() {
        let l = lead(r#"{"email":"a@b.cn","first_name":"Ming","job_title":"CTO <R&D>"}"#);
        let config = r#"{
            "subject": "Welcome {name}\n",
            "from_name": "Acme",
            "template": "Hi {name} ({job_title}) at {company}, {{literal}} {unknown} {not a key} -- {from_name}",
            "html_template": "<p>Hi {name}, {job_title}</p>",
            "wait_seconds": 3600,
            "tag": "welcomed",
            "fallbacks": {"company": "your team"}
        }"#;
        let actions = run(&l, config);
        let Action::SendEmail(email) = &actions[0] else {
            panic!("expected an email")
        };
        assert_eq!(email.subject, "Welcome Ming ");
        assert_eq!(
            email.body_text,
            "Hi Ming (CTO <R&D>) at your team, {literal}  {not a key} -- Acme"
        );
        assert_eq!(
            email.body_html.as_deref(),
            Some("<p>Hi Ming, CTO &lt;R&amp;D&gt;</p>")
        );
        assert_eq!(
            actions[1..],
            [Action::AddTag("welcomed".into()), Action::Wait(3600)]
        );
    }

    #[test]
    fn name_fallback_and_no_wait() {
        let l = lead(r#"{"email":"a@b.cn"}"#);
        let actions = run(&l, r#"{"wait_seconds":0}"#);
        assert_eq!(actions.len(), 1);
        let Action::SendEmail(email) = &actions[0] else {
            panic!("expected an email")
        };
        assert!(email.body_text.starts_with("Hello there,"));
        assert!(
            email
                .body_text
                .contains("to talk about your company's needs")
        );
    }

    #[test]
    fn no_or_bad_email_gives_no_actions() {
        assert!(run(&lead(r#"{"name":"Li"}"#), "{}").is_empty());
        assert!(run(&lead(r#"{"email":"  "}"#), "{}").is_empty());
        assert!(run(&lead(r#"{"email":"not an email"}"#), "{}").is_empty());
    }

    #[test]
    fn render_edge_cases() {
        let lookup = |k: &str| (k == "x").then(|| "X".to_string());
        assert_eq!(render("{x}{x}", &lookup, false), "XX");
        assert_eq!(render("{", &lookup, false), "{");
        assert_eq!(render("}{x", &lookup, false), "}{x");
        assert_eq!(render("{y} {{x}}", &lookup, false), "{y} {x}");
        assert_eq!(render("日本{x}語", &lookup, false), "日本X語");
    }

    #[test]
    fn bad_config_is_an_error() {
        let err = WelcomeStep::run(&lead("{}"), r#"{"wait":5}"#).unwrap_err();
        assert!(err.contains("unknown field `wait`"), "{err}");
    }

    #[test]
    fn runs_the_sample_lead() {
        let lead = Lead::from_json(include_str!("../../sample-lead.json")).unwrap();
        let actions = WelcomeStep::run(&lead, include_str!("../config.json")).unwrap();
        let Action::SendEmail(email) = &actions[0] else {
            panic!("expected an email")
        };
        assert_eq!(email.to, "li.wei@hangzhou-logistics.example.cn");
        assert!(email.body_text.contains("Li Wei"));
        assert!(email.body_text.contains("Hangzhou Logistics Co."));
        assert_eq!(actions.last(), Some(&Action::Wait(TWO_DAYS)));
    }
}

//! An email made from a workflow's templates over one lead: subject and
//! plain text rendered as text, HTML autoescaped (a field holding `<script>`
//! arrives as text), a fallback wherever the lead lacks a field, and the
//! unsubscribe footer added to both bodies.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::storage::LeadRecord;

/// Longest subject sent (characters); the rest is cut.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest body sent (bytes).
pub const MAX_BODY_BYTES: usize = 100_000;

/// A rendered email, before its footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Who a template may name as `owner`.
pub struct OwnerView<'a> {
    pub name: &'a str,
    pub email: &'a str,
}

/// An email's templates (minijinja) and the values used for fields a lead lacks.
pub struct Templates<'a> {
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
    pub fallbacks: &'a BTreeMap<String, String>,
}

/// Renders `template` for `lead` (and its owner, if any).
pub fn render(template: &Templates<'_>, lead: &LeadRecord, owner: Option<OwnerView<'_>>) -> Result<Composed, String> {
    let mut fields: Map<String, Value> = lead.fields.as_object().cloned().unwrap_or_default();
    for (field, fallback) in template.fallbacks {
        let missing = match fields.get(field) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        };
        if missing {
            fields.insert(field.clone(), Value::String(fallback.clone()));
        }
    }
    let context = json!({
        "fields": fields,
        "lead": {
            "id": lead.id, "name": lead.name, "email": lead.email, "company": lead.company,
            "score": lead.score, "tier": lead.tier, "stage": lead.stage, "source": lead.source,
        },
        "owner": owner.map(|o| json!({"name": o.name, "email": o.email})),
    });
    let context = minijinja::Value::from(minijinja::value::Serde(&context));
    let env = minijinja::Environment::new();
    // The template's name sets the escaping: `.html` autoescapes.
    let render = |name: &str, source: &str| {
        env.render_named_str(name, source, &context)
            .map_err(|e| format!("{name}: {e}"))
    };
    let subject = render("subject.txt", template.subject)?;
    let text = render("text.txt", template.text)?;
    let html = template.html.map(|html| render("body.html", html)).transpose()?;
    Ok(Composed {
        subject: header_value(&subject, MAX_SUBJECT_CHARS),
        text: capped(text),
        html: html.map(capped),
    })
}

impl Composed {
    /// Checks an email a plugin composed: the subject within its limit (cut
    /// to it), bodies within theirs.
    pub fn checked(subject: &str, text: &str, html: Option<&str>) -> Result<Self, String> {
        if subject.trim().is_empty() {
            return Err("the subject is empty".into());
        }
        if subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(format!("the subject is over {MAX_SUBJECT_CHARS} characters"));
        }
        for (part, body) in [("text", Some(text)), ("HTML", html)] {
            if body.is_some_and(|b| b.len() > MAX_BODY_BYTES) {
                return Err(format!("the {part} body is over {MAX_BODY_BYTES} bytes"));
            }
        }
        Ok(Self {
            subject: header_value(subject, MAX_SUBJECT_CHARS),
            text: text.to_owned(),
            html: html.map(str::to_owned),
        })
    }

    /// Makes the links in both bodies tracked ones and adds the open pixel
    /// to the HTML (before the footer: the unsubscribe link is not tracked).
    pub fn tracked(mut self, public_url: &str, key: &str, email_id: &str) -> Self {
        self.text = super::tracking::track_text(&self.text, public_url, key, email_id);
        self.html = self
            .html
            .map(|html| super::tracking::track_html(&html, public_url, key, email_id));
        self
    }

    /// Adds the unsubscribe footer to both bodies.
    pub fn with_footer(mut self, unsubscribe_url: &str) -> Self {
        self.text = format!("{}\n\n--\nUnsubscribe: {unsubscribe_url}\n", self.text.trim_end());
        if let Some(html) = &mut self.html {
            let link = html_escape(unsubscribe_url);
            html.push_str(&format!(
                "\n<p style=\"font-size:12px;color:#666\"><a href=\"{link}\">Unsubscribe</a></p>\n"
            ));
        }
        self
    }
}

/// A header value on one line (CR and LF become spaces), cut to `max` characters.
pub fn header_value(value: &str, max: usize) -> String {
    let one_line: String = value
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    one_line.trim().chars().take(max).collect()
}

fn capped(mut body: String) -> String {
    if body.len() > MAX_BODY_BYTES {
        let mut end = MAX_BODY_BYTES;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
    }
    body
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::domain::{Stage, Tier};

    fn lead(fields: Value) -> LeadRecord {
        LeadRecord {
            id: "l1".into(),
            form: "demo".into(),
            form_version: 1,
            email: Some("ada@example.com".into()),
            phone: None,
            name: Some("Ada".into()),
            company: None,
            fields,
            channel: "api".into(),
            source: "web".into(),
            stage: Stage::Mql,
            owner_id: None,
            score: 40,
            tier: Tier::Warm,
            score_parts: json!([]),
            score_rev: 0,
            scored_at: None,
            stage_entered_at: Timestamp(0),
            assigned_at: None,
            touched_at: None,
            follow_up_due_at: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            processed_at: None,
            held_at: None,
            deal_value: None,
            expected_close_on: None,
        }
    }

    #[test]
    fn fields_fallbacks_and_escaping() {
        let lead = lead(json!({"name": "<b>Ada</b>", "company": ""}));
        let fallbacks = BTreeMap::from([("company".to_owned(), "your company".to_owned())]);
        let t = Templates {
            subject: "Hi {{ fields.name }}\r\nBcc: x@y",
            text: "{{ fields.name }} at {{ fields.company }}, score {{ lead.score }}",
            html: Some("<p>{{ fields.name }} at {{ fields.company }}</p>"),
            fallbacks: &fallbacks,
        };
        let email = render(&t, &lead, None).unwrap();
        assert_eq!(email.subject, "Hi <b>Ada</b>  Bcc: x@y");
        assert_eq!(email.text, "<b>Ada</b> at your company, score 40");
        assert_eq!(
            email.html.unwrap(),
            "<p>&lt;b&gt;Ada&lt;&#x2f;b&gt; at your company</p>"
        );
    }

    #[test]
    fn the_footer_goes_into_both_bodies() {
        let email = Composed::checked("s", "body", Some("<p>x</p>"))
            .unwrap()
            .with_footer("http://h/email/unsubscribe/a.b?x=1&y=2");
        assert!(
            email
                .text
                .ends_with("Unsubscribe: http://h/email/unsubscribe/a.b?x=1&y=2\n")
        );
        assert!(
            email
                .html
                .unwrap()
                .contains("href=\"http://h/email/unsubscribe/a.b?x=1&amp;y=2\"")
        );
    }

    #[test]
    fn a_plugins_email_is_checked() {
        assert!(Composed::checked("", "b", None).is_err());
        assert!(Composed::checked(&"x".repeat(201), "b", None).is_err());
        assert!(Composed::checked("s", &"x".repeat(MAX_BODY_BYTES + 1), None).is_err());
    }
}

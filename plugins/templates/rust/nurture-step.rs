//! {{name}}: a leadhost nurture step. Returns what should happen next to a
//! lead in a workflow, in order.

wit_bindgen::generate!({ path: "wit", world: "nurture-step" });

use leadhost::plugin::types::Email;

struct Plugin;

const TWO_DAYS: u64 = 2 * 24 * 3600;

impl Guest for Plugin {
    fn run(lead: Lead, _config: String) -> Result<Vec<Action>, String> {
        let fields: serde_json::Value =
            serde_json::from_str(&lead.fields).map_err(|e| format!("lead fields are not JSON: {e}"))?;
        let Some(to) = fields["email"].as_str() else {
            return Ok(Vec::new()); // nobody to write to
        };
        let name = fields["name"].as_str().unwrap_or("there");
        Ok(vec![
            Action::SendEmail(Email {
                to: to.into(),
                subject: format!("Welcome, {name}"),
                body_text: format!("Hello {name},\n\nThank you for your interest. We will be in touch within a day."),
                body_html: None,
            }),
            Action::Wait(TWO_DAYS),
            Action::AddTag("welcomed".into()),
        ])
    }
}

export!(Plugin);

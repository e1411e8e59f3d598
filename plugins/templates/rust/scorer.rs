//! {{name}}: a leadhost scorer. Adds points to a lead, each with a reason a
//! sales rep understands.

wit_bindgen::generate!({ path: "wit", world: "scorer" });

use leadhost::plugin::host::{LogLevel, log};

struct Plugin;

impl Guest for Plugin {
    fn score(lead: Lead, _config: String) -> Result<Vec<ScorePart>, String> {
        let fields: serde_json::Value =
            serde_json::from_str(&lead.fields).map_err(|e| format!("lead fields are not JSON: {e}"))?;
        let mut parts = Vec::new();
        if fields["company"].as_str().is_some_and(|c| !c.trim().is_empty()) {
            parts.push(ScorePart { points: 10, reason: "Company given: +10".into() });
        }
        let views = lead
            .behaviour
            .iter()
            .find(|b| b.kind == "pricing_page_viewed")
            .map_or(0, |b| b.last7_days);
        if views > 0 {
            let points = 5 * views.min(4) as i32;
            parts.push(ScorePart {
                points,
                reason: format!("Pricing page viewed {views} times this week: +{points}"),
            });
        }
        log(LogLevel::Info, &format!("scored lead {}: {} part(s)", lead.id, parts.len()));
        Ok(parts)
    }
}

export!(Plugin);

//! {{name}}: a leadhost router. Chooses who gets a lead: one of the
//! candidate reps, a team, or the public pool.

wit_bindgen::generate!({ path: "wit", world: "router" });

use leadhost::plugin::host::{LogLevel, log};
use leadhost::plugin::types::Assignment;

struct Plugin;

impl Guest for Plugin {
    fn route(lead: Lead, candidates: Vec<Rep>, _config: String) -> Result<RouteDecision, String> {
        let least_loaded = candidates
            .iter()
            .filter(|rep| rep.available && (rep.capacity == 0 || rep.open_leads < rep.capacity))
            .min_by_key(|rep| rep.open_leads);
        let decision = match least_loaded {
            Some(rep) => RouteDecision::Rep(Assignment {
                id: rep.id.clone(),
                reason: format!(
                    "{} has the fewest open leads ({}) of the available reps",
                    rep.name, rep.open_leads
                ),
            }),
            None => RouteDecision::PublicPool("no rep is available".into()),
        };
        log(LogLevel::Info, &format!("routed lead {}", lead.id));
        Ok(decision)
    }
}

export!(Plugin);

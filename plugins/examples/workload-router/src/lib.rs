//! `workload-router`: routes a lead to the least-loaded available rep
//! (within capacity) who specialises in the lead's value of a configured
//! field; otherwise to the public pool. See README.md for the contract.

use leadhost_plugin::{Config, Fields, Lead, Rep, RouteDecision, Router, export_router, log};
use serde::Deserialize;

/// The plugin.
pub struct WorkloadRouter;

impl Router for WorkloadRouter {
    fn route(lead: &Lead, candidates: &[Rep], config: &str) -> Result<RouteDecision, String> {
        let config: WorkloadConfig = Config::parse(config)?;
        if config.specialty_field.trim().is_empty() {
            return Err("invalid plugin config: `specialty_field` must not be empty".into());
        }
        let fields = Fields::from_lead(lead)?;
        let decision = route_by_workload(&fields, candidates, &config);
        let summary = match &decision {
            RouteDecision::Rep(a) => format!("rep {}: {}", a.id, a.reason),
            RouteDecision::Team(a) => format!("team {}: {}", a.id, a.reason),
            RouteDecision::PublicPool(reason) => format!("public pool: {reason}"),
        };
        log::info(format!("lead {} -> {summary}", lead.id));
        Ok(decision)
    }
}

export_router!(WorkloadRouter);

/// The tenant's configuration.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadConfig {
    /// Form property matched against the reps' `specialties`
    /// (case-insensitive). A multi-select (array) matches on any value.
    pub specialty_field: String,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            specialty_field: "industry".into(),
        }
    }
}

/// Pick the least-loaded (fewest open leads) available rep within capacity
/// whose specialties contain the lead's value of `specialty_field`; ties go
/// to the lowest id. Otherwise the public pool, with the reason.
pub fn route_by_workload(
    fields: &Fields,
    candidates: &[Rep],
    config: &WorkloadConfig,
) -> RouteDecision {
    let field = config.specialty_field.trim();
    let values = fields.strs(field).unwrap_or_default();
    if values.is_empty() {
        return RouteDecision::public_pool(format!("Lead has no {field}"));
    }
    let shown = values.join(", ");
    let matches = |r: &&Rep| values.iter().any(|v| r.has_specialty(v));
    let specialists = candidates.iter().filter(matches).count();
    if specialists == 0 {
        return RouteDecision::public_pool(format!("No rep specialises in {field} {shown}"));
    }
    let best = candidates
        .iter()
        .filter(matches)
        .filter(|r| r.can_take_lead())
        .min_by(|a, b| {
            a.open_leads
                .cmp(&b.open_leads)
                .then_with(|| a.id.cmp(&b.id))
        });
    match best {
        Some(rep) => {
            let load = if rep.capacity == 0 {
                format!("{} open leads, no limit", rep.open_leads)
            } else {
                format!("{}/{} open leads", rep.open_leads, rep.capacity)
            };
            RouteDecision::to_rep(
                rep.id.clone(),
                format!("Specialises in {shown}; least loaded ({load})"),
            )
        }
        None => RouteDecision::public_pool(format!(
            "All {specialists} rep(s) specialising in {shown} are unavailable or at capacity"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(id: &str, specialties: &[&str], open_leads: u32, capacity: u32, available: bool) -> Rep {
        Rep {
            id: id.into(),
            name: id.to_uppercase(),
            regions: vec![],
            specialties: specialties.iter().map(|s| s.to_string()).collect(),
            capacity,
            open_leads,
            available,
        }
    }

    fn reps() -> Vec<Rep> {
        vec![
            rep("u3", &["Logistics", "Retail"], 4, 10, true),
            rep("u2", &["logistics"], 2, 0, true),
            rep("u1", &["logistics"], 2, 5, true),
            rep("u4", &["LOGISTICS"], 0, 3, false), // away
            rep("u5", &["logistics"], 3, 3, true),  // full
            rep("u6", &["finance"], 0, 0, true),
        ]
    }

    fn route(fields: &str, reps: &[Rep]) -> RouteDecision {
        route_by_workload(
            &Fields::parse(fields).unwrap(),
            reps,
            &WorkloadConfig::default(),
        )
    }

    #[test]
    fn least_loaded_specialist_ties_by_id() {
        assert_eq!(
            route(r#"{"industry":"Logistics"}"#, &reps()),
            RouteDecision::to_rep(
                "u1",
                "Specialises in Logistics; least loaded (2/5 open leads)"
            )
        );
    }

    #[test]
    fn multi_select_values_match_any() {
        assert_eq!(
            route(r#"{"industry":["retail","finance"]}"#, &reps()),
            RouteDecision::to_rep(
                "u6",
                "Specialises in retail, finance; least loaded (0 open leads, no limit)"
            )
        );
    }

    #[test]
    fn public_pool_reasons() {
        assert_eq!(
            route(r#"{"industry":""}"#, &reps()),
            RouteDecision::public_pool("Lead has no industry")
        );
        assert_eq!(
            route(r#"{"industry":"mining"}"#, &reps()),
            RouteDecision::public_pool("No rep specialises in industry mining")
        );
        let busy = vec![
            rep("a", &["mining"], 1, 1, true),
            rep("b", &["Mining"], 0, 0, false),
        ];
        assert_eq!(
            route(r#"{"industry":"mining"}"#, &busy),
            RouteDecision::public_pool(
                "All 2 rep(s) specialising in mining are unavailable or at capacity"
            )
        );
    }

    #[test]
    fn configured_field() {
        let config: WorkloadConfig = Config::parse(r#"{"specialty_field":"product"}"#).unwrap();
        let fields = Fields::parse(r#"{"product":"retail","industry":"finance"}"#).unwrap();
        let RouteDecision::Rep(a) = route_by_workload(&fields, &reps(), &config) else {
            panic!("expected a rep");
        };
        assert_eq!(a.id, "u3");
        let lead = Lead::from_json("{}").unwrap();
        assert!(WorkloadRouter::route(&lead, &[], r#"{"specialty_field":" "}"#).is_err());
        assert!(WorkloadRouter::route(&lead, &[], r#"{"field":"x"}"#).is_err());
    }

    #[test]
    fn routes_the_sample_lead() {
        let lead = Lead::from_json(include_str!("../../sample-lead.json")).unwrap();
        let decision =
            WorkloadRouter::route(&lead, &reps(), include_str!("../config.json")).unwrap();
        assert!(matches!(decision, RouteDecision::Rep(a) if a.id == "u1"));
    }
}

//! `region-router`: routes a lead to the least-loaded available rep who
//! covers its province (or region); otherwise to the public pool.
//! See README.md for the contract.

use leadhost_plugin::{Config, Fields, Lead, Rep, RouteDecision, Router, export_router, log};
use serde::Deserialize;

/// The plugin.
pub struct RegionRouter;

impl Router for RegionRouter {
    fn route(lead: &Lead, candidates: &[Rep], config: &str) -> Result<RouteDecision, String> {
        let config: RegionConfig = Config::parse(config)?;
        if config.region_fields.is_empty() {
            return Err("invalid plugin config: `region_fields` must not be empty".into());
        }
        let fields = Fields::from_lead(lead)?;
        let decision = route_by_region(&fields, candidates, &config);
        match &decision {
            RouteDecision::Rep(a) => {
                log::info(format!("lead {} -> rep {}: {}", lead.id, a.id, a.reason))
            }
            RouteDecision::Team(a) => {
                log::info(format!("lead {} -> team {}: {}", lead.id, a.id, a.reason))
            }
            RouteDecision::PublicPool(reason) => {
                log::info(format!("lead {} -> public pool: {reason}", lead.id))
            }
        }
        Ok(decision)
    }
}

export_router!(RegionRouter);

/// The tenant's configuration; optional. Regions need no mapping: reps carry
/// their own `regions`, which are compared with the lead's value directly.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegionConfig {
    /// Form properties holding the lead's region, tried in order; the first
    /// non-blank one is used.
    pub region_fields: Vec<String>,
}

impl Default for RegionConfig {
    fn default() -> Self {
        Self {
            region_fields: vec!["province".into(), "region".into()],
        }
    }
}

/// The lead's region: the first non-blank configured field, with its name.
pub fn lead_region<'a>(fields: &'a Fields, config: &'a RegionConfig) -> Option<(&'a str, &'a str)> {
    config
        .region_fields
        .iter()
        .find_map(|f| fields.str(f).map(|v| (f.as_str(), v)))
}

/// Pick among `candidates` covering the lead's region (case-insensitive),
/// available and under capacity, the one with the fewest open leads (ties:
/// lowest id); else the public pool with a reason.
pub fn route_by_region(
    fields: &Fields,
    candidates: &[Rep],
    config: &RegionConfig,
) -> RouteDecision {
    let Some((field, region)) = lead_region(fields, config) else {
        return RouteDecision::public_pool(format!(
            "Lead has no region (looked at: {})",
            config.region_fields.join(", ")
        ));
    };
    let covering: Vec<&Rep> = candidates
        .iter()
        .filter(|r| r.covers_region(region))
        .collect();
    if covering.is_empty() {
        return RouteDecision::public_pool(format!("No rep covers {field} {region}"));
    }
    let open: Vec<&Rep> = covering
        .iter()
        .copied()
        .filter(|r| r.can_take_lead())
        .collect();
    let Some(best) = open.iter().min_by(|a, b| {
        a.open_leads
            .cmp(&b.open_leads)
            .then_with(|| a.id.cmp(&b.id))
    }) else {
        return RouteDecision::public_pool(format!(
            "All {} rep(s) covering {region} are unavailable or at capacity",
            covering.len()
        ));
    };
    let reason = if open.len() == 1 {
        format!(
            "Covers {region}; the only available rep for it ({} open leads)",
            best.open_leads
        )
    } else {
        format!(
            "Covers {region}; fewest open leads ({}) of {} available reps for it",
            best.open_leads,
            open.len()
        )
    };
    RouteDecision::to_rep(best.id.clone(), reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(id: &str, regions: &[&str], open_leads: u32, capacity: u32, available: bool) -> Rep {
        Rep {
            id: id.into(),
            name: id.to_uppercase(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
            specialties: vec![],
            capacity,
            open_leads,
            available,
        }
    }

    fn route(fields: &str, reps: &[Rep]) -> RouteDecision {
        route_by_region(
            &Fields::parse(fields).unwrap(),
            reps,
            &RegionConfig::default(),
        )
    }

    fn team() -> Vec<Rep> {
        vec![
            rep("zoe", &["Zhejiang", "Shanghai"], 5, 20, true),
            rep("amy", &["zhejiang"], 3, 0, true),
            rep("bob", &["ZHEJIANG"], 1, 1, true), // at capacity
            rep("cat", &["Zhejiang"], 0, 10, false), // away
            rep("dan", &["Guangdong"], 0, 0, true),
        ]
    }

    #[test]
    fn fewest_open_leads_among_available_covering_reps() {
        assert_eq!(
            route(r#"{"province":"zhejiang"}"#, &team()),
            RouteDecision::to_rep(
                "amy",
                "Covers zhejiang; fewest open leads (3) of 2 available reps for it"
            )
        );
    }

    #[test]
    fn ties_go_to_lowest_id() {
        let reps = vec![
            rep("b", &["Jiangsu"], 2, 0, true),
            rep("a", &["Jiangsu"], 2, 0, true),
        ];
        let RouteDecision::Rep(a) = route(r#"{"province":"Jiangsu"}"#, &reps) else {
            panic!("expected a rep");
        };
        assert_eq!(a.id, "a");
    }

    #[test]
    fn region_field_is_the_fallback() {
        assert_eq!(
            route(r#"{"province":" ","region":"Guangdong"}"#, &team()),
            RouteDecision::to_rep(
                "dan",
                "Covers Guangdong; the only available rep for it (0 open leads)"
            )
        );
    }

    #[test]
    fn public_pool_reasons() {
        assert_eq!(
            route(r#"{"name":"x"}"#, &team()),
            RouteDecision::public_pool("Lead has no region (looked at: province, region)")
        );
        assert_eq!(
            route(r#"{"province":"Sichuan"}"#, &team()),
            RouteDecision::public_pool("No rep covers province Sichuan")
        );
        let reps = vec![
            rep("bob", &["Fujian"], 1, 1, true),
            rep("cat", &["fujian"], 0, 0, false),
        ];
        assert_eq!(
            route(r#"{"province":"Fujian"}"#, &reps),
            RouteDecision::public_pool(
                "All 2 rep(s) covering Fujian are unavailable or at capacity"
            )
        );
        assert_eq!(
            route(r#"{"province":"Fujian"}"#, &[]),
            RouteDecision::public_pool("No rep covers province Fujian")
        );
    }

    #[test]
    fn configured_fields_and_bad_config() {
        let config: RegionConfig = Config::parse(r#"{"region_fields":["state"]}"#).unwrap();
        let fields = Fields::parse(r#"{"state":"Shanghai","province":"Guangdong"}"#).unwrap();
        let RouteDecision::Rep(a) = route_by_region(&fields, &team(), &config) else {
            panic!("expected a rep");
        };
        assert_eq!(a.id, "zoe");
        let lead = Lead::from_json(r#"{"fields":{}}"#).unwrap();
        assert!(RegionRouter::route(&lead, &[], r#"{"region_fields":[]}"#).is_err());
        assert!(RegionRouter::route(&lead, &[], r#"{"regions":{}}"#).is_err());
    }

    #[test]
    fn routes_the_sample_lead() {
        let lead = Lead::from_json(include_str!("../../sample-lead.json")).unwrap();
        let decision = RegionRouter::route(&lead, &team(), include_str!("../config.json")).unwrap();
        assert!(matches!(decision, RouteDecision::Rep(a) if a.id == "amy"));
    }
}

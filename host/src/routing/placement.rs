//! Where a routing decision puts a lead, made final inside the unit that
//! assigns it: a team's strategy picks the member there, reading and
//! counting the members' loads under the team's lock, so round robin is
//! exact across processes.

use serde_json::{Value, json};

use super::strategy::pick;
use crate::clock::Timestamp;
use crate::domain::{RouteStep, RouteTo};
use crate::storage::{StoreResult, Unit};

/// The rep the lead goes to (`None`: the public pool) and the detail of its
/// `routed` timeline entry, saying who or what decided and why.
pub async fn place(unit: &mut Unit<'_>, step: &RouteStep, now: Timestamp) -> StoreResult<(Option<String>, Value)> {
    let mut detail = json!({"by": step.by, "rule": step.rule, "reason": step.reason});
    let owner = match &step.to {
        RouteTo::Rep(id) => Some(id.clone()),
        RouteTo::Team { id, name } => {
            detail["team"] = json!(name);
            let picked = match unit.team_for_pick(id).await? {
                Some((strategy, members)) => pick(strategy, &members).map(|m| (m.user_id.clone(), strategy)),
                None => None,
            };
            match picked {
                Some((user, strategy)) => {
                    unit.count_pick(id, &user, now);
                    detail["strategy"] = json!(strategy);
                    Some(user)
                }
                None => {
                    detail["reason"] = json!(format!(
                        "{}; nobody in team {name} can take it (away or at capacity)",
                        step.reason
                    ));
                    None
                }
            }
        }
        // A hold never reaches here: the step holds the lead itself.
        RouteTo::Pool | RouteTo::Hold => None,
    };
    match &owner {
        Some(rep) => {
            detail["to"] = json!("rep");
            detail["rep"] = json!(rep);
        }
        None => detail["to"] = json!("public_pool"),
    }
    Ok((owner, detail))
}

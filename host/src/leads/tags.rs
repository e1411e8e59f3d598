//! Tags a person adds to a lead or takes off it. An added tag may enrol
//! the lead in a workflow (a `tag_added` trigger), in the same unit.

use std::sync::Arc;

use serde_json::json;

use crate::clock::Timestamp;
use crate::domain::Tag;
use crate::nurture::{ActiveWorkflow, LeadChange, react};
use crate::storage::{StoreResult, Unit, UnitOfWork};

pub struct AddTag {
    pub lead_id: String,
    pub tag: Tag,
    /// The user's id.
    pub by: String,
    pub workflows: Arc<Vec<ActiveWorkflow>>,
}

#[async_trait::async_trait]
impl UnitOfWork for AddTag {
    /// `false` when the lead had the tag already.
    type Output = bool;

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<bool> {
        let now = Timestamp::now();
        let tag = self.tag.as_str();
        if !unit.add_tag(&self.lead_id, tag, now).await? {
            return Ok(false);
        }
        unit.timeline(&self.lead_id, "tagged", &json!({"tag": tag, "by": self.by}), now);
        react(unit, &self.workflows, &self.lead_id, &[LeadChange::TagAdded(tag)], now).await?;
        Ok(true)
    }
}

pub struct RemoveTag {
    pub lead_id: String,
    pub tag: String,
    pub by: String,
}

#[async_trait::async_trait]
impl UnitOfWork for RemoveTag {
    /// `false` when the lead did not have the tag.
    type Output = bool;

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<bool> {
        let now = Timestamp::now();
        if !unit.remove_tag(&self.lead_id, &self.tag).await? {
            return Ok(false);
        }
        unit.timeline(&self.lead_id, "untagged", &json!({"tag": self.tag, "by": self.by}), now);
        Ok(true)
    }
}

//! A lead unsubscribing from email (the link in every email, one click):
//! the address joins the tenant's suppression list, which every send
//! honours, and the lead's runs that exit on unsubscribing end.

use std::sync::Arc;

use serde_json::json;

use crate::clock::Timestamp;
use crate::nurture::{ActiveWorkflow, LeadChange, react};
use crate::storage::{EmailRecord, StoreResult, Unit, UnitOfWork};

pub struct Unsubscribe {
    /// The email whose link was followed.
    pub email: EmailRecord,
    pub workflows: Arc<Vec<ActiveWorkflow>>,
}

#[async_trait::async_trait]
impl UnitOfWork for Unsubscribe {
    type Output = ();

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<()> {
        let now = Timestamp::now();
        let email = &self.email;
        // A notification email's link stops that user's notification emails.
        if let Some(user_id) = &email.user_id {
            unit.stop_notification_emails(user_id);
            return Ok(());
        }
        // An account's email (no lead's, no user's notice) carries no link.
        let Some(lead_id) = email.lead_id.as_deref() else {
            return Ok(());
        };
        if unit.is_suppressed(&email.to).await? {
            return Ok(()); // a second click changes nothing
        }
        unit.suppress(&email.to, "unsubscribed", Some(&format!("email {}", email.id)), now);
        let detail = json!({"address": email.to, "email": email.id});
        unit.timeline(lead_id, "unsubscribed", &detail, now);
        if unit.lead_owner_row(lead_id).await?.is_some() {
            react(unit, &self.workflows, lead_id, &[LeadChange::Unsubscribed], now).await?;
        }
        Ok(())
    }
}

//! What a round of a tenant's nurture jobs reads, read for all of its runs
//! at once: each read is a round trip (on SQLite, to a connection's
//! thread), and reading per run made them, not the steps' work, set the
//! pace of a campaign (see BENCHMARKS.md, "Nurture email").

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::batch::{Params, bind_all};
use super::nurture::RUN_COLUMNS;
use super::{BehaviourEventRecord, EmailRecord, LeadRecord, RunRecord, StoreResult, TenantStore, UserRecord};

/// The rows of a round's runs, their leads and what the steps read of them.
#[derive(Debug, Default)]
pub struct RoundRows {
    /// The runs found (a run gone since its job was written is absent).
    pub runs: Vec<RunRecord>,
    pub leads: HashMap<String, LeadRecord>,
    /// The leads' owners by id.
    pub owners: HashMap<String, UserRecord>,
    /// Each lead's behaviour events, oldest first.
    pub events: HashMap<String, Vec<BehaviourEventRecord>>,
    /// Each lead's tags.
    pub tags: HashMap<String, Vec<String>>,
    /// Each run's emails.
    pub emails: HashMap<String, Vec<EmailRecord>>,
    /// The leads' addresses on the suppression list (lowercase).
    pub suppressed: HashSet<String>,
}

impl TenantStore<'_> {
    /// The runs `run_ids` and what their next steps read: three rounds of
    /// reads, each of a few queries side by side on the readers' pool.
    pub async fn round_rows(&self, run_ids: &[&str]) -> StoreResult<RoundRows> {
        if run_ids.is_empty() {
            return Ok(RoundRows::default());
        }
        let runs = self
            .rows_where(
                &format!("SELECT {RUN_COLUMNS} FROM workflow_runs r JOIN workflows w ON w.id = r.workflow_id"),
                "r",
                "id",
                run_ids,
                "",
            )
            .await?
            .iter()
            .map(RunRecord::from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let mut lead_ids: Vec<&str> = runs.iter().map(|r| r.lead_id.as_str()).collect();
        lead_ids.sort_unstable();
        lead_ids.dedup();
        let found: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
        let (leads, events, tags, emails) = tokio::try_join!(
            self.rows_where(
                "SELECT l.*, f.slug AS form_slug FROM leads l JOIN forms f ON f.id = l.form_id",
                "l",
                "id",
                &lead_ids,
                "",
            ),
            self.rows_where(
                "SELECT b.lead_id, b.id, b.kind, b.url, b.detail, b.occurred_at FROM behaviour_events b",
                "b",
                "lead_id",
                &lead_ids,
                " ORDER BY b.lead_id, b.occurred_at, b.id",
            ),
            self.rows_where(
                "SELECT t.lead_id, t.tag FROM lead_tags t",
                "t",
                "lead_id",
                &lead_ids,
                ""
            ),
            self.rows_where("SELECT e.* FROM emails e", "e", "run_id", &found, ""),
        )?;
        let leads = leads
            .iter()
            .map(|row| LeadRecord::from_row(row).map(|lead| (lead.id.clone(), lead)))
            .collect::<StoreResult<HashMap<_, _>>>()?;
        let mut owner_ids: Vec<&str> = leads.values().filter_map(|l| l.owner_id.as_deref()).collect();
        owner_ids.sort_unstable();
        owner_ids.dedup();
        let addresses: Vec<String> = leads
            .values()
            .filter_map(|l| l.email.as_deref())
            .map(str::to_lowercase)
            .collect();
        let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
        let (owners, suppressed) = tokio::try_join!(
            self.rows_where("SELECT u.* FROM users u", "u", "id", &owner_ids, ""),
            self.rows_where("SELECT s.address FROM suppressions s", "s", "address", &addresses, ""),
        )?;
        let mut rows = RoundRows {
            runs,
            leads,
            ..RoundRows::default()
        };
        for row in &owners {
            let user = UserRecord::from_row(row)?;
            rows.owners.insert(user.id.clone(), user);
        }
        for row in &suppressed {
            rows.suppressed.insert(row.try_get("address")?);
        }
        for row in &events {
            let lead_id: String = row.try_get("lead_id")?;
            rows.events
                .entry(lead_id)
                .or_default()
                .push(BehaviourEventRecord::from_row(row)?);
        }
        for row in &tags {
            let lead_id: String = row.try_get("lead_id")?;
            rows.tags.entry(lead_id).or_default().push(row.try_get("tag")?);
        }
        for row in &emails {
            let email = EmailRecord::from_row(row)?;
            if let Some(run_id) = email.run_id.clone() {
                rows.emails.entry(run_id).or_default().push(email);
            }
        }
        Ok(rows)
    }

    /// `select` over the tenant's rows of table `alias` whose `column` is
    /// one of `values` (none: no rows), then `tail`.
    async fn rows_where(
        &self,
        select: &str,
        alias: &str,
        column: &str,
        values: &[&str],
        tail: &str,
    ) -> StoreResult<Vec<sqlx::any::AnyRow>> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let mut p = Params::new(self.store.backend);
        let tenant = p.push(self.tenant_id.as_str());
        let list: Vec<String> = values.iter().map(|v| p.push(*v)).collect();
        let sql = format!(
            "{select} WHERE {alias}.tenant_id = {tenant} AND {alias}.{column} IN ({}){tail}",
            list.join(", ")
        );
        Ok(bind_all(sqlx::query(&sql), p.binds).fetch_all(&self.store.read).await?)
    }
}

//! A user leaving the company. The reason many teams keep leads in a system
//! at all is that the customers stay when the rep goes: the user is
//! deactivated (no more logins, sessions and tokens end at once), and each
//! of their open leads gets a durable `reroute` job, written in the same
//! unit, that sends it through routing without them (or to the pool)
//! through the one owner-change path. Every record and activity stays.

use crate::clock::Timestamp;
use crate::domain::{Job, JobRecord, LeadJob, Stage};
use crate::storage::{StoreError, StoreResult, TenantStore, Unit, UnitOfWork, new_id};

/// Deactivates `user_id` for `by` (who may not deactivate themself). The
/// caller runs the returned reroute jobs (`jobs::spawn_in_turn`).
pub async fn depart(store: &TenantStore<'_>, user_id: &str, by: Option<&str>) -> StoreResult<Departed> {
    if by == Some(user_id) {
        return Err(StoreError::Conflict("you cannot deactivate yourself".into()));
    }
    store.user_by_id(user_id).await?;
    let departure = Departure {
        user_id: user_id.to_owned(),
    };
    store.run(departure).await
}

pub struct Departure {
    pub user_id: String,
}

/// What a departure did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Departed {
    /// `false` when the user had already left (nothing more was done).
    pub deactivated: bool,
    /// Open leads queued to be routed again.
    pub leads_rerouted: usize,
    /// The jobs, held by this process to run at once.
    #[serde(skip)]
    pub jobs: Vec<JobRecord>,
}

#[async_trait::async_trait]
impl UnitOfWork for Departure {
    type Output = Departed;

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<Departed> {
        let now = Timestamp::now();
        if !unit.deactivate_user(&self.user_id, now).await? {
            return Ok(Departed {
                deactivated: false,
                leads_rerouted: 0,
                jobs: Vec::new(),
            });
        }
        let open: Vec<Stage> = Stage::ALL.iter().copied().filter(|s| s.is_open()).collect();
        let leads = unit.leads_of_in(&self.user_id, &open).await?;
        let mut jobs = Vec::with_capacity(leads.len());
        for lead_id in leads {
            let job = JobRecord::held(new_id(), unit.tenant_id(), Job::Reroute(LeadJob { lead_id }));
            unit.add_job(&job, now, Some(crate::storage::WRITER_LEASE));
            jobs.push(job);
        }
        Ok(Departed {
            deactivated: true,
            leads_rerouted: jobs.len(),
            jobs,
        })
    }
}

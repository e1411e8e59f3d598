//! `leadhost dashboard …`: count a tenant's dashboard again from the source
//! tables (after restoring a backup, or changing the tenant's time zone:
//! days are counted in the zone of the time of each change). Safe while a
//! server runs: each tenant is one transaction, and the server's counting
//! of that tenant waits for it.

use anyhow::Context;
use clap::Subcommand;

use crate::storage::{Store, TenantRecord};

#[derive(Subcommand)]
pub enum DashboardCommand {
    /// Count the dashboard's rollups again from the leads, their stages,
    /// activities and SLA breaches, by day in each tenant's time zone now.
    Rebuild {
        /// The tenant's slug (default: every tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(store: &Store, command: DashboardCommand) -> anyhow::Result<()> {
    let DashboardCommand::Rebuild { tenant } = command;
    let tenants: Vec<TenantRecord> = match tenant {
        Some(slug) => vec![
            store
                .tenant_by_slug(&slug)
                .await
                .with_context(|| format!("tenant {slug:?}"))?,
        ],
        None => store.list_tenants().await?,
    };
    for tenant in tenants {
        let rebuilt = store
            .tenant(&tenant.id)
            .rebuild_dashboard()
            .await
            .with_context(|| format!("rebuilding the dashboard of {}", tenant.slug))?;
        println!(
            "{}: {} leads counted ({} changed), {} activities, by day in {}",
            tenant.slug, rebuilt.leads, rebuilt.changed, rebuilt.activities, rebuilt.time_zone
        );
    }
    Ok(())
}

//! The durable side of routing: teams and their members, the tenant's
//! assignment rules, what a team's pick reads and counts, a lead's owner,
//! and the public pool's claims, bars and settings.

use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::batch::{Bind, Statement};
use super::setting_changes::log_change;
use super::unit::Unit;
use super::{StoreError, StoreResult, TenantStore, new_id, word};
use crate::clock::Timestamp;
use crate::domain::{Stage, Strategy, Tier};

#[derive(Debug, Clone, serde::Serialize)]
pub struct TeamRecord {
    pub id: String,
    pub name: String,
    pub manager_id: Option<String>,
    pub strategy: Strategy,
    pub members: Vec<TeamMemberRecord>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TeamMemberRecord {
    pub user_id: String,
    pub email: String,
    pub weight: i64,
    /// Leads this team has given the member.
    pub assigned: i64,
}

pub struct NewTeam {
    pub name: String,
    pub manager_id: Option<String>,
    pub strategy: Strategy,
    /// (user id, weight)
    pub members: Vec<(String, i64)>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredRules {
    pub version: i32,
    pub rules: Value,
    pub created_at: Timestamp,
}

/// Pool rules of a tenant.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct PoolSettings {
    /// Pool leads one rep may claim in 24 hours.
    pub claim_limit: Option<i64>,
    /// Hours a lead's previous owner may not claim it back.
    pub bar_hours: Option<i64>,
}

impl TenantStore<'_> {
    /// Whether `user_id` is a member of a team `manager_id` manages.
    pub async fn manages(&self, manager_id: &str, user_id: &str) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM team_members tm JOIN teams t ON t.id = tm.team_id \
             WHERE t.tenant_id = $1 AND t.manager_id = $2 AND tm.user_id = $3",
        )
        .bind(&self.tenant_id)
        .bind(manager_id)
        .bind(user_id)
        .fetch_one(&self.store.read)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    pub async fn teams(&self) -> StoreResult<Vec<TeamRecord>> {
        let rows = sqlx::query("SELECT id, name, manager_id, strategy FROM teams WHERE tenant_id = $1 ORDER BY name")
            .bind(&self.tenant_id)
            .fetch_all(&self.store.read)
            .await?;
        let mut teams = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            let members = sqlx::query(
                "SELECT m.user_id, u.email, m.weight, m.assigned FROM team_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.tenant_id = $1 AND m.team_id = $2 ORDER BY u.email",
            )
            .bind(&self.tenant_id)
            .bind(&id)
            .fetch_all(&self.store.read)
            .await?
            .iter()
            .map(|m| {
                Ok(TeamMemberRecord {
                    user_id: m.try_get("user_id")?,
                    email: m.try_get("email")?,
                    weight: m.try_get("weight")?,
                    assigned: m.try_get("assigned")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
            teams.push(TeamRecord {
                id,
                name: row.try_get("name")?,
                manager_id: row.try_get("manager_id")?,
                strategy: word(&row, "strategy")?,
                members,
            });
        }
        Ok(teams)
    }

    pub async fn team(&self, name: &str) -> StoreResult<TeamRecord> {
        self.teams()
            .await?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or(StoreError::NotFound)
    }

    /// Creates a team, or (`replace`) changes its manager, strategy and
    /// members; members who stay keep their counters.
    /// Adds a team, or with `replace` changes one; logged as `by`'s change
    /// of `teams`, with `logged` (what they sent).
    pub async fn save_team(
        &self,
        team: &NewTeam,
        replace: bool,
        by: Option<&str>,
        logged: &Value,
    ) -> StoreResult<TeamRecord> {
        let now = Timestamp::now();
        let mut tx = self.store.begin_write().await?;
        let existing = sqlx::query("SELECT id FROM teams WHERE tenant_id = $1 AND name = $2")
            .bind(&self.tenant_id)
            .bind(&team.name)
            .fetch_optional(&mut *tx)
            .await?;
        let id = match (existing, replace) {
            (Some(_), false) => return Err(StoreError::Conflict(format!("a team named {:?} exists", team.name))),
            (None, true) => return Err(StoreError::NotFound),
            (Some(row), true) => {
                let id: String = row.try_get("id")?;
                sqlx::query("UPDATE teams SET manager_id = $3, strategy = $4 WHERE tenant_id = $1 AND id = $2")
                    .bind(&self.tenant_id)
                    .bind(&id)
                    .bind(team.manager_id.as_deref())
                    .bind(team.strategy.as_str())
                    .execute(&mut *tx)
                    .await?;
                id
            }
            (None, false) => {
                let id = new_id();
                sqlx::query(
                    "INSERT INTO teams (id, tenant_id, name, manager_id, strategy, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&id)
                .bind(&self.tenant_id)
                .bind(&team.name)
                .bind(team.manager_id.as_deref())
                .bind(team.strategy.as_str())
                .bind(now.micros())
                .execute(&mut *tx)
                .await?;
                id
            }
        };
        let keep: Vec<String> = team.members.iter().map(|(user, _)| user.clone()).collect();
        let current = sqlx::query("SELECT user_id FROM team_members WHERE team_id = $1")
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?;
        for row in current {
            let user: String = row.try_get("user_id")?;
            if !keep.contains(&user) {
                sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                    .bind(&id)
                    .bind(&user)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for (user, weight) in &team.members {
            sqlx::query(
                "INSERT INTO team_members (team_id, user_id, tenant_id, weight) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (team_id, user_id) DO UPDATE SET weight = excluded.weight",
            )
            .bind(&id)
            .bind(user)
            .bind(&self.tenant_id)
            .bind(*weight)
            .execute(&mut *tx)
            .await?;
        }
        log_change(&mut tx, &self.tenant_id, "teams", by, logged, now).await?;
        tx.commit().await?;
        self.team(&team.name).await
    }

    pub async fn routing_rules(&self) -> StoreResult<Option<StoredRules>> {
        let row = sqlx::query(
            "SELECT version, rules, created_at FROM routing_rules WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(&self.tenant_id)
        .fetch_optional(&self.store.read)
        .await?;
        row.map(|row| {
            let rules: String = row.try_get("rules")?;
            Ok(StoredRules {
                version: row.try_get::<i64, _>("version")? as i32,
                rules: serde_json::from_str(&rules).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                created_at: Timestamp(row.try_get("created_at")?),
            })
        })
        .transpose()
    }

    pub async fn save_routing_rules(&self, rules: &Value, by: Option<&str>) -> StoreResult<i32> {
        let mut tx = self.store.begin_write().await?;
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM routing_rules WHERE tenant_id = $1")
            .bind(&self.tenant_id)
            .fetch_one(&mut *tx)
            .await?;
        let version = row.try_get::<i64, _>("v")? as i32 + 1;
        sqlx::query(
            "INSERT INTO routing_rules (tenant_id, version, rules, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&self.tenant_id)
        .bind(version)
        .bind(rules.to_string())
        .bind(by)
        .bind(Timestamp::now().micros())
        .execute(&mut *tx)
        .await?;
        log_change(&mut tx, &self.tenant_id, "routing_rules", by, rules, Timestamp::now()).await?;
        tx.commit().await?;
        Ok(version)
    }

    pub async fn pool_settings(&self) -> StoreResult<PoolSettings> {
        let row = sqlx::query("SELECT pool_claim_limit, pool_bar_hours FROM tenants WHERE id = $1")
            .bind(&self.tenant_id)
            .fetch_one(&self.store.read)
            .await?;
        pool_settings_from(&row)
    }

    /// Sets the pool's rules, logged as `by`'s change.
    pub async fn set_pool_settings(&self, settings: PoolSettings, by: Option<&str>) -> StoreResult<()> {
        let mut tx = self.store.begin_write().await?;
        sqlx::query("UPDATE tenants SET pool_claim_limit = $2, pool_bar_hours = $3 WHERE id = $1")
            .bind(&self.tenant_id)
            .bind(settings.claim_limit)
            .bind(settings.bar_hours)
            .execute(&mut *tx)
            .await?;
        let logged = serde_json::json!(settings);
        log_change(&mut tx, &self.tenant_id, "pool_settings", by, &logged, Timestamp::now()).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A team member as a strategy sees them.
#[derive(Debug, Clone)]
pub struct MemberLoad {
    pub user_id: String,
    pub weight: i64,
    /// Leads this team has given the member.
    pub assigned: i64,
    /// `None` sorts first: a member never given a lead goes before others.
    pub last_assigned_at: Option<i64>,
    pub open_leads: i64,
    /// 0: no limit.
    pub capacity: i64,
    pub available: bool,
}

/// A lead about to change hands, as it stands, held until the unit commits.
#[derive(Debug, Clone)]
pub struct OwnedLead {
    pub owner: Option<String>,
    pub stage: Stage,
    pub tier: Tier,
    /// The tenant's SLA policy as stored.
    pub sla_policy: Option<String>,
    /// Held for nurture: not in the pool.
    pub held: bool,
}

/// Routing's reads and writes in a unit: a team's pick, the public pool,
/// and a lead's owner.
impl Unit<'_> {
    /// A team's strategy and its members' loads, with the team's row held
    /// until the unit commits (so two picks of one team take turns and
    /// round robin stays exact across processes); `None` for no such team.
    pub async fn team_for_pick(&mut self, team_id: &str) -> StoreResult<Option<(Strategy, Vec<MemberLoad>)>> {
        // Loads move with every owner change: see the held ones.
        self.settle().await?;
        let sql = format!(
            "SELECT strategy FROM teams WHERE tenant_id = $1 AND id = $2{}",
            self.backend.lock_rows()
        );
        let Some(row) = sqlx::query(&sql)
            .bind(self.tenant_id)
            .bind(team_id)
            .fetch_optional(&mut *self.conn)
            .await?
        else {
            return Ok(None);
        };
        let strategy: Strategy = word(&row, "strategy")?;
        let members = sqlx::query(
            "SELECT m.user_id, m.weight, m.assigned, m.last_assigned_at, u.open_leads, u.capacity, u.available \
             FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1 AND m.team_id = $2",
        )
        .bind(self.tenant_id)
        .bind(team_id)
        .fetch_all(&mut *self.conn)
        .await?
        .iter()
        .map(|r| {
            Ok(MemberLoad {
                user_id: r.try_get("user_id")?,
                weight: r.try_get("weight")?,
                assigned: r.try_get("assigned")?,
                last_assigned_at: r.try_get("last_assigned_at")?,
                open_leads: r.try_get("open_leads")?,
                capacity: r.try_get("capacity")?,
                available: r.try_get::<i64, _>("available")? != 0,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some((strategy, members)))
    }

    /// Counts a lead the team gave a member.
    pub fn count_pick(&mut self, team_id: &str, user_id: &str, now: Timestamp) {
        self.write(
            Statement::new(
                "UPDATE team_members SET assigned = assigned + 1, last_assigned_at = $3 \
                 WHERE team_id = $1 AND user_id = $2",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(now.micros()),
        );
    }

    /// The lead's owner, stage and tier, held until the unit commits (a
    /// concurrent owner change waits, then sees this one's).
    pub async fn lead_for_owner_change(&mut self, lead_id: &str) -> StoreResult<Option<OwnedLead>> {
        let columns = "owner_id, stage, tier, held_at, (SELECT sla_policy FROM tenants WHERE id = $1) AS sla_policy";
        let row = self.held_lead_row(lead_id, columns).await?;
        row.map(|row| {
            Ok(OwnedLead {
                owner: row.try_get("owner_id")?,
                stage: word(&row, "stage")?,
                tier: word(&row, "tier")?,
                sla_policy: row.try_get("sla_policy")?,
                held: row.try_get::<Option<i64>, _>("held_at")?.is_some(),
            })
        })
        .transpose()
    }

    /// Sets the lead's owner (`None`: the public pool), when they got it and
    /// the deadline of their first touch; the lead counts as not touched.
    pub fn set_owner(&mut self, lead_id: &str, owner: Option<&str>, due: Option<Timestamp>, now: Timestamp) {
        let tenant = self.tenant_id;
        let assigned = owner.map(|_| now.micros());
        self.pending.set_lead(tenant, lead_id, "owner_id", Bind::from(owner));
        self.pending
            .set_lead(tenant, lead_id, "assigned_at", Bind::from(assigned));
        self.pending.set_lead(tenant, lead_id, "touched_at", Bind::OptInt(None));
        self.pending.set_lead(
            tenant,
            lead_id,
            "follow_up_due_at",
            Bind::from(due.map(Timestamp::micros)),
        );
        self.pending
            .set_lead(tenant, lead_id, "updated_at", Bind::Int(now.micros()));
    }

    /// Moves a user's count of open leads (an open lead counts against its
    /// owner's capacity).
    pub fn add_open_leads(&mut self, user_id: &str, delta: i64) {
        self.write(
            Statement::new("UPDATE users SET open_leads = open_leads + $3 WHERE tenant_id = $1 AND id = $2")
                .bind(self.tenant())
                .bind(user_id)
                .bind(delta),
        );
    }

    /// Until when `user_id` may not claim the lead back, if they are barred now.
    pub async fn pool_bar(&mut self, lead_id: &str, user_id: &str, now: Timestamp) -> StoreResult<Option<Timestamp>> {
        let row = sqlx::query(
            "SELECT until FROM pool_bars WHERE tenant_id = $1 AND lead_id = $2 AND user_id = $3 AND until > $4",
        )
        .bind(self.tenant_id)
        .bind(lead_id)
        .bind(user_id)
        .bind(now.micros())
        .fetch_optional(&mut *self.conn)
        .await?;
        Ok(row.map(|r| r.try_get("until")).transpose()?.map(Timestamp))
    }

    /// Bars a lead's previous owner from claiming it back until `until`.
    pub fn bar_from_pool(&mut self, lead_id: &str, user_id: &str, until: Timestamp) {
        self.write(
            Statement::new(
                "INSERT INTO pool_bars (tenant_id, lead_id, user_id, until) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, lead_id, user_id) DO UPDATE SET until = excluded.until",
            )
            .bind(self.tenant())
            .bind(lead_id)
            .bind(user_id)
            .bind(until.micros()),
        );
    }

    /// Pool leads the user claimed since `since`.
    pub async fn claims_since(&mut self, user_id: &str, since: Timestamp) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM pool_claims WHERE tenant_id = $1 AND user_id = $2 AND claimed_at > $3",
        )
        .bind(self.tenant_id)
        .bind(user_id)
        .bind(since.micros())
        .fetch_one(&mut *self.conn)
        .await?;
        Ok(row.try_get("n")?)
    }

    pub fn record_pool_claim(&mut self, user_id: &str, lead_id: &str, now: Timestamp) {
        self.write(
            Statement::new(
                "INSERT INTO pool_claims (id, tenant_id, user_id, lead_id, claimed_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(new_id())
            .bind(self.tenant())
            .bind(user_id)
            .bind(lead_id)
            .bind(now.micros()),
        );
    }

    pub async fn pool_settings(&mut self) -> StoreResult<PoolSettings> {
        let row = sqlx::query("SELECT pool_claim_limit, pool_bar_hours FROM tenants WHERE id = $1")
            .bind(self.tenant_id)
            .fetch_one(&mut *self.conn)
            .await?;
        pool_settings_from(&row)
    }
}

fn pool_settings_from(row: &AnyRow) -> StoreResult<PoolSettings> {
    Ok(PoolSettings {
        claim_limit: row.try_get::<Option<i64>, _>("pool_claim_limit")?,
        bar_hours: row.try_get::<Option<i64>, _>("pool_bar_hours")?,
    })
}

//! The durable side of routing: teams and their members, the tenant's
//! assignment rules, a team's pick made inside the assigning transaction,
//! and the public pool (claims, releases, bars, manual reassignment).

use serde_json::{Value, json};
use sqlx::{Any, Row, Transaction};

use super::batch::{Statement, execute_all};
use super::followup::stored_policy;
use super::{Backend, StoreError, StoreResult, TenantStore, new_id, word};
use crate::clock::Timestamp;
use crate::domain::{RouteStep, RouteTo, Stage, Strategy, Tier};
use crate::followup::SlaPolicy;
use crate::routing::strategy::{Member, pick};

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
    pub async fn save_team(&self, team: &NewTeam, replace: bool) -> StoreResult<TeamRecord> {
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
        tx.commit().await?;
        Ok(version)
    }

    /// Picks the member of a team who gets the next lead and counts it,
    /// inside the transaction that assigns the lead: on SQLite the single
    /// writer makes it exact, on PostgreSQL the team's row is locked first.
    pub(super) async fn pick_team_member(
        &self,
        tx: &mut Transaction<'_, Any>,
        team_id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(String, Strategy)>> {
        let team = match self.store.backend {
            Backend::Postgres => "SELECT strategy FROM teams WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            Backend::Sqlite => "SELECT strategy FROM teams WHERE tenant_id = $1 AND id = $2",
        };
        let Some(row) = sqlx::query(team)
            .bind(&self.tenant_id)
            .bind(team_id)
            .fetch_optional(&mut **tx)
            .await?
        else {
            return Ok(None);
        };
        let strategy: Strategy = word(&row, "strategy")?;
        let members = sqlx::query(
            "SELECT m.user_id, m.weight, m.assigned, m.last_assigned_at, u.open_leads, u.capacity, u.available \
             FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1 AND m.team_id = $2",
        )
        .bind(&self.tenant_id)
        .bind(team_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            Ok(Member {
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
        let Some(chosen) = pick(strategy, &members) else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE team_members SET assigned = assigned + 1, last_assigned_at = $3 WHERE team_id = $1 AND user_id = $2",
        )
        .bind(team_id)
        .bind(&chosen.user_id)
        .bind(now.micros())
        .execute(&mut **tx)
        .await?;
        Ok(Some((chosen.user_id.clone(), strategy)))
    }

    /// Where a routing step puts the lead (a rep, or `None`: the pool) and
    /// the `routed` timeline entry saying who or what decided and why. A
    /// team's strategy picks the rep here, bumping its counters in `tx`.
    pub(super) async fn resolve_route(
        &self,
        tx: &mut Transaction<'_, Any>,
        step: &RouteStep,
        now: Timestamp,
    ) -> StoreResult<(Option<String>, Value)> {
        let mut detail = json!({"by": step.by, "rule": step.rule, "reason": step.reason});
        let owner = match &step.to {
            RouteTo::Rep(id) => Some(id.clone()),
            RouteTo::Team { id, name } => {
                detail["team"] = json!(name);
                match self.pick_team_member(tx, id, now).await? {
                    Some((user, strategy)) => {
                        detail["strategy"] = json!(strategy.as_str());
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
            RouteTo::Pool => None,
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

    /// Sets the lead's owner and returns the statements that go with it, for
    /// the caller's batch. One round trip here; the tenant's SLA policy
    /// comes back with the update.
    async fn set_owner(
        &self,
        tx: &mut Transaction<'_, Any>,
        lead_id: &str,
        previous: Option<&str>,
        owner: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<Vec<Statement>> {
        let row = sqlx::query(
            "UPDATE leads SET owner_id = $3, assigned_at = $4, touched_at = NULL, follow_up_due_at = NULL, \
               updated_at = $5 \
             WHERE tenant_id = $1 AND id = $2 \
             RETURNING stage, tier, (SELECT sla_policy FROM tenants WHERE id = $1) AS sla_policy",
        )
        .bind(&self.tenant_id)
        .bind(lead_id)
        .bind(owner)
        .bind(owner.map(|_| now.micros()))
        .bind(now.micros())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let stage: Stage = word(&row, "stage")?;
        let tier: Tier = word(&row, "tier")?;
        let policy = stored_policy(row.try_get("sla_policy")?);
        let change = OwnerChange {
            lead_id,
            previous,
            owner,
            tier,
            stage,
        };
        let (due, mut statements) = self.owner_changed(&change, policy.as_ref(), true, now);
        if due.is_some() {
            statements.push(self.deadline_on_lead(lead_id, due));
        }
        Ok(statements)
    }

    /// What goes with a lead changing owner, besides its own row: the new
    /// owner's first-touch deadline (returned, for the lead row) and its
    /// jobs, the announcement (when the tenant has `webhooks`), and both
    /// reps' open-lead counts (an open lead counts against its owner's
    /// capacity).
    pub(super) fn owner_changed(
        &self,
        change: &OwnerChange<'_>,
        policy: Option<&SlaPolicy>,
        webhooks: bool,
        now: Timestamp,
    ) -> (Option<Timestamp>, Vec<Statement>) {
        let OwnerChange {
            lead_id,
            previous,
            owner,
            tier,
            stage,
        } = *change;
        let (due, mut statements) = self.first_touch(lead_id, owner, tier, policy, now);
        if let Some(owner) = owner
            && previous != Some(owner)
            && webhooks
        {
            let data = json!({"lead_id": lead_id, "owner": owner, "previous_owner": previous, "tier": tier});
            statements.extend(self.emit_statements("lead.assigned", &data, now));
        }
        if previous != owner && stage.is_open() {
            for (user, change) in [(previous, -1), (owner, 1)] {
                if let Some(user) = user {
                    statements.push(
                        Statement::new(
                            "UPDATE users SET open_leads = open_leads + $3 WHERE tenant_id = $1 AND id = $2",
                        )
                        .bind(&self.tenant_id)
                        .bind(user)
                        .bind(change),
                    );
                }
            }
        }
        (due, statements)
    }

    pub async fn pool_settings(&self) -> StoreResult<PoolSettings> {
        let row = sqlx::query("SELECT pool_claim_limit, pool_bar_hours FROM tenants WHERE id = $1")
            .bind(&self.tenant_id)
            .fetch_one(&self.store.read)
            .await?;
        Ok(PoolSettings {
            claim_limit: row.try_get::<Option<i64>, _>("pool_claim_limit")?,
            bar_hours: row.try_get::<Option<i64>, _>("pool_bar_hours")?,
        })
    }

    pub async fn set_pool_settings(&self, settings: PoolSettings) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET pool_claim_limit = $2, pool_bar_hours = $3 WHERE id = $1")
            .bind(&self.tenant_id)
            .bind(settings.claim_limit)
            .bind(settings.bar_hours)
            .execute(&self.store.write)
            .await?;
        Ok(())
    }

    /// A rep takes a pool lead. Two reps racing: one wins, the other gets a
    /// conflict. Also refused past the rep's daily claim limit, and to a
    /// previous owner while barred.
    pub async fn claim(&self, lead_id: &str, user_id: &str, limit: Option<i64>) -> StoreResult<()> {
        let now = Timestamp::now();
        let mut tx = self.store.begin_write().await?;
        let bar = sqlx::query(
            "SELECT until FROM pool_bars WHERE tenant_id = $1 AND lead_id = $2 AND user_id = $3 AND until > $4",
        )
        .bind(&self.tenant_id)
        .bind(lead_id)
        .bind(user_id)
        .bind(now.micros())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(bar) = bar {
            let until = Timestamp(bar.try_get("until")?);
            return Err(StoreError::Conflict(format!(
                "this lead left you recently; you may claim it back after {until}"
            )));
        }
        if let Some(limit) = limit {
            let claimed: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM pool_claims WHERE tenant_id = $1 AND user_id = $2 AND claimed_at > $3",
            )
            .bind(&self.tenant_id)
            .bind(user_id)
            .bind(now.micros() - 86_400_000_000)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
            if claimed >= limit {
                return Err(StoreError::Conflict(format!(
                    "you have claimed {claimed} pool leads in the last 24 hours; the limit is {limit}"
                )));
            }
        }
        let taken = sqlx::query(
            "UPDATE leads SET owner_id = $3, assigned_at = $4, touched_at = NULL, follow_up_due_at = NULL, \
               updated_at = $4 \
             WHERE tenant_id = $1 AND id = $2 AND owner_id IS NULL \
             RETURNING stage, tier, (SELECT sla_policy FROM tenants WHERE id = $1) AS sla_policy",
        )
        .bind(&self.tenant_id)
        .bind(lead_id)
        .bind(user_id)
        .bind(now.micros())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = taken else {
            return Err(StoreError::Conflict(
                "another rep has claimed this lead; it is no longer in the pool".into(),
            ));
        };
        let stage: Stage = word(&row, "stage")?;
        let tier: Tier = word(&row, "tier")?;
        let policy = stored_policy(row.try_get("sla_policy")?);
        let (due, mut statements) = self.first_touch(lead_id, Some(user_id), tier, policy.as_ref(), now);
        if due.is_some() {
            statements.push(self.deadline_on_lead(lead_id, due));
        }
        let data = json!({"lead_id": lead_id, "owner": user_id, "tier": tier});
        statements.extend(self.emit_statements("lead.claimed", &data, now));
        statements.extend([
            Statement::new(
                "INSERT INTO pool_claims (id, tenant_id, user_id, lead_id, claimed_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(new_id())
            .bind(&self.tenant_id)
            .bind(user_id)
            .bind(lead_id)
            .bind(now.micros()),
            self.event_statement(lead_id, "claimed", &json!({"rep": user_id}), now),
        ]);
        if stage.is_open() {
            statements.push(
                Statement::new("UPDATE users SET open_leads = open_leads + 1 WHERE tenant_id = $1 AND id = $2")
                    .bind(&self.tenant_id)
                    .bind(user_id),
            );
        }
        execute_all(self.store.backend, &mut tx, &statements).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a lead to another owner, or to the pool (`to: None`), by hand;
    /// `bar_hours` keeps the previous owner from claiming it back for a while.
    pub async fn reassign(
        &self,
        lead_id: &str,
        to: Option<&str>,
        kind: &str,
        detail: Value,
        bar_hours: Option<i64>,
    ) -> StoreResult<()> {
        let now = Timestamp::now();
        let mut tx = self.store.begin_write().await?;
        self.reassign_in(&mut tx, lead_id, to, kind, detail, bar_hours, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn reassign_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        lead_id: &str,
        to: Option<&str>,
        kind: &str,
        detail: Value,
        bar_hours: Option<i64>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let previous: Option<String> = sqlx::query("SELECT owner_id FROM leads WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(lead_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get("owner_id")?;
        let mut statements = self.set_owner(tx, lead_id, previous.as_deref(), to, now).await?;
        statements.push(self.event_statement(lead_id, kind, &detail, now));
        execute_all(self.store.backend, tx, &statements).await?;
        if let (Some(previous), Some(hours)) = (previous.as_deref(), bar_hours)
            && to != Some(previous)
        {
            sqlx::query(
                "INSERT INTO pool_bars (tenant_id, lead_id, user_id, until) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, lead_id, user_id) DO UPDATE SET until = excluded.until",
            )
            .bind(&self.tenant_id)
            .bind(lead_id)
            .bind(previous)
            .bind(now.micros() + hours * 3_600_000_000)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

/// A lead changing hands, as its row has it after the change.
#[derive(Clone, Copy)]
pub(super) struct OwnerChange<'a> {
    pub lead_id: &'a str,
    pub previous: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub tier: Tier,
    pub stage: Stage,
}

//! Leads, their dedup identities and touches: the durable end of intake.

use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::batch::{Bind, PendingWrites, Statement, bind_all};
use super::group_commit::{Write, Written};
use super::pipeline::{WRITER_LEASE, job_statement};
use super::{StoreError, StoreResult, TenantStore, new_id, word};
use crate::clock::Timestamp;
use crate::domain::{
    IdempotencyKey, Job, JobRecord, LeadJob, NormalizedEmail, NormalizedPhone, RescoreJob, Stage, Tier,
};

/// Where a touch came from.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TouchContext {
    /// `form_page`, `api`, `import` or `webhook`.
    pub channel: &'static str,
    pub source: String,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub referrer: Option<String>,
    #[serde(skip)]
    pub idempotency_key: Option<IdempotencyKey>,
}

/// A validated, normalised submission ready to be stored.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    pub form_id: String,
    pub form_version: i32,
    pub fields: Map<String, Value>,
    pub email: Option<NormalizedEmail>,
    pub phone: Option<NormalizedPhone>,
    pub name: Option<String>,
    pub company: Option<String>,
    pub context: TouchContext,
}

/// Where a stored submission landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeOutcome {
    pub lead_id: String,
    /// The existing lead the submission was merged into; `None` for a new lead.
    pub duplicate_of: Option<String>,
    /// The job written with the submission, to run at once: "score and
    /// route" for a new lead, "re-score" for a touch that filled fields.
    pub job: Option<JobRecord>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LeadRecord {
    pub id: String,
    pub form: String,
    pub form_version: i32,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub company: Option<String>,
    pub fields: Value,
    pub channel: String,
    pub source: String,
    pub stage: Stage,
    pub owner_id: Option<String>,
    pub score: i32,
    pub tier: Tier,
    /// The contributions behind `score`: model rules and scorer plugins.
    pub score_parts: Value,
    /// Bumped by every score write; a re-score names the one it started from.
    #[serde(skip)]
    pub score_rev: i64,
    pub scored_at: Option<Timestamp>,
    pub stage_entered_at: Timestamp,
    /// When the current owner got the lead, last touched it, and the
    /// deadline for the next touch.
    pub assigned_at: Option<Timestamp>,
    pub touched_at: Option<Timestamp>,
    pub follow_up_due_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When scoring and routing last finished; `None` until they have.
    pub processed_at: Option<Timestamp>,
}

impl LeadRecord {
    fn from_row(row: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            form: row.try_get("form_slug")?,
            form_version: row.try_get("form_version")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            name: row.try_get("name")?,
            company: row.try_get("company")?,
            fields: parse_json(row.try_get("fields")?)?,
            channel: row.try_get("channel")?,
            source: row.try_get("source")?,
            stage: word(row, "stage")?,
            owner_id: row.try_get("owner_id")?,
            score: row.try_get("score")?,
            tier: word(row, "tier")?,
            score_parts: parse_json(row.try_get("score_parts")?)?,
            score_rev: row.try_get("score_rev")?,
            scored_at: row.try_get::<Option<i64>, _>("scored_at")?.map(Timestamp),
            stage_entered_at: Timestamp(
                row.try_get::<Option<i64>, _>("stage_entered_at")?
                    .unwrap_or(row.try_get("created_at")?),
            ),
            assigned_at: row.try_get::<Option<i64>, _>("assigned_at")?.map(Timestamp),
            touched_at: row.try_get::<Option<i64>, _>("touched_at")?.map(Timestamp),
            follow_up_due_at: row.try_get::<Option<i64>, _>("follow_up_due_at")?.map(Timestamp),
            created_at: Timestamp(row.try_get("created_at")?),
            updated_at: Timestamp(row.try_get("updated_at")?),
            processed_at: row.try_get::<Option<i64>, _>("processed_at")?.map(Timestamp),
        })
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TouchRecord {
    pub id: String,
    pub form: String,
    pub form_version: i32,
    pub channel: String,
    pub source: String,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub referrer: Option<String>,
    pub fields: Value,
    /// Set when part of the submission could not be applied, e.g. a phone
    /// that already belongs to another lead.
    pub note: Option<String>,
    pub created_at: Timestamp,
}

/// Which leads a caller may see.
#[derive(Debug, Clone)]
pub enum LeadVisibility {
    All,
    /// A rep: own leads and unassigned (pool) leads.
    OwnAndPool {
        user_id: String,
    },
}

/// The `owner` filter value for leads in the public pool.
pub const POOL: &str = "pool";

#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub form: Option<String>,
    pub source: Option<String>,
    pub stage: Option<Stage>,
    pub tier: Option<Tier>,
    pub owner_id: Option<String>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    /// Substring of name, email or company, any case.
    pub text: Option<String>,
    pub order: LeadOrder,
    /// Where the previous page ended (its `next`).
    pub after: Option<String>,
    pub limit: u32,
}

/// How a lead list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LeadOrder {
    /// Newest first.
    #[default]
    Newest,
    /// Highest score first, newest first within a score.
    Score,
}

pub struct LeadPage {
    pub leads: Vec<LeadRecord>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next: Option<String>,
}

/// How often a submission is retried when a concurrent one took its identity
/// first (PostgreSQL); the retry then finds that lead and merges into it.
const INTAKE_ATTEMPTS: usize = 5;

impl TenantStore<'_> {
    /// Stores a submission: a new lead, or a touch on the lead that already
    /// owns its email (first) or phone. Identical concurrent submissions make
    /// one lead.
    pub async fn record_submission(&self, sub: &NewSubmission) -> StoreResult<IntakeOutcome> {
        match &self.store.write_queue {
            Some(queue) => match queue
                .write(&self.tenant_id, Write::Submission(Box::new(sub.clone())))
                .await?
            {
                Written::Submission(outcome) => Ok(outcome),
                Written::Finish(_) => unreachable!("a submission yields an intake outcome"),
            },
            None => self.record_one(sub).await,
        }
    }

    /// Records one submission in a transaction of its own.
    pub(super) async fn record_one(&self, sub: &NewSubmission) -> StoreResult<IntakeOutcome> {
        for _ in 0..INTAKE_ATTEMPTS {
            let mut tx = self.store.begin_write().await?;
            let mut pending = PendingWrites::default();
            let outcome = self.try_record(&mut tx, &mut pending, sub).await?;
            if pending.flush(self.store.backend, &mut tx).await? {
                tx.commit().await?;
                return Ok(outcome);
            }
            tx.rollback().await?;
        }
        Err(StoreError::Conflict(
            "the submission kept racing with concurrent ones; retry it".into(),
        ))
    }

    /// Decides what the submission writes and adds it to `pending`; a
    /// concurrent transaction winning a race shows when that is flushed.
    pub(super) async fn try_record(
        &self,
        tx: &mut Transaction<'_, Any>,
        pending: &mut PendingWrites,
        sub: &NewSubmission,
    ) -> StoreResult<IntakeOutcome> {
        let now = Timestamp::now();
        let email = sub.email.as_ref().map(|e| e.as_str());
        let phone = sub.phone.as_ref().map(|p| p.as_str());
        let identities = [("email", email), ("phone", phone)];
        let key = sub.context.idempotency_key.as_ref().map(IdempotencyKey::as_str);
        // Reads below must see the batch's earlier submissions of the same
        // person (a double-clicked submit).
        let seen_in_batch = key.is_some_and(|k| pending.holds_key(&self.tenant_id, k))
            || identities
                .iter()
                .any(|(kind, value)| value.is_some_and(|v| pending.holds_identity(&self.tenant_id, kind, v)));
        if seen_in_batch {
            pending.settle(self.store.backend, tx).await?;
        }
        if let Some(key) = key {
            let seen = sqlx::query("SELECT lead_id FROM touches WHERE tenant_id = $1 AND idempotency_key = $2")
                .bind(&self.tenant_id)
                .bind(key)
                .fetch_optional(&mut **tx)
                .await?;
            if let Some(row) = seen {
                let lead_id: String = row.try_get("lead_id")?;
                return Ok(IntakeOutcome {
                    duplicate_of: Some(lead_id.clone()),
                    lead_id,
                    job: None,
                });
            }
        }

        let owners = sqlx::query(
            "SELECT kind, lead_id FROM lead_identities WHERE tenant_id = $1 \
             AND ((kind = 'email' AND value = $2) OR (kind = 'phone' AND value = $3))",
        )
        .bind(&self.tenant_id)
        .bind(email)
        .bind(phone)
        .fetch_all(&mut **tx)
        .await?;
        let owner_of = |kind: &str| {
            owners
                .iter()
                .find(|r| r.try_get::<String, _>("kind").is_ok_and(|k| k == kind))
                .and_then(|r| r.try_get::<String, _>("lead_id").ok())
        };
        let email_owner = owner_of("email");
        let phone_owner = owner_of("phone");

        // Every statement below changes exactly one row; fewer means a
        // concurrent submission took an identity or the idempotency key first.
        let mut statements = Vec::new();
        let mut notes = Vec::new();
        let mut job = None;
        let (lead_id, duplicate_of) = match email_owner.clone().or(phone_owner.clone()) {
            Some(lead_id) => {
                if pending.holds_lead(&self.tenant_id, &lead_id) {
                    pending.settle(self.store.backend, tx).await?;
                }
                let (merge, filled) = self.merge_statement(tx, &lead_id, sub, now).await?;
                statements.push(merge);
                if filled {
                    // New answers can change the score: re-score on the event.
                    let rescore = Job::Rescore(RescoreJob {
                        lead_id: lead_id.clone(),
                        cause: "a touch filled empty fields".into(),
                    });
                    let held = JobRecord::held(new_id(), &self.tenant_id, rescore);
                    statements.push(job_statement(&held, now, Some(WRITER_LEASE)));
                    job = Some(held);
                }
                // Claim the identities nobody owns yet; never move one.
                for (kind, value, owner) in [("email", email, &email_owner), ("phone", phone, &phone_owner)] {
                    let Some(value) = value else { continue };
                    match owner {
                        None => statements.push(self.claim_identity(kind, value, &lead_id)),
                        Some(other) if *other != lead_id => {
                            notes.push(format!("{kind} {value} belongs to lead {other}; it was not moved"))
                        }
                        Some(_) => {}
                    }
                }
                (lead_id.clone(), Some(lead_id))
            }
            None => {
                let lead_id = new_id();
                statements.push(self.insert_lead(&lead_id, sub, now));
                for (kind, value) in [("email", email), ("phone", phone)] {
                    if let Some(value) = value {
                        statements.push(self.claim_identity(kind, value, &lead_id));
                    }
                }
                let step = Job::ScoreAndRoute(LeadJob {
                    lead_id: lead_id.clone(),
                });
                let held = JobRecord::held(new_id(), &self.tenant_id, step);
                statements.push(job_statement(&held, now, Some(WRITER_LEASE)));
                job = Some(held);
                (lead_id, None)
            }
        };
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        statements.push(self.insert_touch(&lead_id, sub, note, now));

        let claimed = identities.iter().filter_map(|(kind, value)| Some((*kind, (*value)?)));
        pending.add_intake(&self.tenant_id, &lead_id, statements, claimed, key);
        Ok(IntakeOutcome {
            lead_id,
            duplicate_of,
            job,
        })
    }

    fn claim_identity(&self, kind: &str, value: &str, lead_id: &str) -> Statement {
        Statement::new(
            "INSERT INTO lead_identities (tenant_id, kind, value, lead_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, kind, value) DO NOTHING",
        )
        .bind(&self.tenant_id)
        .bind(kind)
        .bind(value)
        .bind(lead_id)
    }

    fn insert_lead(&self, lead_id: &str, sub: &NewSubmission, now: Timestamp) -> Statement {
        let email = sub.email.as_ref().map(|e| e.as_str().to_owned());
        let phone = sub.phone.as_ref().map(|p| p.as_str().to_owned());
        let search = search_text(sub.name.as_deref(), email.as_deref(), sub.company.as_deref());
        Statement::new(
            "INSERT INTO leads (id, tenant_id, form_id, form_version, email, phone, name, company, fields, \
             channel, source, stage, owner_id, score, tier, search_text, created_at, updated_at, stage_entered_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'new', NULL, 0, 'cold', $12, $13, $13, $13)",
        )
        .bind(lead_id)
        .bind(&self.tenant_id)
        .bind(&sub.form_id)
        .bind(sub.form_version)
        .bind(email)
        .bind(phone)
        .bind(sub.name.clone())
        .bind(sub.company.clone())
        .bind(Value::Object(sub.fields.clone()).to_string())
        .bind(sub.context.channel)
        .bind(&sub.context.source)
        .bind(search)
        .bind(now.micros())
    }

    /// Fills the lead's empty fields from the submission; never overwrites.
    /// Also says whether any form field was filled.
    async fn merge_statement(
        &self,
        tx: &mut Transaction<'_, Any>,
        lead_id: &str,
        sub: &NewSubmission,
        now: Timestamp,
    ) -> StoreResult<(Statement, bool)> {
        let row = sqlx::query("SELECT fields, email, phone, name, company FROM leads WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(lead_id)
            .fetch_one(&mut **tx)
            .await?;
        let mut fields = match parse_json(row.try_get("fields")?)? {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let mut filled = false;
        for (key, value) in &sub.fields {
            if fields.get(key).is_none_or(is_empty) && !is_empty(value) {
                fields.insert(key.clone(), value.clone());
                filled = true;
            }
        }
        let keep = |column: &str, new: Option<&str>| -> StoreResult<Option<String>> {
            let old: Option<String> = row.try_get(column)?;
            Ok(old.filter(|s| !s.is_empty()).or(new.map(str::to_owned)))
        };
        let email = keep("email", sub.email.as_ref().map(|e| e.as_str()))?;
        let phone = keep("phone", sub.phone.as_ref().map(|p| p.as_str()))?;
        let name = keep("name", sub.name.as_deref())?;
        let company = keep("company", sub.company.as_deref())?;
        let search = search_text(name.as_deref(), email.as_deref(), company.as_deref());
        let statement = Statement::new(
            "UPDATE leads SET fields = $3, email = $4, phone = $5, name = $6, company = $7, \
             search_text = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant_id)
        .bind(lead_id)
        .bind(Value::Object(fields).to_string())
        .bind(email)
        .bind(phone)
        .bind(name)
        .bind(company)
        .bind(search)
        .bind(now.micros());
        Ok((statement, filled))
    }

    fn insert_touch(&self, lead_id: &str, sub: &NewSubmission, note: Option<String>, now: Timestamp) -> Statement {
        let ctx = &sub.context;
        Statement::new(
            "INSERT INTO touches (id, tenant_id, lead_id, form_id, form_version, channel, source, utm_source, \
             utm_medium, utm_campaign, utm_term, utm_content, referrer, fields, note, idempotency_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
        )
        .bind(new_id())
        .bind(&self.tenant_id)
        .bind(lead_id)
        .bind(&sub.form_id)
        .bind(sub.form_version)
        .bind(ctx.channel)
        .bind(&ctx.source)
        .bind(ctx.utm_source.clone())
        .bind(ctx.utm_medium.clone())
        .bind(ctx.utm_campaign.clone())
        .bind(ctx.utm_term.clone())
        .bind(ctx.utm_content.clone())
        .bind(ctx.referrer.clone())
        .bind(Value::Object(sub.fields.clone()).to_string())
        .bind(note)
        .bind(ctx.idempotency_key.as_ref().map(|k| k.as_str().to_owned()))
        .bind(now.micros())
    }

    pub async fn lead(&self, id: &str, visibility: &LeadVisibility) -> StoreResult<LeadRecord> {
        let mut sql = String::from(
            "SELECT l.*, f.slug AS form_slug FROM leads l JOIN forms f ON f.id = l.form_id \
             WHERE l.tenant_id = $1 AND l.id = $2",
        );
        let mut binds = vec![Bind::from(&self.tenant_id), Bind::from(id)];
        push_visibility(&mut sql, &mut binds, visibility);
        let row = bind_all(sqlx::query(&sql), binds)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        LeadRecord::from_row(&row)
    }

    pub async fn touches(&self, lead_id: &str) -> StoreResult<Vec<TouchRecord>> {
        let rows = sqlx::query(
            "SELECT t.*, f.slug AS form_slug FROM touches t JOIN forms f ON f.id = t.form_id \
             WHERE t.tenant_id = $1 AND t.lead_id = $2 ORDER BY t.created_at, t.id",
        )
        .bind(&self.tenant_id)
        .bind(lead_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TouchRecord {
                    id: row.try_get("id")?,
                    form: row.try_get("form_slug")?,
                    form_version: row.try_get("form_version")?,
                    channel: row.try_get("channel")?,
                    source: row.try_get("source")?,
                    utm_source: row.try_get("utm_source")?,
                    utm_medium: row.try_get("utm_medium")?,
                    utm_campaign: row.try_get("utm_campaign")?,
                    utm_term: row.try_get("utm_term")?,
                    utm_content: row.try_get("utm_content")?,
                    referrer: row.try_get("referrer")?,
                    fields: parse_json(row.try_get("fields")?)?,
                    note: row.try_get("note")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    /// Every lead in id order, `limit` after `after`: a tenant-wide pass.
    pub async fn leads_after(&self, after: Option<&str>, limit: i64) -> StoreResult<Vec<LeadRecord>> {
        let rows = sqlx::query(
            "SELECT l.*, f.slug AS form_slug FROM leads l JOIN forms f ON f.id = l.form_id \
             WHERE l.tenant_id = $1 AND l.id > $2 ORDER BY l.id LIMIT $3",
        )
        .bind(&self.tenant_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter().map(LeadRecord::from_row).collect()
    }

    /// Newest first, `limit` at a time.
    pub async fn leads(&self, filter: &LeadFilter, visibility: &LeadVisibility) -> StoreResult<LeadPage> {
        let mut sql = String::from(
            "SELECT l.*, f.slug AS form_slug FROM leads l JOIN forms f ON f.id = l.form_id WHERE l.tenant_id = $1",
        );
        let mut binds = vec![Bind::from(&self.tenant_id)];
        let mut push = |sql: &mut String, clause: &str, bind: Bind| {
            binds.push(bind);
            sql.push_str(&clause.replace("?", &format!("${}", binds.len())));
        };
        if let Some(form) = &filter.form {
            push(&mut sql, " AND f.slug = ?", Bind::from(form));
        }
        if let Some(source) = &filter.source {
            push(&mut sql, " AND l.source = ?", Bind::from(source));
        }
        if let Some(stage) = &filter.stage {
            push(&mut sql, " AND l.stage = ?", Bind::from(stage.as_str()));
        }
        if let Some(tier) = &filter.tier {
            push(&mut sql, " AND l.tier = ?", Bind::from(tier.as_str()));
        }
        match filter.owner_id.as_deref() {
            Some(POOL) => sql.push_str(" AND l.owner_id IS NULL"),
            Some(owner) => push(&mut sql, " AND l.owner_id = ?", Bind::from(owner)),
            None => {}
        }
        if let Some(from) = filter.created_from {
            push(&mut sql, " AND l.created_at >= ?", Bind::Int(from.micros()));
        }
        if let Some(to) = filter.created_to {
            push(&mut sql, " AND l.created_at < ?", Bind::Int(to.micros()));
        }
        if let Some(text) = &filter.text {
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            push(&mut sql, " AND l.search_text LIKE ? ESCAPE '\\'", Bind::from(pattern));
        }
        match (filter.order, &filter.after) {
            (LeadOrder::Newest, Some(after)) => push(&mut sql, " AND l.id < ?", Bind::from(after)),
            (LeadOrder::Score, Some(after)) => {
                // The cursor is "score:id" of the previous page's last lead.
                let (score, id) = after
                    .split_once(':')
                    .and_then(|(s, id)| Some((s.parse::<i64>().ok()?, id)))
                    .ok_or_else(|| StoreError::Invalid(format!("after {after:?} is not a cursor this list gave")))?;
                push(&mut sql, " AND (l.score < ?", Bind::Int(score));
                push(&mut sql, " OR (l.score = ?", Bind::Int(score));
                push(&mut sql, " AND l.id < ?))", Bind::from(id));
            }
            (_, None) => {}
        }
        push_visibility(&mut sql, &mut binds, visibility);
        let order = match filter.order {
            LeadOrder::Newest => "l.id DESC",
            LeadOrder::Score => "l.score DESC, l.id DESC",
        };
        sql.push_str(&format!(" ORDER BY {order} LIMIT {}", filter.limit + 1));

        let rows = bind_all(sqlx::query(&sql), binds).fetch_all(&self.store.read).await?;
        let mut leads = rows.iter().map(LeadRecord::from_row).collect::<StoreResult<Vec<_>>>()?;
        let next = if leads.len() > filter.limit as usize {
            leads.truncate(filter.limit as usize);
            leads.last().map(|l| match filter.order {
                LeadOrder::Newest => l.id.clone(),
                LeadOrder::Score => format!("{}:{}", l.score, l.id),
            })
        } else {
            None
        };
        Ok(LeadPage { leads, next })
    }
}

fn push_visibility(sql: &mut String, binds: &mut Vec<Bind>, visibility: &LeadVisibility) {
    if let LeadVisibility::OwnAndPool { user_id } = visibility {
        binds.push(Bind::from(user_id));
        sql.push_str(&format!(" AND (l.owner_id IS NULL OR l.owner_id = ${})", binds.len()));
    }
}

fn search_text(name: Option<&str>, email: Option<&str>, company: Option<&str>) -> String {
    [name, email, company]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn parse_json(text: String) -> StoreResult<Value> {
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("invalid JSON in a stored row: {e}")))
}

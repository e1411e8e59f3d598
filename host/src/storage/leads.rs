//! Leads, their dedup identities and touches: the durable end of intake.

use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::batch::{Bind, Statement, bind_all};
use super::unit::Unit;
use super::{Backend, StoreError, StoreResult, TenantStore, new_id, word};
use crate::clock::Timestamp;
use crate::domain::{IdempotencyKey, IdentityKind, NewSubmission, NormalizedEmail, NormalizedPhone, Stage, Tier};

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
    /// Since when the lead is held for nurture (no owner, out of the pool).
    pub held_at: Option<Timestamp>,
    /// The deal recorded when it became an opportunity or was won: its
    /// value in minor units and its (expected) close date.
    pub deal_value: Option<i64>,
    pub expected_close_on: Option<String>,
}

impl LeadRecord {
    pub(super) fn from_row(row: &AnyRow) -> StoreResult<Self> {
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
            held_at: row.try_get::<Option<i64>, _>("held_at")?.map(Timestamp),
            deal_value: row.try_get("deal_value")?,
            expected_close_on: row.try_get("expected_close_on")?,
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
    /// A manager: own leads, those of the members of the teams they manage,
    /// and unowned leads (the pool, and those held in nurture, which a
    /// manager may assign by hand).
    ManagedTeams {
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
    /// Only leads with this tag.
    pub tag: Option<String>,
    pub owner_id: Option<String>,
    /// Only leads someone owns (a manager's team list, the pool apart).
    pub owned_only: bool,
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
    /// Hot, then warm, then cold; by score within a tier.
    Tier,
    /// The soonest follow-up deadline first (overdue on top); leads
    /// without one last.
    FollowUpDue,
}

/// Sorts past every real deadline (`FollowUpDue` puts leads without one last).
const NO_DEADLINE: i64 = i64::MAX;
/// A lead's follow-up deadline as lists sort it (an index has it).
const FOLLOW_UP_ORDER: &str = "(COALESCE(follow_up_due_at, 9223372036854775807))";

impl LeadOrder {
    /// The integer sort keys before the id, and whether they run downwards.
    fn keys(self) -> (&'static [&'static str], bool) {
        // As the indexes of migration 0015 spell them (unqualified: the
        // forms joined in have no such columns), so the planners use them.
        const TIER_RANK: &str = "(CASE tier WHEN 'hot' THEN 3 WHEN 'warm' THEN 2 ELSE 1 END)";
        match self {
            LeadOrder::Newest => (&[], true),
            LeadOrder::Score => (&["l.score"], true),
            LeadOrder::Tier => (&[TIER_RANK, "l.score"], true),
            LeadOrder::FollowUpDue => (&[FOLLOW_UP_ORDER], false),
        }
    }

    /// The key values of a lead, as `keys` names them.
    fn values(self, lead: &LeadRecord) -> Vec<i64> {
        match self {
            LeadOrder::Newest => vec![],
            LeadOrder::Score => vec![lead.score.into()],
            LeadOrder::Tier => vec![lead.tier.rank().into(), lead.score.into()],
            LeadOrder::FollowUpDue => vec![lead.follow_up_due_at.map(|t| t.micros()).unwrap_or(NO_DEADLINE)],
        }
    }
}

pub struct LeadPage {
    pub leads: Vec<LeadRecord>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next: Option<String>,
}

/// The lead that owns each of a submission's identities, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityOwners {
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// What a merge reads of a lead and writes back: its form fields and the
/// columns lifted from them.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadContact {
    pub fields: Map<String, Value>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub company: Option<String>,
}

/// Intake's reads and writes: dedup identities, touches and the lead rows
/// they land on.
impl Unit<'_> {
    /// The lead a touch with this idempotency key landed on, if any.
    pub async fn lead_by_touch_key(&mut self, key: &IdempotencyKey) -> StoreResult<Option<String>> {
        let tenant = self.tenant_id;
        self.settle_if(|held| held.holds_key(tenant, key.as_str())).await?;
        let seen = sqlx::query("SELECT lead_id FROM touches WHERE tenant_id = $1 AND idempotency_key = $2")
            .bind(self.tenant_id)
            .bind(key.as_str())
            .fetch_optional(&mut *self.conn)
            .await?;
        Ok(seen.map(|row| row.try_get("lead_id")).transpose()?)
    }

    /// The leads owning the email and the phone (a unique identity each).
    pub async fn identity_owners(
        &mut self,
        email: Option<&NormalizedEmail>,
        phone: Option<&NormalizedPhone>,
    ) -> StoreResult<IdentityOwners> {
        let (email, phone) = (email.map(|e| e.as_str()), phone.map(|p| p.as_str()));
        let tenant = self.tenant_id;
        self.settle_if(|held| {
            email.is_some_and(|v| held.holds_identity(tenant, IdentityKind::Email.as_str(), v))
                || phone.is_some_and(|v| held.holds_identity(tenant, IdentityKind::Phone.as_str(), v))
        })
        .await?;
        let rows = sqlx::query(
            "SELECT kind, lead_id FROM lead_identities WHERE tenant_id = $1 \
             AND ((kind = 'email' AND value = $2) OR (kind = 'phone' AND value = $3))",
        )
        .bind(self.tenant_id)
        .bind(email)
        .bind(phone)
        .fetch_all(&mut *self.conn)
        .await?;
        let mut owners = IdentityOwners::default();
        for row in rows {
            let lead_id: String = row.try_get("lead_id")?;
            match word::<IdentityKind>(&row, "kind")? {
                IdentityKind::Email => owners.email = Some(lead_id),
                IdentityKind::Phone => owners.phone = Some(lead_id),
            }
        }
        Ok(owners)
    }

    /// The lead's contact as it stands, held until the unit commits: a
    /// concurrent merge into the same lead waits, then reads what this one
    /// wrote (so no filled field is lost).
    pub async fn contact_for_merge(&mut self, lead_id: &str) -> StoreResult<LeadContact> {
        let row = self
            .held_lead_row(lead_id, "fields, email, phone, name, company")
            .await?
            .ok_or(StoreError::NotFound)?;
        let fields = match parse_json(row.try_get("fields")?)? {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Ok(LeadContact {
            fields,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            name: row.try_get("name")?,
            company: row.try_get("company")?,
        })
    }

    /// A new lead from a submission: stage new, cold, in no one's hands.
    pub fn insert_lead(&mut self, lead_id: &str, sub: &NewSubmission, now: Timestamp) {
        let email = sub.email.as_ref().map(|e| e.as_str().to_owned());
        let phone = sub.phone.as_ref().map(|p| p.as_str().to_owned());
        let search = search_text(
            sub.name.as_deref(),
            email.as_deref(),
            phone.as_deref(),
            sub.company.as_deref(),
        );
        let statement = Statement::new(
            "INSERT INTO leads (id, tenant_id, form_id, form_version, email, phone, name, company, fields, \
             channel, source, stage, owner_id, score, tier, search_text, created_at, updated_at, stage_entered_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, 0, $13, $14, $15, $15, $15)",
        )
        .bind(lead_id)
        .bind(self.tenant())
        .bind(&sub.form_id)
        .bind(sub.form_version)
        .bind(email)
        .bind(phone)
        .bind(sub.name.clone())
        .bind(sub.company.clone())
        .bind(Value::Object(sub.fields.clone()).to_string())
        .bind(sub.context.channel)
        .bind(&sub.context.source)
        .bind(Stage::New.as_str())
        .bind(Tier::Cold.as_str())
        .bind(search)
        .bind(now.micros());
        self.write_one(statement);
        self.pending.hold_lead(self.tenant_id, lead_id);
    }

    /// Writes a merged contact back to its lead.
    pub fn merge_lead(&mut self, lead_id: &str, contact: &LeadContact, now: Timestamp) {
        let search = search_text(
            contact.name.as_deref(),
            contact.email.as_deref(),
            contact.phone.as_deref(),
            contact.company.as_deref(),
        );
        let statement = Statement::new(
            "UPDATE leads SET fields = $3, email = $4, phone = $5, name = $6, company = $7, \
             search_text = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(self.tenant())
        .bind(lead_id)
        .bind(Value::Object(contact.fields.clone()).to_string())
        .bind(contact.email.clone())
        .bind(contact.phone.clone())
        .bind(contact.name.clone())
        .bind(contact.company.clone())
        .bind(search)
        .bind(now.micros());
        self.write_one(statement);
        self.pending.hold_lead(self.tenant_id, lead_id);
    }

    /// Gives an identity nobody owns to the lead; a concurrent unit that
    /// took it first makes this unit run again.
    pub fn claim_identity(&mut self, kind: IdentityKind, value: &str, lead_id: &str) {
        let statement = Statement::new(
            "INSERT INTO lead_identities (tenant_id, kind, value, lead_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, kind, value) DO NOTHING",
        )
        .bind(self.tenant())
        .bind(kind.as_str())
        .bind(value)
        .bind(lead_id);
        self.write_one(statement);
        self.pending.hold_identity(self.tenant_id, kind.as_str(), value);
    }

    /// The submission as a touch on `lead_id`; a concurrent unit with the
    /// same idempotency key makes this unit run again.
    pub fn insert_touch(&mut self, lead_id: &str, sub: &NewSubmission, note: Option<String>, now: Timestamp) {
        let ctx = &sub.context;
        let key = ctx.idempotency_key.as_ref().map(|k| k.as_str().to_owned());
        let statement = Statement::new(
            "INSERT INTO touches (id, tenant_id, lead_id, form_id, form_version, channel, source, utm_source, \
             utm_medium, utm_campaign, utm_term, utm_content, referrer, fields, note, idempotency_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
        )
        .bind(new_id())
        .bind(self.tenant())
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
        .bind(key.clone())
        .bind(now.micros());
        self.write_one(statement);
        if let Some(key) = key {
            self.pending.hold_key(self.tenant_id, &key);
        }
    }
}

impl TenantStore<'_> {
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
        if let Some(tag) = &filter.tag {
            push(
                &mut sql,
                " AND EXISTS (SELECT 1 FROM lead_tags lt WHERE lt.tenant_id = l.tenant_id AND lt.lead_id = l.id \
                 AND lt.tag = ?)",
                Bind::from(tag),
            );
        }
        if filter.owned_only {
            sql.push_str(" AND l.owner_id IS NOT NULL");
        }
        match filter.owner_id.as_deref() {
            Some(POOL) => sql.push_str(" AND l.owner_id IS NULL AND l.held_at IS NULL"),
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
            let text = text.to_lowercase();
            if self.store.backend() == Backend::Postgres && text.chars().count() < 3 {
                // Too short for the trigram index (a two-character Chinese
                // name): PostgreSQL would guess a LIKE rare and gather then
                // sort every row of the list; with `strpos` it walks the
                // list's index in order and stops at a full page (see
                // BENCHMARKS.md, the rep workspace on PostgreSQL).
                push(&mut sql, " AND strpos(l.search_text, ?) > 0", Bind::from(text));
            } else {
                let pattern = format!("%{}%", escape_like(&text));
                push(&mut sql, " AND l.search_text LIKE ? ESCAPE '\\'", Bind::from(pattern));
            }
        }
        let (keys, downwards) = filter.order.keys();
        let (cmp, direction) = if downwards { ("<", "DESC") } else { (">", "ASC") };
        if let Some(after) = &filter.after {
            // The cursor is the previous page's last lead: its key values,
            // then its id, joined by ':'. Keyset: (k1, .., id) past it.
            let invalid = || StoreError::Invalid(format!("after {after:?} is not a cursor this list gave"));
            let mut parts: Vec<&str> = after.split(':').collect();
            let id = parts.pop().ok_or_else(invalid)?;
            let values = parts
                .iter()
                .map(|v| v.parse::<i64>().map_err(|_| invalid()))
                .collect::<StoreResult<Vec<i64>>>()?;
            if values.len() != keys.len() {
                return Err(invalid());
            }
            // A row-value comparison, which both planners turn into an
            // index range (an OR of its levels they only filter with).
            let columns: Vec<&str> = keys.iter().copied().chain(["l.id"]).collect();
            let mut row = String::new();
            let binds = values.iter().map(|v| Bind::Int(*v)).chain([Bind::from(id)]);
            for (i, bind) in binds.enumerate() {
                push(&mut row, if i == 0 { "?" } else { ", ?" }, bind);
            }
            sql.push_str(&format!(" AND ({}) {cmp} ({row})", columns.join(", ")));
        }
        push_visibility(&mut sql, &mut binds, visibility);
        let order: Vec<String> = keys
            .iter()
            .chain(&["l.id"])
            .map(|key| format!("{key} {direction}"))
            .collect();
        sql.push_str(&format!(" ORDER BY {} LIMIT {}", order.join(", "), filter.limit + 1));

        let rows = bind_all(sqlx::query(&sql), binds).fetch_all(&self.store.read).await?;
        let mut leads = rows.iter().map(LeadRecord::from_row).collect::<StoreResult<Vec<_>>>()?;
        let next = if leads.len() > filter.limit as usize {
            leads.truncate(filter.limit as usize);
            leads.last().map(|l| {
                let mut parts: Vec<String> = filter.order.values(l).iter().map(i64::to_string).collect();
                parts.push(l.id.clone());
                parts.join(":")
            })
        } else {
            None
        };
        Ok(LeadPage { leads, next })
    }
}

/// Narrows a query over `leads l` (whose `$1` is the tenant) to what the
/// caller may see.
fn push_visibility(sql: &mut String, binds: &mut Vec<Bind>, visibility: &LeadVisibility) {
    match visibility {
        LeadVisibility::All => {}
        LeadVisibility::OwnAndPool { user_id } => {
            binds.push(Bind::from(user_id));
            sql.push_str(&format!(
                " AND ((l.owner_id IS NULL AND l.held_at IS NULL) OR l.owner_id = ${})",
                binds.len()
            ));
        }
        LeadVisibility::ManagedTeams { user_id } => {
            binds.push(Bind::from(user_id));
            let me = binds.len();
            sql.push_str(&format!(
                " AND (l.owner_id IS NULL OR l.owner_id = ${me} OR l.owner_id IN \
                 (SELECT tm.user_id FROM team_members tm JOIN teams t ON t.id = tm.team_id \
                 WHERE t.tenant_id = $1 AND t.manager_id = ${me}))"
            ));
        }
    }
}

/// What a text search matches: name, email, phone (as stored, E.164) and
/// company, lower-cased.
fn search_text(name: Option<&str>, email: Option<&str>, phone: Option<&str>, company: Option<&str>) -> String {
    [name, email, phone, company]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn parse_json(text: String) -> StoreResult<Value> {
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("invalid JSON in a stored row: {e}")))
}

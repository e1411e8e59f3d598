//! The storage contract: decisions that read and write under one lock hold
//! on both backends when they race, without HTTP. Each case runs on a fresh
//! SQLite file (`sqlite::`) and a fresh PostgreSQL database (`postgres::`,
//! which the test command skips, saying so, where no PostgreSQL runs).
//!
//! - the dedup race: identical submissions at once make one lead;
//! - the claim race: two reps claiming one pool lead, one wins;
//! - a stale SLA job: a breach job written for an earlier owner does nothing;
//! - a lost lease: a re-score chunk of a worker whose claim ran out and was
//!   taken over writes nothing;
//! - the dashboard's rollups: new leads made at once are each counted once
//!   (they share a day's rows);
//! - the sending rate: two processes (each its own pools and its own slots
//!   taken in blocks) sharing a tenant send no more than its rate between
//!   them;
//! - the concurrent merge: duplicates each filling a different empty field
//!   keep every field (and, on PostgreSQL, two merges interleaved on
//!   purpose: the second reads the lead while the first holds its
//!   transaction open, having read it and decided its writes).

use std::sync::Arc;

use serde_json::{Map, Value, json};
use sqlx::Connection;

use leadhost::domain::{
    CLAIM_LEASE, DeadlineJob, IdempotencyKey, NewSubmission, NormalizedEmail, Region, Role, ScoreWrite, Stage,
    TenantSlug, Tier, TouchContext, counter,
};
use leadhost::email::rate::SendAllowance;
use leadhost::followup::sla::DeadlineDue;
use leadhost::leads::RecordSubmission;
use leadhost::routing::pool::{Claim, Reassign};
use leadhost::storage::{
    FormRecord, LeadFilter, LeadVisibility, NewFormVersion, RepAttributes, RollupFilter, SqliteSync, Store, StoreError,
    UserRecord,
};
use leadhost::tenants::{NewTenant, add_user, create_tenant};
use leadhost_tests::{Backend, TestDatabase};

/// A fresh database on one backend with a tenant, its form and three reps.
struct Fixture {
    store: Store,
    tenant_id: String,
    form: FormRecord,
    reps: Vec<UserRecord>,
    /// For reads the store does not offer (the jobs a test inspects).
    url: String,
    _db: TestDatabase,
}

impl Fixture {
    async fn new(backend: Backend) -> Self {
        let db = TestDatabase::create(backend).await.expect("a fresh database");
        let url = db.url.clone();
        let store = Store::open(&url, SqliteSync::Normal).await.unwrap();
        let tenant = create_tenant(
            &store,
            NewTenant {
                slug: TenantSlug::parse("acme").unwrap(),
                name: "Acme".into(),
                region: Region::parse("CN").unwrap(),
                admin_email: NormalizedEmail::parse("admin@acme.example").unwrap(),
            },
        )
        .await
        .unwrap()
        .tenant;
        let schema = json!({"type": "object", "properties": {"email": {"type": "string"}}});
        let form = store
            .tenant(&tenant.id)
            .create_form(
                "contact",
                NewFormVersion {
                    title: "Contact",
                    schema: &schema.to_string(),
                    ui_schema: "{}",
                },
            )
            .await
            .unwrap();
        let mut reps = Vec::new();
        for name in ["ann", "bo", "cy"] {
            let email = NormalizedEmail::parse(&format!("{name}@acme.example")).unwrap();
            let rep = add_user(
                &store,
                &tenant.id,
                &email,
                name,
                Role::Rep,
                None,
                RepAttributes::default(),
            )
            .await
            .unwrap();
            reps.push(rep);
        }
        Fixture {
            store,
            tenant_id: tenant.id,
            form,
            reps,
            url,
            _db: db,
        }
    }

    fn submission(&self, email: &str, fields: Value, key: Option<&str>) -> NewSubmission {
        let mut fields: Map<String, Value> = fields.as_object().cloned().unwrap_or_default();
        fields.insert("email".into(), json!(email));
        NewSubmission {
            form_id: self.form.id.clone(),
            form_version: self.form.current_version,
            fields,
            email: Some(NormalizedEmail::parse(email).unwrap()),
            phone: None,
            name: None,
            company: None,
            context: TouchContext {
                channel: "api",
                source: "direct".into(),
                idempotency_key: key.and_then(IdempotencyKey::parse),
                ..Default::default()
            },
        }
    }

    /// A new lead in the public pool (its step not run).
    async fn pool_lead(&self, email: &str) -> String {
        let sub = self.submission(email, json!({}), None);
        self.store
            .tenant(&self.tenant_id)
            .run(RecordSubmission(sub))
            .await
            .unwrap()
            .lead_id
    }

    async fn timeline_kinds(&self, lead_id: &str) -> Vec<String> {
        let events = self.store.tenant(&self.tenant_id).lead_events(lead_id).await.unwrap();
        events.into_iter().map(|e| e.kind).collect()
    }

    async fn open_leads(&self, user_id: &str) -> i64 {
        self.store
            .tenant(&self.tenant_id)
            .user_by_id(user_id)
            .await
            .unwrap()
            .open_leads
    }

    /// The SLA jobs written for a lead, as (id, kind, owner, due).
    async fn sla_jobs(&self, lead_id: &str) -> Vec<(String, String, DeadlineJob)> {
        use sqlx::Row;
        let mut conn = sqlx::AnyConnection::connect(&self.url).await.unwrap();
        let rows = sqlx::query("SELECT id, kind, payload FROM jobs WHERE tenant_id = $1 AND kind LIKE 'sla_%'")
            .bind(&self.tenant_id)
            .fetch_all(&mut conn)
            .await
            .unwrap();
        rows.iter()
            .map(|row| {
                let payload: String = row.get("payload");
                (row.get("id"), row.get("kind"), serde_json::from_str(&payload).unwrap())
            })
            .filter(|(_, _, job): &(String, String, DeadlineJob)| job.lead_id == lead_id)
            .collect()
    }
}

/// Identical submissions at once (a double click, a retrying client, two
/// channels) make one lead: every caller gets that lead, one as new.
async fn concurrent_identical_submissions_make_one_lead(backend: Backend) {
    let f = Arc::new(Fixture::new(backend).await);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let sub = f.submission("li.wei@example.com", json!({"n": i}), Some(&format!("click-{i}")));
            f.store.tenant(&f.tenant_id).run(RecordSubmission(sub)).await
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().expect("every submission is stored"));
    }
    let lead_id = &outcomes[0].lead_id;
    assert!(outcomes.iter().all(|o| &o.lead_id == lead_id), "one lead: {outcomes:?}");
    let new: Vec<_> = outcomes.iter().filter(|o| o.duplicate_of.is_none()).collect();
    assert_eq!(new.len(), 1, "exactly one caller made the lead");
    let store = f.store.tenant(&f.tenant_id);
    let all = LeadFilter {
        limit: 100,
        ..Default::default()
    };
    let leads = store.leads(&all, &LeadVisibility::All).await.unwrap().leads;
    assert_eq!(leads.len(), 1);
    assert_eq!(
        store.touches(lead_id).await.unwrap().len(),
        20,
        "every submission is a touch"
    );
}

/// New leads made at once share their day's rollup rows: each is counted
/// once, none lost to a concurrent upsert of the same row.
async fn concurrent_new_leads_are_each_counted_on_the_dashboard(backend: Backend) {
    let f = Arc::new(Fixture::new(backend).await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let sub = f.submission(&format!("lead{i}@example.com"), json!({}), None);
            f.store.tenant(&f.tenant_id).run(RecordSubmission(sub)).await
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("every submission is stored");
    }
    // The tenant's zone is UTC; from a day before, in case midnight passed.
    let now = leadhost::clock::Timestamp::now();
    let day = leadhost::storage::day_in(None, now);
    let before = leadhost::storage::day_in(None, leadhost::clock::Timestamp(now.micros() - 86_400_000_000));
    let filter = RollupFilter {
        from: before,
        to: day,
        ..Default::default()
    };
    let sums = f.store.tenant(&f.tenant_id).dashboard_sums(&filter).await.unwrap();
    let leads: i64 = sums.iter().map(|s| s.counts[counter("leads")]).sum();
    assert_eq!(leads, 40, "{sums:?}");
}

/// Two reps claim one pool lead at once: one gets it, the other a conflict,
/// and only the winner's load and the lead's timeline show it.
async fn two_reps_claiming_one_lead_one_wins(backend: Backend) {
    let f = Arc::new(Fixture::new(backend).await);
    let lead_id = f.pool_lead("pool@example.com").await;
    let claims = f.reps[..2].iter().map(|rep| {
        let (f, lead_id, user_id) = (f.clone(), lead_id.clone(), rep.id.clone());
        tokio::spawn(async move { f.store.tenant(&f.tenant_id).run(Claim { lead_id, user_id }).await })
    });
    let results: Vec<_> = futures_join(claims).await;
    let winners: Vec<usize> = (0..2).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let loser = 1 - winners[0];
    assert!(
        matches!(&results[loser], Err(StoreError::Conflict(m)) if m.contains("another rep has claimed")),
        "{:?}",
        results[loser]
    );
    let winner = &f.reps[winners[0]];
    let lead = f
        .store
        .tenant(&f.tenant_id)
        .lead(&lead_id, &LeadVisibility::All)
        .await
        .unwrap();
    assert_eq!(lead.owner_id.as_deref(), Some(winner.id.as_str()));
    assert_eq!(f.open_leads(&winner.id).await, 1);
    assert_eq!(f.open_leads(&f.reps[loser].id).await, 0);
    let claimed = f
        .timeline_kinds(&lead_id)
        .await
        .iter()
        .filter(|k| *k == "claimed")
        .count();
    assert_eq!(claimed, 1);
}

/// A breach job written for the lead's previous owner does nothing once the
/// lead changed hands; the current owner's does.
async fn a_breach_job_for_an_earlier_owner_does_nothing(backend: Backend) {
    let f = Fixture::new(backend).await;
    let store = f.store.tenant(&f.tenant_id);
    let policy = json!({"first_touch_minutes": {"hot": 5, "warm": 60, "cold": 1440},
                        "warn_before_minutes": 2, "follow_up_hours": 48});
    store.set_sla_policy(Some(&policy), None).await.unwrap();
    let lead_id = f.pool_lead("sla@example.com").await;
    let (ann, bo) = (&f.reps[0], &f.reps[1]);
    let claim = Claim {
        lead_id: lead_id.clone(),
        user_id: ann.id.clone(),
    };
    store.run(claim).await.unwrap();
    let reassign = Reassign {
        lead_id: lead_id.clone(),
        to: Some(bo.id.clone()),
        detail: json!({"reason": "test"}),
    };
    store.run(reassign).await.unwrap();

    let breach_of = |owner: &str, jobs: &[(String, String, DeadlineJob)]| {
        jobs.iter()
            .find(|(_, kind, job)| kind == "sla_breach" && job.owner == owner)
            .cloned()
            .unwrap_or_else(|| panic!("no breach job for {owner}: {jobs:?}"))
    };
    let jobs = f.sla_jobs(&lead_id).await;
    let (stale_id, _, stale) = breach_of(&ann.id, &jobs);
    let stale_run = DeadlineDue {
        job_id: stale_id.clone(),
        deadline: stale,
        breach: true,
    };
    store.run(stale_run).await.unwrap();
    let kinds = f.timeline_kinds(&lead_id).await;
    assert!(
        !kinds.iter().any(|k| k == "sla_breached" || k == "escalated"),
        "{kinds:?}"
    );
    assert!(
        f.sla_jobs(&lead_id).await.iter().all(|(id, _, _)| *id != stale_id),
        "the stale job is removed"
    );

    // The current owner's breach job does what a breach does.
    let (current_id, _, current) = breach_of(&bo.id, &jobs);
    let due = DeadlineDue {
        job_id: current_id,
        deadline: current,
        breach: true,
    };
    store.run(due).await.unwrap();
    assert!(f.timeline_kinds(&lead_id).await.iter().any(|k| k == "sla_breached"));
    let lead = store.lead(&lead_id, &LeadVisibility::All).await.unwrap();
    assert_eq!(
        (lead.owner_id.as_deref(), lead.stage),
        (Some(bo.id.as_str()), Stage::New)
    );
}

/// Sixteen duplicates of one lead at once, each filling a different empty
/// field: every field survives.
async fn concurrent_duplicates_keep_every_field(backend: Backend) {
    let f = Arc::new(Fixture::new(backend).await);
    let lead_id = f.pool_lead("merge@example.com").await;
    let tasks = (0..16).map(|i| {
        let f = f.clone();
        tokio::spawn(async move {
            let sub = f.submission(
                "merge@example.com",
                json!({ format!("answer_{i}"): format!("value {i}") }),
                None,
            );
            f.store.tenant(&f.tenant_id).run(RecordSubmission(sub)).await
        })
    });
    for result in futures_join(tasks).await {
        assert_eq!(result.unwrap().lead_id, lead_id);
    }
    let lead = f
        .store
        .tenant(&f.tenant_id)
        .lead(&lead_id, &LeadVisibility::All)
        .await
        .unwrap();
    let missing: Vec<usize> = (0..16)
        .filter(|i| lead.fields[format!("answer_{i}")] != json!(format!("value {i}")))
        .collect();
    assert!(missing.is_empty(), "fields lost: {missing:?} of {}", lead.fields);
}

/// A tenant re-score's chunk, written by a worker whose lease ran out and
/// whose job another worker took over, writes nothing; the new holder's does.
async fn a_rescore_chunk_after_its_lease_was_lost_writes_nothing(backend: Backend) {
    let f = Fixture::new(backend).await;
    let store = f.store.tenant(&f.tenant_id);
    let lead_id = f.pool_lead("rescore@example.com").await;
    let started = store.start_rescore().await.unwrap();
    // The lease runs out (shortened here) and another worker claims the job.
    let mut conn = sqlx::AnyConnection::connect(&f.url).await.unwrap();
    sqlx::query("UPDATE jobs SET locked_until = 0 WHERE id = $1")
        .bind(&started.job.id)
        .execute(&mut conn)
        .await
        .unwrap();
    let taken = f
        .store
        .claim_job(&started.job.id, CLAIM_LEASE)
        .await
        .unwrap()
        .expect("a job whose lease ran out can be claimed");
    let lead = store.lead(&lead_id, &LeadVisibility::All).await.unwrap();
    let write = ScoreWrite {
        lead_id: lead_id.clone(),
        expected_rev: lead.score_rev,
        score: 7,
        tier: Tier::Cold,
        parts: json!([]),
        stage: None,
        events: vec![("scored".into(), json!({"score": 7}))],
        next_check: None,
    };
    let chunk = |job| {
        let writes = store.prepare_scores(std::slice::from_ref(&write));
        let store = f.store.tenant(&f.tenant_id);
        let run_id = started.run.id.clone();
        let last = lead_id.clone();
        async move {
            store
                .write_rescore_chunk(job, &run_id, writes, 1, &last, CLAIM_LEASE)
                .await
        }
    };
    assert_eq!(
        chunk(&started.job).await.unwrap(),
        None,
        "the first worker lost its claim"
    );
    let lead = store.lead(&lead_id, &LeadVisibility::All).await.unwrap();
    assert_eq!(lead.score, 0, "nothing written");
    assert_eq!(
        store.rescore_run(&started.run.id).await.unwrap().done,
        0,
        "nothing counted"
    );
    assert_eq!(
        chunk(&taken).await.unwrap(),
        Some(1),
        "the worker holding the claim writes"
    );
    assert_eq!(store.lead(&lead_id, &LeadVisibility::All).await.unwrap().score, 7);
    assert_eq!(store.rescore_run(&started.run.id).await.unwrap().done, 1);
}

async fn futures_join<T>(tasks: impl IntoIterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

macro_rules! on_both_backends {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(super::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(super::Backend::Postgres).await
                }
            )+

            /// Two duplicates of one lead interleaved on purpose: the second
            /// starts its merge while the first holds its transaction open,
            /// having read the lead and decided its writes. The second must
            /// wait for the first to commit, then merge onto what it wrote
            /// (before the fix it read the old row and overwrote the first
            /// one's field). When both fill the same field, the first
            /// committed value stays.
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_merge_waits_for_a_concurrent_merge_of_the_same_lead() {
                super::interleaved_merges(super::Backend::Postgres).await
            }
        }
    };
}

on_both_backends!(
    concurrent_identical_submissions_make_one_lead,
    two_reps_claiming_one_lead_one_wins,
    a_breach_job_for_an_earlier_owner_does_nothing,
    concurrent_duplicates_keep_every_field,
    a_rescore_chunk_after_its_lease_was_lost_writes_nothing,
    concurrent_new_leads_are_each_counted_on_the_dashboard,
    two_processes_sharing_a_tenant_send_no_more_than_its_rate,
);

/// Two processes (two stores on one database, each with its own pools and
/// its own `SendAllowance`) take send slots, in blocks, until the minute is
/// full: between them exactly the rate, taken in turns or all at once.
async fn two_processes_sharing_a_tenant_send_no_more_than_its_rate(backend: Backend) {
    let f = Fixture::new(backend).await;
    let other = Store::open(&f.url, SqliteSync::Normal).await.unwrap();
    let stores = [f.store.clone(), other];
    let minute = |n: i64| leadhost::clock::Timestamp(leadhost::clock::Timestamp::now().micros() + n * 60_000_000);
    // 100 a minute: blocks of 5 while they fit; 7: one at a time.
    for (n, per_minute) in [(1, 100), (2, 7)] {
        // In turns: each process gets its share.
        let at = minute(n);
        let allowances = [SendAllowance::default(), SendAllowance::default()];
        let mut by_process = [0; 2];
        let mut open = [true; 2];
        while open.iter().any(|&o| o) {
            for p in 0..2 {
                if open[p] {
                    let tenant = stores[p].tenant(&f.tenant_id);
                    open[p] = allowances[p].take(&tenant, at, per_minute).await.unwrap();
                    by_process[p] += i32::from(open[p]);
                }
            }
        }
        assert_eq!(
            by_process[0] + by_process[1],
            per_minute,
            "{by_process:?} at {per_minute} a minute"
        );
        assert!(
            by_process.iter().all(|&n| n > 0),
            "each process sent some: {by_process:?}"
        );

        // All at once: eight tasks in each process.
        let minute_of = minute(n + 10);
        let mut tasks = Vec::new();
        for store in &stores {
            let allowance = Arc::new(SendAllowance::default());
            for _ in 0..8 {
                let (store, allowance, tenant_id) = (store.clone(), allowance.clone(), f.tenant_id.clone());
                tasks.push(tokio::spawn(async move {
                    let tenant = store.tenant(&tenant_id);
                    let mut sent = 0;
                    while allowance.take(&tenant, minute_of, per_minute).await.unwrap() {
                        sent += 1;
                    }
                    sent
                }));
            }
        }
        let sent: i32 = futures_join(tasks).await.into_iter().sum();
        assert_eq!(sent, per_minute, "at {per_minute} a minute, all at once");
    }
}

async fn interleaved_merges(backend: Backend) {
    let f = Arc::new(Fixture::new(backend).await);
    let lead_id = f.pool_lead("both@example.com").await;
    let store = f.store.tenant(&f.tenant_id);

    // First: reads the lead (holding it) and decides its merge; not committed.
    let mut first = store.begin_unit().await.unwrap();
    let sub = f.submission("both@example.com", json!({"budget": "100k", "timeline": "Q1"}), None);
    leadhost::leads::record(&mut first.unit(), &sub).await.unwrap();

    // Second: the same lead, another field, and the same `timeline` field.
    let second = {
        let f = f.clone();
        tokio::spawn(async move {
            let store = f.store.tenant(&f.tenant_id);
            let mut second = store.begin_unit().await.unwrap();
            let sub = f.submission("both@example.com", json!({"size": 40, "timeline": "Q3"}), None);
            leadhost::leads::record(&mut second.unit(), &sub).await.unwrap();
            second.commit().await
        })
    };
    // Until the second is waiting for the first's lock, or has decided
    // without waiting (the bug: it read the row the first is changing).
    let mut watcher = sqlx::PgConnection::connect(&f.url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut watcher)
        .await
        .unwrap();
        if waiting > 0 || second.is_finished() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the second merge neither waited nor finished"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    first.commit().await.unwrap();
    second.await.unwrap().unwrap();

    let lead = store.lead(&lead_id, &LeadVisibility::All).await.unwrap();
    assert_eq!(
        lead.fields["budget"],
        json!("100k"),
        "the first merge's field: {}",
        lead.fields
    );
    assert_eq!(
        lead.fields["size"],
        json!(40),
        "the second merge's field: {}",
        lead.fields
    );
    assert_eq!(lead.fields["timeline"], json!("Q1"), "the first committed value stays");
}

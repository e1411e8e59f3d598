//! The demo tenant's past: a few hundred leads over the last 90 days, made
//! through the real paths (intake, scoring, the pool, claims, SLA jobs,
//! activities, stage changes with deals) on a clock moved back day by day,
//! so every page has something true to show on the first start. It is made
//! before the tenant's routing rules and workflows exist: its leads come
//! into the pool, reps claim most of them, and none is held or emailed.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::clock::{self, Timestamp};
use crate::domain::{ActivityKind, Role, Stage, TouchContext};
use crate::followup::activity::LogActivity;
use crate::i18n::Lang;
use crate::leads::deal::Deal;
use crate::leads::{IntakeRequest, StageRequest};
use crate::routing::pool::Claim;
use crate::storage::{LeadFilter, LeadVisibility, NewActivity, TenantRecord};

const DAYS: u64 = 90;
const DAY: Duration = Duration::from_secs(86_400);
const FORM: &str = "website-demo-request";

const SURNAMES: [&str; 12] = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"];
const GIVEN: [&str; 10] = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "婷", "强", "军"];
const TITLES: [&str; 6] = [
    "总经理 CEO",
    "销售总监 Sales Director",
    "IT经理 IT Manager",
    "采购主管 Purchasing Lead",
    "工程师 Engineer",
    "助理 Assistant",
];
const INDUSTRIES: [&str; 5] = ["manufacturing", "logistics", "software", "retail", "education"];
const COMPANIES: [&str; 8] = [
    "华东制造",
    "远航物流",
    "锦程零售",
    "启明软件",
    "恒泰金融",
    "康宁医疗",
    "博学教育",
    "天工机械",
];
const PROVINCES: [&str; 6] = ["zhejiang", "shanghai", "jiangsu", "beijing", "guangdong", "sichuan"];
const SIZES: [&str; 4] = ["1-49", "50-199", "200-999", "1000+"];
const BUDGETS: [&str; 5] = ["unknown", "<50k", "50k-200k", "200k-1m", ">1m"];
const AUTHORITY: [&str; 4] = ["decision_maker", "influencer", "evaluator", "user"];
const TIMELINES: [&str; 4] = ["this_month", "this_quarter", "this_year", "exploring"];
/// (source, medium, campaign)
const CHANNELS: [(&str, &str, &str); 5] = [
    ("baidu", "cpc", "crm-search"),
    ("wechat", "social", "spring-webinar"),
    ("linkedin", "social", "manufacturing-2026"),
    ("referral", "partner", "partner-program"),
    ("expo", "offline", "shanghai-expo"),
];

/// A small deterministic generator: the demo looks the same on every machine.
struct Dice(u64);

impl Dice {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % below as u64) as usize
    }
}

/// Makes the history unless the tenant has leads already; the number of
/// leads made.
pub async fn make(state: &AppState, tenant: &TenantRecord) -> anyhow::Result<usize> {
    // A server on the manual clock belongs to a test that moves time itself;
    // a made-up past would be in its way.
    if clock::manual().is_some() {
        return Ok(0);
    }
    let store = state.store.tenant(&tenant.id);
    let any = LeadFilter {
        limit: 1,
        ..LeadFilter::default()
    };
    if !store.leads(&any, &LeadVisibility::All).await?.leads.is_empty() {
        return Ok(0);
    }
    let form = store.form(FORM).await.context("the demo form")?;
    let compiled = state.forms.get(&store, &form.id, form.current_version).await?;
    let reps: Vec<String> = store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.role == Role::Rep)
        .map(|u| u.id)
        .collect();
    let start = Timestamp(Timestamp::now().micros() - (DAY * DAYS as u32).as_micros() as i64);
    let mut dice = Dice(20261203);
    let mut made = Vec::new();
    let result = async {
        for day in 0..DAYS {
            // Mornings: new leads arrive and are scored and routed.
            clock::set_manual(start.plus(DAY * day as u32).plus(Duration::from_secs(9 * 3600)));
            for _ in 0..(2 + dice.next(2)) {
                let n = made.len();
                let (source, medium, campaign) = CHANNELS[dice.next(CHANNELS.len())];
                let fields = lead_fields(&mut dice, n);
                let context = TouchContext {
                    channel: "form_page",
                    source: source.to_owned(),
                    utm_source: Some(source.to_owned()),
                    utm_medium: Some(medium.to_owned()),
                    utm_campaign: Some(campaign.to_owned()),
                    utm_term: None,
                    utm_content: None,
                    referrer: None,
                    idempotency_key: None,
                };
                let request = IntakeRequest {
                    tenant,
                    form: &form,
                    compiled: &compiled,
                    fields,
                    context,
                    lang: Lang::Zh,
                };
                let outcome = crate::leads::submit(state, request)
                    .await
                    .map_err(|e| anyhow::anyhow!("a demo lead: {e}"))?;
                if let Some(job) = outcome.job {
                    crate::jobs::execute(state, job).await;
                }
                made.push((outcome.lead_id, day));
            }
            // Afternoons: reps work the leads of the last days.
            clock::set_manual(start.plus(DAY * day as u32).plus(Duration::from_secs(15 * 3600)));
            for (lead_id, born) in &made {
                let age = day - born;
                // Worked every third day for three weeks, then left to go stale.
                if age % 3 == 0 && (3..=21).contains(&age) || age == 1 {
                    work(state, tenant, &reps, lead_id, age, &mut dice).await?;
                }
            }
            crate::jobs::sweep(state).await;
        }
        anyhow::Ok(())
    }
    .await;
    clock::use_system();
    result?;
    Ok(made.len())
}

fn lead_fields(dice: &mut Dice, n: usize) -> Map<String, Value> {
    let name = format!(
        "{}{}",
        SURNAMES[dice.next(SURNAMES.len())],
        GIVEN[dice.next(GIVEN.len())]
    );
    let fields = json!({
        "name": name,
        "email": format!("demo.lead{n}@example.com"),
        "phone": format!("139{:08}", 10_000_000 + n * 7919 % 89_999_999),
        "company": COMPANIES[dice.next(COMPANIES.len())],
        "job_title": TITLES[dice.next(TITLES.len())],
        "industry": INDUSTRIES[dice.next(INDUSTRIES.len())],
        "province": PROVINCES[dice.next(PROVINCES.len())],
        "company_size": SIZES[dice.next(SIZES.len())],
        "budget": BUDGETS[dice.next(BUDGETS.len())],
        "authority": AUTHORITY[dice.next(AUTHORITY.len())],
        "timeline": TIMELINES[dice.next(TIMELINES.len())],
        "need": "需要一套线索管理系统 / a lead management system",
        "consent": true,
    });
    match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// What happens to a lead `age` days old: a rep claims it from the pool
/// (most are), then its owner calls it, qualifies it, opens a deal, wins or
/// loses it.
async fn work(
    state: &AppState,
    tenant: &TenantRecord,
    reps: &[String],
    lead_id: &str,
    age: u64,
    dice: &mut Dice,
) -> anyhow::Result<()> {
    let store = state.store.tenant(&tenant.id);
    let mut lead = store.lead(lead_id, &LeadVisibility::All).await?;
    if age == 1 && lead.owner_id.is_none() && lead.held_at.is_none() && !reps.is_empty() && dice.next(4) > 0 {
        let claim = Claim {
            lead_id: lead_id.to_owned(),
            user_id: reps[dice.next(reps.len())].clone(),
        };
        store.run(claim).await?;
        lead = store.lead(lead_id, &LeadVisibility::All).await?;
    }
    let Some(owner) = lead.owner_id.clone() else {
        return Ok(());
    };
    if !lead.stage.is_open() {
        return Ok(());
    }
    let workflows = crate::nurture::active_workflows(&state.nurture.active, &store).await?;
    {
        let activity = NewActivity {
            kind: [ActivityKind::Call, ActivityKind::Email, ActivityKind::Meeting][dice.next(3)],
            outcome: Some(
                [
                    "接通，有兴趣 / interested",
                    "未接通 / no answer",
                    "约了演示 / demo booked",
                ][dice.next(3)]
                .into(),
            ),
            note: None,
            // Before the next visit, three days on: worked leads do not breach.
            next_follow_up_at: Some(Timestamp::now().plus(Duration::from_secs(70 * 3600))),
        };
        let log = LogActivity {
            lead_id: lead_id.to_owned(),
            user_id: owner.clone(),
            activity,
            workflows: workflows.clone(),
        };
        store.run(log).await?;
    }
    let to = match (age, lead.stage, dice.next(10)) {
        (3, Stage::New | Stage::Mql, roll) if roll < 6 => Stage::Sql,
        (9, Stage::Sql, roll) if roll < 6 => Stage::Opportunity,
        (9, Stage::New | Stage::Mql, roll) if roll < 3 => Stage::Lost,
        (15, Stage::Opportunity, roll) if roll < 5 => Stage::Won,
        (15, Stage::Opportunity, roll) if roll < 8 => Stage::Lost,
        (21, Stage::New | Stage::Mql | Stage::Sql, roll) if roll < 4 => Stage::Disqualified,
        _ => return Ok(()),
    };
    let deal = crate::leads::deal::records_deal(to).then(|| Deal {
        value_minor: (20 + dice.next(180)) as i64 * 100_000,
        close_on: jiff::Timestamp::from_microsecond(Timestamp::now().micros() + 30 * 86_400_000_000)
            .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date().to_string())
            .unwrap_or_default(),
    });
    let change = StageRequest {
        lead_id: lead_id.to_owned(),
        from: lead.stage,
        to,
        reason: to
            .needs_reason()
            .then(|| ["选择了其他供应商 / chose a competitor", "暂无预算 / no budget"][dice.next(2)].to_owned()),
        by: owner,
        deal,
        workflows,
    };
    if change.problems().is_empty() {
        store.run(change).await?;
    }
    Ok(())
}

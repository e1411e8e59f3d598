//! The dashboard through the real server on a manual clock: a known history
//! built through the API only (seven leads from three sources over 60 days
//! in Shanghai's time zone, stage changes, activities, SLA deadlines kept
//! and missed, a won deal), then its figures asserted exactly: the funnel,
//! the rates, cycle and stage times, lead quality, reps with their SLA,
//! tiers, a CSV export with a formula neutralised, a manager's scope, bad
//! parameters, and a first-touch deadline still pending (outside the SLA
//! compliance until it is decided). `known_history` is shared with
//! `dashboard_rebuild`.

use jiff::tz::{TimeZone, offset};
use leadhost_tests::{Backend, TestServer, on_both_backends, pointers};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::followup::advance;
use crate::scoring::{post, send, set_model};

on_both_backends!(the_dashboard_counts_a_known_history_exactly);

const MINUTE: i64 = 60;
const DAY: i64 = 86_400;

/// One lead of the history: when it is made (days after the first), where
/// from, and how big its company is (its tier).
pub(crate) struct Lead {
    name: &'static str,
    pub(crate) day: i64,
    source: &'static str,
    campaign: Option<&'static str>,
    /// Through the API (`api`) or the public form page (`form_page`).
    api: bool,
    size: &'static str,
}

pub(crate) const LEADS: [Lead; 7] = [
    lead("a", 0, "ads", Some("spring"), true, "200-999"),
    lead("b", 2, "ads", Some("spring"), true, "50-199"),
    lead("d", 15, "partner", None, false, "200-999"),
    lead("c", 20, "ads", None, true, "1-49"),
    lead("e", 30, "partner", None, false, "50-199"),
    lead("f", 40, "events", Some("=HYPERLINK(1)"), true, "1-49"),
    lead("g", 59, "events", Some("=HYPERLINK(1)"), true, "200-999"),
];

pub(crate) const fn lead(
    name: &'static str,
    day: i64,
    source: &'static str,
    campaign: Option<&'static str>,
    api: bool,
    size: &'static str,
) -> Lead {
    Lead {
        name,
        day,
        source,
        campaign,
        api,
        size,
    }
}

/// What happens, at seconds after the first lead's creation.
enum Step {
    Create(usize),
    /// (lead, user: "rep" or "other", kind)
    Activity(&'static str, &'static str, &'static str),
    /// (lead, stage, deal value)
    Stage(&'static str, &'static str, Option<&'static str>),
}

fn history() -> Vec<(i64, Step)> {
    let mut steps: Vec<(i64, Step)> = LEADS
        .iter()
        .enumerate()
        .map(|(i, l)| (l.day * DAY, Step::Create(i)))
        .collect();
    let at = |day: i64, minutes: i64| day * DAY + minutes * MINUTE;
    steps.extend([
        // a: touched in time (hot: 5 minutes), won on day 10.
        (at(0, 2), Step::Activity("a", "rep", "call")),
        (at(1, 0), Step::Stage("a", "mql", None)),
        (at(3, 0), Step::Stage("a", "sql", None)),
        (at(5, 0), Step::Stage("a", "opportunity", Some("100000"))),
        (at(10, 0), Step::Stage("a", "won", Some("120000.50"))),
        // b: touched in time (warm: 60 minutes), lost.
        (at(2, 30), Step::Activity("b", "rep", "email")),
        (at(4, 0), Step::Stage("b", "mql", None)),
        (at(8, 0), Step::Stage("b", "sql", None)),
        (at(9, 0), Step::Stage("b", "lost", None)),
        // d: touched late (after its breach), an open opportunity.
        (at(15, 10), Step::Activity("d", "other", "meeting")),
        (at(16, 0), Step::Stage("d", "mql", None)),
        (at(18, 0), Step::Stage("d", "sql", None)),
        (at(25, 0), Step::Stage("d", "opportunity", Some("50000"))),
        // c: never touched (cold: a day), breached on day 21.
        // e: touched in time, disqualified.
        (at(30, 20), Step::Activity("e", "other", "call")),
        (at(31, 0), Step::Stage("e", "disqualified", None)),
        // f: a note is no touch: breached on day 41; MQL by hand.
        (at(40, 60), Step::Activity("f", "rep", "note")),
        (at(45, 0), Step::Stage("f", "mql", None)),
        // g: touched in time on the last day.
        (at(59, 1), Step::Activity("g", "rep", "call")),
    ]);
    steps.sort_by_key(|(t, _)| *t);
    steps
}

/// A tenant in Shanghai's time zone with tiers by company size, an SLA
/// policy (follow-ups a year apart, so only first touches can breach), a
/// team "inside" (manager boss, rep) and a team "outside" (other); partner
/// leads go outside, the rest inside. Returns the admin token and the
/// users' tokens.
async fn tenant(server: &TestServer) -> anyhow::Result<(String, Value)> {
    let token = server.create_tenant("acme").await?;
    server
        .create_form_from_file(&token, "website-demo-request.json")
        .await?;
    set_model(
        server,
        &token,
        &json!({
            "tiers": {"warm": 5, "hot": 10}, "promote": {"mql": 50, "sql": 100},
            "rules": [{"kind": "attribute", "id": "size", "field": "company_size",
                       "cases": [{"equals": "200-999", "points": 12}, {"equals": "50-199", "points": 6}]}]
        }),
    )
    .await?;
    let settled = [
        (Method::PATCH, "/api/v1/settings", json!({"time_zone": "Asia/Shanghai"})),
        (
            Method::PUT,
            "/api/v1/sla/policy",
            json!({"first_touch_minutes": {"hot": 5, "warm": 60, "cold": 1440},
                   "warn_before_minutes": 2, "follow_up_hours": 8760}),
        ),
    ];
    for (method, path, body) in settled {
        let (status, answer) = send(server, &token, method, path, &body).await?;
        anyhow::ensure!(status == StatusCode::OK, "{path}: {status} {answer}");
    }
    let mut people = json!({});
    for (name, role) in [("boss", "manager"), ("rep", "rep"), ("other", "rep")] {
        let email = format!("{name}@acme.example");
        let (status, user) = post(server, &token, "/api/v1/users", &json!({"email": email, "role": role})).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{user}");
        let (_, issued) = post(server, &token, "/api/v1/tokens", &json!({"user": email})).await?;
        people[name] = json!({"id": user["id"], "token": issued["token"]});
    }
    for team in [
        json!({"name": "inside", "strategy": "round_robin", "manager": "boss@acme.example",
               "members": [{"email": "rep@acme.example"}]}),
        json!({"name": "outside", "strategy": "round_robin", "members": [{"email": "other@acme.example"}]}),
    ] {
        let (status, body) = post(server, &token, "/api/v1/teams", &team).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{body}");
    }
    let (status, rules) = send(
        server,
        &token,
        Method::PUT,
        "/api/v1/routing/rules",
        &json!({"rules": [
            {"id": "partners", "when": {"source": ["partner"]}, "assign": {"team": "outside"}},
            {"id": "all", "assign": {"team": "inside"}}
        ]}),
    )
    .await?;
    anyhow::ensure!(status == StatusCode::OK, "{rules}");
    Ok((token, people))
}

/// Makes one lead through the API or the public page, and waits for its
/// step (scored, routed).
pub(crate) async fn create(server: &TestServer, token: &str, i: usize, lead: &Lead) -> anyhow::Result<String> {
    let mut query = format!("?source={}", lead.source);
    if let Some(campaign) = lead.campaign {
        query.push_str(&format!("&utm_campaign={}", campaign.replace('=', "%3D")));
    }
    let body = json!({
        "name": format!("Lead {}", lead.name), "email": format!("{}@example.com", lead.name),
        "phone": format!("13800138{i:03}"), "company": "ACME", "province": "zhejiang",
        "company_size": lead.size, "consent": true
    });
    let path = match lead.api {
        true => format!("/api/v1/forms/website-demo-request/leads{query}"),
        false => format!("/f/acme/website-demo-request{query}"),
    };
    let (status, created) = post(server, token, &path, &body).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {created}");
    let id = created["id"].as_str().unwrap().to_owned();
    server.processed_lead(token, &id).await?;
    Ok(id)
}

/// The local date `days` after `start`, in Shanghai (UTC+8, no DST).
pub(crate) fn local_day(start: jiff::Timestamp, days: i64) -> String {
    let shanghai = TimeZone::fixed(offset(8));
    start
        .checked_add(jiff::SignedDuration::from_secs(days * DAY))
        .unwrap()
        .to_zoned(shanghai)
        .date()
        .to_string()
}

/// The rows of a view keyed by their first column.
pub(crate) fn rows<'a>(board: &'a Value, view: &str) -> Vec<&'a Value> {
    board[view]
        .as_array()
        .unwrap_or_else(|| panic!("{view}: {board}"))
        .iter()
        .collect()
}

pub(crate) fn figure(board: &Value, name: &str) -> Value {
    rows(board, "summary")
        .into_iter()
        .find(|r| r["figure"] == name)
        .map(|r| r["value"].clone())
        .unwrap_or_else(|| panic!("no figure {name}"))
}

/// The tenant after its known history: the admin's token, the users (by
/// name: their `id` and `token`), and when the first lead was made (10:00
/// in Shanghai); the clock then stands a day after the last step
/// (day 60, 10:01).
pub(crate) struct KnownHistory {
    pub token: String,
    pub people: Value,
    pub start: jiff::Timestamp,
}

impl KnownHistory {
    pub fn token_of(&self, who: &str) -> String {
        self.people[who]["token"].as_str().unwrap().to_owned()
    }
}

/// Builds the known history (see [`history`]) on a `--manual-clock` server.
pub(crate) async fn known_history(server: &TestServer) -> anyhow::Result<KnownHistory> {
    let (token, people) = tenant(server).await?;
    let token_of = |who: &str| people[who]["token"].as_str().unwrap().to_owned();

    // Start at the next 10:00 in Shanghai, so every lead's day is plain.
    let (_, clock) = server.get_json(&token, "/api/v1/clock").await?;
    let now: jiff::Timestamp = clock["now"].as_str().unwrap().parse()?;
    let local = now.to_zoned(TimeZone::fixed(offset(8)));
    let mut ten = local.date().at(10, 0, 0, 0).to_zoned(TimeZone::fixed(offset(8)))?;
    if ten.timestamp() <= now {
        ten = ten.tomorrow()?;
    }
    let wait = (ten.timestamp().as_microsecond() - now.as_microsecond() + 999_999) / 1_000_000;
    let start = advance(server, wait as u64).await?["now"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()?;

    let mut ids = std::collections::HashMap::new();
    let mut elapsed = 0;
    for (at, step) in history() {
        if at > elapsed {
            advance(server, (at - elapsed) as u64).await?;
            elapsed = at;
        }
        match step {
            Step::Create(i) => {
                let id = create(server, &token, i, &LEADS[i]).await?;
                ids.insert(LEADS[i].name, id);
            }
            Step::Activity(lead, who, kind) => {
                let path = format!("/api/v1/leads/{}/activities", ids[lead]);
                let (status, body) = post(server, &token_of(who), &path, &json!({"kind": kind})).await?;
                anyhow::ensure!(status == StatusCode::CREATED, "{lead} {kind}: {status} {body}");
            }
            Step::Stage(lead, stage, deal) => {
                let mut body = json!({"stage": stage});
                if matches!(stage, "lost" | "disqualified") {
                    body["reason"] = json!("no budget");
                }
                if let Some(value) = deal {
                    body["deal_value"] = json!(value);
                    body["expected_close"] = json!("2027-06-30");
                }
                let path = format!("/api/v1/leads/{}/stage", ids[lead]);
                let (status, answer) = post(server, &token, &path, &body).await?;
                anyhow::ensure!(status == StatusCode::OK, "{lead} -> {stage}: {status} {answer}");
            }
        }
    }
    // A day on: f's breach (day 41) is long past; nothing else falls due.
    advance(server, DAY as u64).await?;
    Ok(KnownHistory { token, people, start })
}

async fn the_dashboard_counts_a_known_history_exactly(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start_with(backend, &["--manual-clock"]).await?;
    let history = known_history(&server).await?;
    let (token, start) = (history.token.clone(), history.start);
    let token_of = |who: &str| history.token_of(who);

    let (from, to) = (local_day(start, 0), local_day(start, 59));
    let range = format!("from={from}&to={to}");
    let (status, board) = server.get_json(&token, &format!("/api/v1/dashboard?{range}")).await?;
    assert_eq!(status, StatusCode::OK, "{board}");
    assert_eq!(board["time_zone"], "Asia/Shanghai");
    assert_eq!(board["total"], 7);

    // The funnel: a, b, d, f reached MQL; a, b, d SQL; a, d opportunity; a won.
    let funnel: Vec<(String, i64, Value, Value)> = rows(&board, "funnel")
        .into_iter()
        .map(|r| {
            (
                r["stage"].as_str().unwrap().to_owned(),
                r["leads"].as_i64().unwrap(),
                r["conversion"].clone(),
                r["drop_off"].clone(),
            )
        })
        .collect();
    let expected: Vec<(String, i64, Value, Value)> = [
        ("new", 7, Value::Null, Value::Null),
        ("mql", 4, json!(0.5714), json!(3)),
        ("sql", 3, json!(0.75), json!(1)),
        ("opportunity", 2, json!(0.6667), json!(1)),
        ("won", 1, json!(0.5), json!(1)),
        ("lost", 1, json!(0.1429), Value::Null),
        ("disqualified", 1, json!(0.1429), Value::Null),
    ]
    .into_iter()
    .map(|(s, n, c, d)| (s.to_owned(), n, c, d))
    .collect();
    assert_eq!(funnel, expected);

    assert_eq!(figure(&board, "lead_to_opportunity"), json!(0.2857));
    assert_eq!(figure(&board, "opportunity_to_won"), json!(0.5));
    assert_eq!(figure(&board, "won_value"), json!(12_000_050));
    // a: created on day 0, won on day 10.
    assert_eq!(figure(&board, "average_days_to_won"), json!(10.0));
    assert_eq!(figure(&board, "average_seconds_to_won"), json!(864_000));
    // SLA: a, b, e, g in time; d late (touched after 10 minutes of 5); c
    // and f missed (their deadlines passed on days 21 and 41, never
    // touched: a note is no touch); c, d, f breached. Every deadline is
    // decided by now, none pending, so compliance over the decided ones,
    // 4 / (4 + 1 + 2), is what it was over all those due (4 / 7).
    assert_eq!(figure(&board, "sla_due"), json!(7));
    assert_eq!(figure(&board, "sla_in_time"), json!(4));
    assert_eq!(figure(&board, "sla_late"), json!(1));
    assert_eq!(figure(&board, "sla_breached"), json!(2));
    assert_eq!(figure(&board, "sla_compliance"), json!(0.5714));
    assert_eq!(figure(&board, "sla_pending"), json!(0));
    assert_eq!(figure(&board, "breaches"), json!(3));

    // Time in stage, over the stays that ended: new a 1 + b 2 + d 1 + e 1
    // + f 5 days; MQL a 2 + b 4 + d 2; SQL a 2 + b 1 + d 7; opportunity a 5.
    let stages: Vec<(String, i64, i64)> = rows(&board, "stages")
        .into_iter()
        .map(|r| {
            (
                r["stage"].as_str().unwrap().to_owned(),
                r["stays"].as_i64().unwrap(),
                r["average_seconds"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, i64, i64)> = [
        ("new", 5, 2 * DAY),
        ("mql", 3, 8 * DAY / 3),
        ("sql", 3, 10 * DAY / 3),
        ("opportunity", 1, 5 * DAY),
    ]
    .into_iter()
    .map(|(s, n, secs)| (s.to_owned(), n, secs))
    .collect();
    assert_eq!(stages, expected);

    let quality = |view: &str, key: &str| -> Vec<Value> {
        rows(&board, view)
            .into_iter()
            .map(|r| {
                json!([
                    r[key],
                    r["leads"],
                    r["mql_rate"],
                    r["conversion"],
                    r["won"],
                    r["won_value"]
                ])
            })
            .collect()
    };
    assert_eq!(
        quality("sources", "source"),
        vec![
            json!(["ads", 3, 0.6667, 0.3333, 1, 12_000_050]),
            json!(["events", 2, 0.5, 0.0, 0, 0]),
            json!(["partner", 2, 0.5, 0.0, 0, 0]),
        ]
    );
    assert_eq!(
        quality("channels", "channel"),
        vec![
            json!(["api", 5, 0.6, 0.2, 1, 12_000_050]),
            json!(["form_page", 2, 0.5, 0.0, 0, 0]),
        ]
    );

    // Reps: what each logged beside what their leads did.
    let reps: Vec<Value> = rows(&board, "reps")
        .into_iter()
        .map(|r| {
            json!([
                r["email"],
                r["calls"],
                r["meetings"],
                r["emails"],
                r["leads"],
                r["opportunities"],
                r["won"],
                r["conversion"],
                r["sla_due"],
                r["sla_in_time"],
                r["sla_late"],
                r["sla_breached"],
                r["sla_compliance"],
                r["sla_pending"],
                r["breaches"]
            ])
        })
        .collect();
    // other: e in time, d late (1 of 2); rep: a, b, g in time, c and f
    // missed (3 of 5); nothing pending.
    assert_eq!(
        reps,
        vec![
            json!(["other@acme.example", 1, 1, 0, 2, 1, 0, 0.0, 2, 1, 1, 0, 0.5, 0, 1]),
            json!(["rep@acme.example", 2, 0, 1, 5, 1, 1, 0.2, 5, 3, 0, 2, 0.6, 0, 2]),
        ]
    );

    let tiers: Vec<Value> = rows(&board, "tiers")
        .into_iter()
        .map(|r| json!([r["tier"], r["leads"]]))
        .collect();
    assert_eq!(tiers, vec![json!(["cold", 2]), json!(["warm", 2]), json!(["hot", 3])]);

    // The campaigns as CSV: a campaign that is a formula is neutralised.
    let res = server
        .http
        .get(server.url(&format!("/api/v1/dashboard/campaigns.csv?{range}")))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str()?.starts_with("text/csv"));
    assert_eq!(
        res.text().await?,
        "campaign,leads,mql_rate,conversion,won,won_value\n\
         ,3,0.3333,0.0,0,0\n\
         '=HYPERLINK(1),2,0.5,0.0,0,0\n\
         spring,2,1.0,0.5,1,12000050\n"
    );

    // Filters: the last 30 days (e, f, g); one source; one team.
    let count = |query: String, who: String| {
        let server = &server;
        async move {
            let (status, board) = server.get_json(&who, &format!("/api/v1/dashboard?{query}")).await?;
            anyhow::ensure!(status == StatusCode::OK, "{query}: {status} {board}");
            Ok::<_, anyhow::Error>(board["total"].as_i64().unwrap())
        }
    };
    let later = format!("from={}&to={to}", local_day(start, 30));
    assert_eq!(count(later, token.clone()).await?, 3);
    assert_eq!(count(format!("{range}&source=ads"), token.clone()).await?, 3);
    assert_eq!(count(format!("{range}&campaign=spring"), token.clone()).await?, 2);
    assert_eq!(
        count(format!("{range}&form=website-demo-request"), token.clone()).await?,
        7
    );
    assert_eq!(count(format!("{range}&team=outside"), token.clone()).await?, 2);

    // A manager sees their team's leads only, and may not ask for another.
    let boss = token_of("boss");
    assert_eq!(count(range.clone(), boss.clone()).await?, 5);
    let (status, board) = server.get_json(&boss, &format!("/api/v1/dashboard?{range}")).await?;
    assert_eq!(status, StatusCode::OK);
    let seen: Vec<&Value> = rows(&board, "reps").into_iter().map(|r| &r["email"]).collect();
    assert_eq!(seen, [&json!("rep@acme.example")]);
    let (status, _) = server
        .get_json(&boss, &format!("/api/v1/dashboard?{range}&team=outside"))
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.get_json(&token_of("rep"), "/api/v1/dashboard").await?;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Bad parameters: each at its pointer.
    let (status, problem) = server
        .get_json(&token, "/api/v1/dashboard?from=2026-13-01&to=yesterday")
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/from", "/to"]);
    let (status, problem) = server
        .get_json(&token, &format!("/api/v1/dashboard?{range}&team=nobody&form=nope"))
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/team"]);
    let (status, _) = server
        .get_json(&token, &format!("/api/v1/dashboard/secrets.csv?{range}"))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A deadline still ahead is pending, neither kept nor missed: h, made
    // now (day 60) from ads (rep's), cold (a day to its first touch), not
    // touched. Compliance stays 4 of the 7 decided (in time over due would
    // read 4 / 8), with 1 pending beside it; the rep's 3 of 5, 1 pending.
    create(&server, &token, 7, &lead("h", 60, "ads", None, true, "1-49")).await?;
    // The summary's SLA figures, then the rep's.
    let sla_of = |board: &Value| -> Value {
        let names = [
            "sla_due",
            "sla_in_time",
            "sla_late",
            "sla_breached",
            "sla_compliance",
            "sla_pending",
        ];
        let rep = rows(board, "reps")
            .into_iter()
            .find(|r| r["email"] == "rep@acme.example")
            .cloned()
            .unwrap_or_default();
        let summary = names.map(|name| figure(board, name));
        json!([summary, names.map(|name| rep[name].clone())])
    };
    let with_h = format!("from={from}&to={}", local_day(start, 60));
    let (_, board) = server.get_json(&token, &format!("/api/v1/dashboard?{with_h}")).await?;
    assert_eq!(board["total"], 8, "{board}");
    assert_eq!(sla_of(&board), json!([[8, 4, 1, 2, 0.5714, 1], [6, 3, 0, 2, 0.6, 1]]));
    // A day on, its deadline passed untouched: missed, and decided: 4 of 8.
    advance(&server, DAY as u64).await?;
    let (_, board) = server.get_json(&token, &format!("/api/v1/dashboard?{with_h}")).await?;
    assert_eq!(sla_of(&board), json!([[8, 4, 1, 3, 0.5, 0], [6, 3, 0, 3, 0.5, 0]]));
    Ok(())
}

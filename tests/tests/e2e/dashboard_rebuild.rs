//! `leadhost dashboard rebuild` run against a running server's database:
//! the known history (`dashboard::known_history`) counted again from the
//! source tables gives exactly the figures counted as it happened; after
//! the tenant's time zone changes, the rebuild moves every lead's and
//! activity's day to the new zone's, the totals the same; and rebuilds run
//! while leads come in lose and double-count nothing.

use leadhost_tests::{Backend, TestServer, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::dashboard::{LEADS, create, known_history, lead, local_day, rows};
use crate::scoring::{post, send};

on_both_backends!(a_rebuild_counts_what_the_changes_counted_and_moves_days_to_the_zone_now);

async fn board(server: &TestServer, token: &str, from: &str, to: &str) -> anyhow::Result<Value> {
    let (status, board) = server
        .get_json(token, &format!("/api/v1/dashboard?from={from}&to={to}"))
        .await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {board}");
    Ok(board)
}

/// Leads made on one day.
async fn total_on(server: &TestServer, token: &str, day: &str) -> anyhow::Result<i64> {
    Ok(board(server, token, day, day).await?["total"]
        .as_i64()
        .unwrap_or_default())
}

/// A board's views, without the range and zone it was asked for.
fn views(board: &Value) -> Value {
    let mut views = board.clone();
    for key in ["from", "to", "time_zone"] {
        views.as_object_mut().expect("a board is an object").remove(key);
    }
    views
}

async fn a_rebuild_counts_what_the_changes_counted_and_moves_days_to_the_zone_now(
    backend: Backend,
) -> anyhow::Result<()> {
    let server = TestServer::start_with(backend, &["--manual-clock"]).await?;
    let history = known_history(&server).await?;
    let (token, start) = (history.token.as_str(), history.start);
    let day = |days: i64| local_day(start, days);
    let counted = board(&server, token, &day(0), &day(59)).await?;
    assert_eq!(counted["total"], 7, "{counted}");

    // Counted again from the source tables: every lead's facts as the
    // changes left them (none changed), so every figure the same.
    let out = server.cli(&["dashboard", "rebuild", "--tenant", "acme"])?;
    assert_eq!(
        out,
        "acme: 7 leads counted (0 changed), 6 activities, by day in Asia/Shanghai\n"
    );
    assert_eq!(board(&server, token, &day(0), &day(59)).await?, counted);

    // Honolulu (UTC-10, no DST): 10:00 in Shanghai, when each lead was
    // made (and its activities, up to 11:00), is 16:00 the day before
    // there. Days already counted keep Shanghai's until a rebuild.
    let zone = json!({"time_zone": "Pacific/Honolulu"});
    let (status, body) = send(&server, token, Method::PATCH, "/api/v1/settings", &zone).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    for lead in &LEADS {
        assert_eq!(total_on(&server, token, &day(lead.day)).await?, 1, "day {}", lead.day);
    }
    let out = server.cli(&["dashboard", "rebuild"])?;
    assert_eq!(
        out,
        "acme: 7 leads counted (7 changed), 6 activities, by day in Pacific/Honolulu\n"
    );
    for lead in &LEADS {
        assert_eq!(total_on(&server, token, &day(lead.day)).await?, 0, "day {}", lead.day);
        assert_eq!(
            total_on(&server, token, &day(lead.day - 1)).await?,
            1,
            "day {} - 1",
            lead.day
        );
    }
    // a's call (10:02 in Shanghai) moved with it.
    let first = board(&server, token, &day(-1), &day(-1)).await?;
    let calls: Vec<Value> = rows(&first, "reps")
        .into_iter()
        .map(|r| json!([r["email"], r["calls"]]))
        .collect();
    assert_eq!(calls, [json!(["rep@acme.example", 1])]);
    // Over the same instants, the same figures.
    let moved = board(&server, token, &day(-1), &day(58)).await?;
    assert_eq!(moved["time_zone"], "Pacific/Honolulu");
    assert_eq!(views(&moved), views(&counted));

    // Rebuilds while leads come in (made, scored, routed to rep, touched):
    // each change is counted once, by a rebuild or on top of one, so a
    // last rebuild changes no lead's facts and no figure.
    let mut rebuilds: Vec<std::process::Command> = (0..6)
        .map(|_| server.cli_command(&["dashboard", "rebuild", "--tenant", "acme"]))
        .collect();
    let rebuilding = tokio::task::spawn_blocking(move || {
        rebuilds
            .iter_mut()
            .map(|command| command.output())
            .collect::<Result<Vec<_>, _>>()
    });
    let names = [
        "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z",
    ];
    let mut made = 0;
    for (i, name) in names.into_iter().enumerate() {
        if rebuilding.is_finished() && made >= 3 {
            break;
        }
        let id = create(&server, token, 8 + i, &lead(name, 60, "ads", None, true, "1-49")).await?;
        let path = format!("/api/v1/leads/{id}/activities");
        let (status, body) = post(&server, &history.token_of("rep"), &path, &json!({"kind": "call"})).await?;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        made += 1;
    }
    for out in rebuilding.await?? {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let range = (day(-1), day(60));
    let after = board(&server, token, &range.0, &range.1).await?;
    assert_eq!(after["total"], 7 + made, "{after}");
    let out = server.cli(&["dashboard", "rebuild", "--tenant", "acme"])?;
    let expected = format!(
        "acme: {} leads counted (0 changed), {} activities, by day in Pacific/Honolulu\n",
        7 + made,
        6 + made
    );
    assert_eq!(out, expected);
    assert_eq!(board(&server, token, &range.0, &range.1).await?, after);
    Ok(())
}

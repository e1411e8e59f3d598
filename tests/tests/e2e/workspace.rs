//! Logins, scope and the rep workspace, over HTTP as a browser sends it
//! (the browser tests drive the same flows in Chromium, on SQLite).

use std::time::{Duration, Instant};

use leadhost_tests::pages::PageVisitor;
use leadhost_tests::smtp::SmtpSink;
use leadhost_tests::workspace::{PASSWORD, Workspace};
use leadhost_tests::{Backend, StatusCode, TestServer, eventually, on_both_backends};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    managers_see_their_teams_leads_and_the_pool,
    a_login_starts_a_session_that_logout_and_a_new_password_end,
    a_reset_link_by_email_sets_a_new_password_once_within_the_hour,
    wrong_passwords_are_slowed_then_locked_per_account,
    pages_refuse_posts_without_their_csrf_token_and_other_reps_leads,
    a_rep_works_the_agenda_claims_and_logs_a_call,
    a_departing_reps_logins_end_and_their_open_leads_are_routed_again,
    tags_are_added_and_removed_over_the_api,
);

async fn managers_see_their_teams_leads_and_the_pool(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let manager = &ws.person("manager_a").token;
    let (status, list) = server.get_json(manager, "/api/v1/leads").await?;
    assert_eq!(status, StatusCode::OK);
    let mut seen: Vec<&str> = list["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    seen.sort();
    let mut expected = vec![ws.leads["a"].as_str(), ws.leads["pool"].as_str()];
    expected.sort();
    assert_eq!(seen, expected, "team east's lead and the pool's, not team west's");

    let other = &ws.leads["b"];
    let (status, _) = server.get_json(manager, &format!("/api/v1/leads/{other}")).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .send_json(
            Method::POST,
            manager,
            &format!("/api/v1/leads/{other}/activities"),
            &json!({"kind": "call"}),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The pool lead may go to the manager's own rep, not to another team's.
    let pool = &ws.leads["pool"];
    let (status, problem) = server
        .send_json(
            Method::POST,
            manager,
            &format!("/api/v1/leads/{pool}/assign"),
            &json!({"rep": "rep.b@acme.example"}),
        )
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("not in a team you manage"), "{problem}");
    let (status, _) = server
        .get_json(manager, &format!("/api/v1/agenda?user={}", ws.person("rep_b").id))
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "another team's rep's agenda");
    let (status, _) = server
        .get_json(manager, &format!("/api/v1/agenda?user={}", ws.person("rep_a").id))
        .await?;
    assert_eq!(status, StatusCode::OK, "their own rep's agenda");
    let (status, lead) = server
        .send_json(
            Method::POST,
            manager,
            &format!("/api/v1/leads/{pool}/assign"),
            &json!({"rep": "rep.a@acme.example"}),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{lead}");
    assert_eq!(lead["owner_id"], ws.person("rep_a").id.as_str());

    // Reps: their own and the pool; admins: everything.
    let (_, list) = server.get_json(&ws.person("rep_b").token, "/api/v1/leads").await?;
    let ids: Vec<&str> = list["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![ws.leads["b"].as_str()]);
    let (_, list) = server.get_json(&ws.admin, "/api/v1/leads").await?;
    assert_eq!(list["leads"].as_array().unwrap().len(), 3);
    Ok(())
}

async fn a_reset_link_by_email_sets_a_new_password_once_within_the_hour(backend: Backend) -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let server = TestServer::start_with(backend, &["--manual-clock", "--smtp-url", &sink.url()]).await?;
    let ws = Workspace::create(&server).await?;
    let rep = ws.person("rep_a");
    let mut old_browser = PageVisitor::new(&server);
    assert_eq!(
        old_browser.log_in(ws.tenant, &rep.email, PASSWORD).await?.status,
        StatusCode::SEE_OTHER
    );
    let reset_path = format!("/api/v1/users/{}/password-reset", rep.id);
    let (status, _) = server
        .send_json(Method::POST, &ws.person("manager_a").token, &reset_path, &json!({}))
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins send reset links");
    let (status, _) = server
        .send_json(
            Method::POST,
            &ws.admin,
            "/api/v1/users/nobody/password-reset",
            &json!({}),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, sent) = server
        .send_json(Method::POST, &ws.admin, &reset_path, &json!({}))
        .await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent["to"], rep.email.as_str());
    let mail = sink.wait_for(1, Duration::from_secs(30)).await?.remove(0);
    assert_eq!(mail.to, rep.email);
    assert!(
        mail.header("List-Unsubscribe").is_none(),
        "an account's email is no mailing"
    );
    let text = mail.text.clone().unwrap_or_default();
    let link = reset_link(&text).unwrap_or_else(|| panic!("no reset link in {text}"));
    // Through the outbox: logged like every email, with no lead. The sender
    // records `sent` just after the SMTP server's answer, so wait for it.
    let email_path = format!("/api/v1/emails/{}", sent["email"].as_str().unwrap());
    let logged = eventually("the reset email logged as sent", || async {
        let (_, logged) = server.get_json(&ws.admin, &email_path).await?;
        Ok((logged["status"] == "sent").then_some(logged))
    })
    .await?;
    assert!(logged["lead_id"].is_null(), "{logged}");

    let mut browser = PageVisitor::new(&server);
    let page = browser.get(&link).await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(
        page.headers["referrer-policy"], "no-referrer",
        "the secret is in the path"
    );
    assert!(page.csrf().is_some(), "a CSRF field");
    let new_password = "a brand new passphrase";
    let refused = browser
        .post(&link, &[("password", new_password), ("repeat", new_password)])
        .await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "no token, no change");
    let csrf = refused.csrf().expect("the form again, with a fresh token");
    let short = browser
        .post(&link, &[("password", "short"), ("repeat", "short"), ("_csrf", &csrf)])
        .await?;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.html.contains("at least 10 characters"), "{}", short.html);
    let csrf = short.csrf().unwrap();
    let differ = browser
        .post(
            &link,
            &[
                ("password", new_password),
                ("repeat", "another passphrase"),
                ("_csrf", &csrf),
            ],
        )
        .await?;
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    let csrf = differ.csrf().unwrap();
    let done = browser
        .post(
            &link,
            &[("password", new_password), ("repeat", new_password), ("_csrf", &csrf)],
        )
        .await?;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("reset-done"), "{}", done.html);

    // The old session ended, the old password fails, the new one works, the
    // link works once.
    assert_eq!(old_browser.get("/app/agenda").await?.status, StatusCode::SEE_OTHER);
    let mut visitor = PageVisitor::new(&server);
    assert_eq!(
        visitor.log_in(ws.tenant, &rep.email, PASSWORD).await?.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        visitor.log_in(ws.tenant, &rep.email, new_password).await?.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(browser.get(&link).await?.status, StatusCode::GONE);

    // A link unused for over an hour no longer works.
    let (status, _) = server
        .send_json(Method::POST, &ws.admin, &reset_path, &json!({}))
        .await?;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mail = sink.wait_for(2, Duration::from_secs(30)).await?.remove(1);
    let late = reset_link(&mail.text.unwrap_or_default()).expect("a second link");
    crate::followup::advance(&server, 3601).await?;
    let page = browser.get(&late).await?;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.html.contains("expired or was already used"), "{}", page.html);
    Ok(())
}

/// The path of the reset link in an email's text.
fn reset_link(text: &str) -> Option<String> {
    let start = text.find("/login/reset/")?;
    let path: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    Some(path)
}

async fn a_login_starts_a_session_that_logout_and_a_new_password_end(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let mut visitor = PageVisitor::new(&server);

    let away = visitor.get("/app/leads?sort=score").await?;
    assert_eq!(away.status, StatusCode::SEE_OTHER);
    assert_eq!(away.location(), Some("/login?next=%2Fapp%2Fleads%3Fsort%3Dscore"));

    let login = visitor.log_in(ws.tenant, "REP.A@acme.example", PASSWORD).await?;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.html);
    assert_eq!(login.location(), Some("/app"), "each role's first page");
    let landing = visitor.get("/app").await?;
    assert_eq!(landing.location(), Some("/app/agenda"), "a rep's is the agenda");
    let cookie = login.set_cookie("lh_session").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http here: {cookie}");
    let agenda = visitor.get("/app/agenda").await?;
    assert_eq!(agenda.status, StatusCode::OK);
    assert!(agenda.html.contains("王芳 Wang Fang"), "the rep's name in the header");
    assert!(agenda.html.contains("Agenda"), "English, as the browser asked");

    // A second browser, then logging out of the first: only the first ends.
    let mut second = PageVisitor::new(&server);
    assert_eq!(
        second.log_in(ws.tenant, "rep.a@acme.example", PASSWORD).await?.status,
        StatusCode::SEE_OTHER
    );
    let csrf = agenda.csrf().unwrap();
    let out = visitor.post("/app/logout", &[("_csrf", &csrf)]).await?;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), Some("/login"));
    assert_eq!(visitor.get("/app/agenda").await?.status, StatusCode::SEE_OTHER);
    assert_eq!(second.get("/app/agenda").await?.status, StatusCode::OK);

    // An admin sets a new password: every session of the user ends, the old
    // password no longer works, the new one does.
    let rep = &ws.person("rep_a").id;
    let (status, body) = server
        .send_json(
            Method::PUT,
            &ws.admin,
            &format!("/api/v1/users/{rep}/password"),
            &json!({"password": "short"}),
        )
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = server
        .send_json(
            Method::PUT,
            &ws.admin,
            &format!("/api/v1/users/{rep}/password"),
            &json!({"password": "a new long password"}),
        )
        .await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(second.get("/app/agenda").await?.status, StatusCode::SEE_OTHER);
    let mut third = PageVisitor::new(&server);
    assert_eq!(
        third.log_in(ws.tenant, "rep.a@acme.example", PASSWORD).await?.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        third
            .log_in(ws.tenant, "rep.a@acme.example", "a new long password")
            .await?
            .status,
        StatusCode::SEE_OTHER
    );

    // The user changes their own password on the account page; a wrong
    // current password is refused.
    let account = third.get("/app/account").await?;
    let csrf = account.csrf().unwrap();
    let wrong = third
        .post(
            "/app/account/password",
            &[("_csrf", &csrf), ("current", "nope"), ("new", "another long one")],
        )
        .await?;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.html.contains("current password is not right"));
    let changed = third
        .post(
            "/app/account/password",
            &[
                ("_csrf", &csrf),
                ("current", "a new long password"),
                ("new", "another long one"),
            ],
        )
        .await?;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        third.get("/app/agenda").await?.status,
        StatusCode::OK,
        "the session that changed it stays"
    );
    Ok(())
}

async fn wrong_passwords_are_slowed_then_locked_per_account(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let started = Instant::now();
    let mut visitor = PageVisitor::new(&server);
    let wrong = visitor
        .log_in(ws.tenant, "rep.b@acme.example", "not the password")
        .await?;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("The email or password is not right."));
    assert!(wrong.html.contains("value=\"rep.b@acme.example\""), "the email is kept");
    assert!(
        started.elapsed().as_millis() >= 500,
        "a wrong password is answered after a delay"
    );
    // An unknown email and an unknown workspace fail the same way.
    let unknown = visitor.log_in(ws.tenant, "nobody@acme.example", PASSWORD).await?;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let unknown = visitor.log_in("nope", "rep.b@acme.example", PASSWORD).await?;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);

    // Nine more guesses at once (10 in all): the account locks, and then
    // even the right password is refused until the window passes.
    let guesses = (0..9).map(|i| {
        let server = &server;
        let tenant = ws.tenant;
        async move {
            let mut guesser = PageVisitor::new(server);
            guesser
                .log_in(tenant, "rep.b@acme.example", &format!("guess {i}"))
                .await
        }
    });
    for answer in futures::future::join_all(guesses).await {
        assert_eq!(answer?.status, StatusCode::UNAUTHORIZED);
    }
    let locked = visitor.log_in(ws.tenant, "rep.b@acme.example", PASSWORD).await?;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{}", locked.html);
    assert!(locked.html.contains("Too many failed attempts"));
    // Another account from the same address is not locked.
    let other = visitor.log_in(ws.tenant, "rep.a@acme.example", PASSWORD).await?;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    Ok(())
}

async fn pages_refuse_posts_without_their_csrf_token_and_other_reps_leads(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let mut rep = PageVisitor::new(&server);
    rep.log_in(ws.tenant, "rep.a@acme.example", PASSWORD).await?;
    let own = format!("/app/leads/{}", ws.leads["a"]);
    let page = rep.get(&own).await?;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf().unwrap();

    let activity = format!("{own}/activities");
    let missing = rep.post(&activity, &[("kind", "call")]).await?;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let forged = rep.post(&activity, &[("kind", "call"), ("_csrf", "forged")]).await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let (_, activities) = server
        .get_json(&ws.admin, &format!("/api/v1/leads/{}/activities", ws.leads["a"]))
        .await?;
    assert_eq!(
        activities["activities"].as_array().unwrap().len(),
        0,
        "nothing was logged"
    );
    // Another session's token is not this one's.
    let mut other = PageVisitor::new(&server);
    other.log_in(ws.tenant, "rep.a@acme.example", PASSWORD).await?;
    let other_csrf = other.get(&own).await?.csrf().unwrap();
    assert_ne!(other_csrf, csrf);
    assert_eq!(
        rep.post(&activity, &[("kind", "call"), ("_csrf", &other_csrf)])
            .await?
            .status,
        StatusCode::FORBIDDEN
    );
    // The login form needs its own token too.
    let mut stranger = PageVisitor::new(&server);
    let login = stranger
        .post(
            "/login",
            &[
                ("tenant", "acme"),
                ("email", "rep.a@acme.example"),
                ("password", PASSWORD),
            ],
        )
        .await?;
    assert_eq!(login.status, StatusCode::FORBIDDEN);

    // Another rep's lead: not found, as over the API; a manager of another
    // team likewise; a rep may not open manager-only routes of the API.
    let theirs = format!("/app/leads/{}", ws.leads["b"]);
    assert_eq!(rep.get(&theirs).await?.status, StatusCode::NOT_FOUND);
    let posted = rep
        .post(&format!("{theirs}/activities"), &[("kind", "call"), ("_csrf", &csrf)])
        .await?;
    assert_eq!(posted.status, StatusCode::NOT_FOUND);
    let mut manager = PageVisitor::new(&server);
    manager.log_in(ws.tenant, "manager.a@acme.example", PASSWORD).await?;
    assert_eq!(manager.get(&theirs).await?.status, StatusCode::NOT_FOUND);
    assert_eq!(manager.get(&own).await?.status, StatusCode::OK);
    let list = manager.get("/app/leads").await?;
    assert!(
        list.html.contains("张伟") && !list.html.contains("李娜"),
        "{}",
        list.html
    );
    Ok(())
}

async fn a_rep_works_the_agenda_claims_and_logs_a_call(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let mut rep = PageVisitor::new(&server);
    rep.log_in(ws.tenant, "rep.a@acme.example", PASSWORD).await?;

    // The agenda: the lead given by hand, not yet touched, with its countdown.
    let agenda = rep.get("/app/agenda").await?;
    assert_eq!(agenda.status, StatusCode::OK);
    let untouched = agenda.html.split("id=\"new-untouched\"").nth(1).unwrap();
    assert!(untouched.contains("张伟"), "{}", agenda.html);
    assert!(agenda.html.contains("due in"), "an SLA countdown: {}", agenda.html);

    // Search by a two-character Chinese name, and by part of an email.
    assert!(
        rep.get("/app/leads?q=%E5%BC%A0%E4%BC%9F")
            .await?
            .html
            .contains(&ws.leads["a"])
    );
    assert!(
        !rep.get("/app/leads?q=%E6%9D%8E%E5%A8%9C")
            .await?
            .html
            .contains(&ws.leads["b"])
    );
    assert!(rep.get("/app/leads?q=zhang.wei").await?.html.contains(&ws.leads["a"]));

    // The pool: claim its lead; a second claim by another rep is told why.
    let pool = rep.get("/app/pool").await?;
    let pool_lead = &ws.leads["pool"];
    assert!(pool.html.contains(pool_lead.as_str()));
    let csrf = pool.csrf().unwrap();
    let claimed = rep
        .post(&format!("/app/leads/{pool_lead}/claim"), &[("_csrf", &csrf)])
        .await?;
    assert_eq!(claimed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        claimed.location(),
        Some(format!("/app/leads/{pool_lead}?done=claimed").as_str())
    );
    let mut late = PageVisitor::new(&server);
    late.log_in(ws.tenant, "rep.b@acme.example", PASSWORD).await?;
    let late_csrf = late.get("/app/pool").await?.csrf().unwrap();
    let lost = late
        .post(&format!("/app/leads/{pool_lead}/claim"), &[("_csrf", &late_csrf)])
        .await?;
    assert_eq!(lost.status, StatusCode::CONFLICT);
    assert!(
        lost.html.contains("Another rep has just claimed this lead"),
        "{}",
        lost.html
    );

    // Log a call with its next follow-up; it is on the timeline, and the
    // lead's deadline is that follow-up.
    let page = rep.get(&format!("/app/leads/{pool_lead}")).await?;
    let csrf = page.csrf().unwrap();
    let bad = rep
        .post(
            &format!("/app/leads/{pool_lead}/activities"),
            &[
                ("_csrf", &csrf),
                ("kind", "call"),
                ("next_follow_up_at", "2001-01-01T09:00"),
            ],
        )
        .await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("must be in the future"));
    let logged = rep
        .post(
            &format!("/app/leads/{pool_lead}/activities"),
            &[
                ("_csrf", &csrf),
                ("kind", "call"),
                ("outcome", "接通，约下周演示"),
                ("next_follow_up_at", "2099-03-02T10:30"),
            ],
        )
        .await?;
    assert_eq!(logged.status, StatusCode::SEE_OTHER, "{}", logged.html);
    let page = rep.get(&format!("/app/leads/{pool_lead}?done=activity")).await?;
    assert!(page.html.contains("Activity logged."));
    assert!(page.html.contains("activity · call"));
    assert!(page.html.contains("接通，约下周演示"));
    let (_, lead) = server
        .get_json(&ws.admin, &format!("/api/v1/leads/{pool_lead}"))
        .await?;
    assert_eq!(lead["owner_id"], ws.person("rep_a").id.as_str());
    assert!(!lead["touched_at"].is_null(), "the call touched the lead");
    // The time typed is read in the rep's zone: the tenant's (UTC here).
    let (_, settings) = server.get_json(&ws.admin, "/api/v1/settings").await?;
    assert_eq!(settings["time_zone"], "UTC");
    let due = lead["follow_up_due_at"].as_str().unwrap();
    assert!(due.starts_with("2099-03-02T10:30:00"), "{due}");

    // Moving the stage: a reason is needed to lose it.
    let csrf = page.csrf().unwrap();
    let refused = rep
        .post(
            &format!("/app/leads/{pool_lead}/stage"),
            &[("_csrf", &csrf), ("stage", "lost")],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let moved = rep
        .post(
            &format!("/app/leads/{pool_lead}/stage"),
            &[("_csrf", &csrf), ("stage", "sql")],
        )
        .await?;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.html);
    let page = rep.get(&format!("/app/leads/{pool_lead}")).await?;
    assert!(page.html.contains("stage · sql"), "{}", page.html);

    // An opportunity records its deal; the page says what is missing.
    let lead_path = format!("/app/leads/{pool_lead}");
    let stage = format!("{lead_path}/stage");
    let missing = rep.post(&stage, &[("_csrf", &csrf), ("stage", "opportunity")]).await?;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.html.contains("a deal value is needed"), "{}", missing.html);
    let moved = rep
        .post(
            &stage,
            &[
                ("_csrf", &csrf),
                ("stage", "opportunity"),
                ("deal_value", "120,000"),
                ("expected_close", "2099-06-30"),
            ],
        )
        .await?;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.html);
    let page = rep.get(&lead_path).await?;
    assert!(page.html.contains("120000.00 · 2099-06-30"), "{}", page.html);

    // Tags and a task.
    let tagged = rep
        .post(&format!("{lead_path}/tags"), &[("_csrf", &csrf), ("tag", " 展会2026 ")])
        .await?;
    assert_eq!(tagged.status, StatusCode::SEE_OTHER);
    let bad = rep
        .post(&format!("{lead_path}/tags"), &[("_csrf", &csrf), ("tag", "   ")])
        .await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let tasked = rep
        .post(
            &format!("{lead_path}/tasks"),
            &[
                ("_csrf", &csrf),
                ("title", "发报价单 Send the quote"),
                ("due_at", "2099-06-01T09:00"),
            ],
        )
        .await?;
    assert_eq!(tasked.status, StatusCode::SEE_OTHER);
    let page = rep.get(&lead_path).await?;
    let tags = page.html.split("id=\"tags\"").nth(1).unwrap();
    assert!(tags.contains("展会2026"), "{}", page.html);
    assert!(page.html.contains("发报价单 Send the quote"));
    let removed = rep
        .post(
            &format!("{lead_path}/tags/remove"),
            &[("_csrf", &csrf), ("tag", "展会2026")],
        )
        .await?;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let page = rep.get(&lead_path).await?;
    assert!(
        page.html.contains("tagged") && page.html.contains("untagged"),
        "both on the timeline"
    );
    assert!(
        !page
            .html
            .split("id=\"tags\"")
            .nth(1)
            .unwrap()
            .split("</ul>")
            .next()
            .unwrap()
            .contains("展会2026")
    );
    Ok(())
}

async fn tags_are_added_and_removed_over_the_api(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let rep = &ws.person("rep_a").token;
    let lead = &ws.leads["a"];
    let path = format!("/api/v1/leads/{lead}/tags");
    let (status, body) = server
        .send_json(Method::POST, rep, &path, &json!({"tag": " vip "}))
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["tags"], json!(["vip"]));
    let (status, _) = server
        .send_json(Method::POST, rep, &path, &json!({"tag": "vip"}))
        .await?;
    assert_eq!(status, StatusCode::OK, "already tagged");
    let (status, problem) = server
        .send_json(Method::POST, rep, &path, &json!({"tag": "x".repeat(65)}))
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(leadhost_tests::pointers(&problem), ["/tag"]);
    let (status, _) = server
        .send_json(Method::POST, &ws.person("rep_b").token, &path, &json!({"tag": "mine"}))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "another rep's lead");
    let (_, filtered) = server.get_json(rep, "/api/v1/leads?tag=vip").await?;
    assert_eq!(filtered["leads"].as_array().unwrap().len(), 1);
    let (status, _) = server
        .send_json(Method::DELETE, rep, &format!("{path}/vip"), &json!({}))
        .await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server
        .send_json(Method::DELETE, rep, &format!("{path}/vip"), &json!({}))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, filtered) = server.get_json(rep, "/api/v1/leads?tag=vip").await?;
    assert_eq!(filtered["leads"].as_array().unwrap().len(), 0);
    Ok(())
}

async fn a_departing_reps_logins_end_and_their_open_leads_are_routed_again(backend: Backend) -> anyhow::Result<()> {
    let server = TestServer::start(backend).await?;
    let ws = Workspace::create(&server).await?;
    let admin = &ws.admin;
    let (rep_a, rep_a_token) = (&ws.person("rep_a").id, &ws.person("rep_a").token);
    let ok = |(status, body): (StatusCode, serde_json::Value)| {
        assert!(status.is_success(), "{status} {body}");
        body
    };
    // A colleague in a team with the leaving rep, and rules that route to it.
    let rep_c = ok(server
        .send_json(
            Method::POST,
            admin,
            "/api/v1/users",
            &json!({"email": "rep.c@acme.example", "role": "rep", "name": "Carol Rep"}),
        )
        .await?)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(server
        .send_json(
            Method::POST,
            admin,
            "/api/v1/teams",
            &json!({"name": "inside", "strategy": "round_robin",
                    "members": [{"email": "rep.a@acme.example"}, {"email": "rep.c@acme.example"}]}),
        )
        .await?);
    ok(server
        .send_json(
            Method::PUT,
            admin,
            "/api/v1/routing/rules",
            &json!({"rules": [{"id": "all", "assign": {"team": "inside"}}]}),
        )
        .await?);
    // rep_a's open lead, with a call they logged; and a closed one.
    let (open, closed) = (&ws.leads["a"], &ws.leads["pool"]);
    ok(server
        .send_json(
            Method::POST,
            rep_a_token,
            &format!("/api/v1/leads/{open}/activities"),
            &json!({"kind": "call", "outcome": "left a message"}),
        )
        .await?);
    ok(server
        .send_json(
            Method::POST,
            admin,
            &format!("/api/v1/leads/{closed}/assign"),
            &json!({"rep": "rep.a@acme.example"}),
        )
        .await?);
    ok(server
        .send_json(
            Method::POST,
            rep_a_token,
            &format!("/api/v1/leads/{closed}/stage"),
            &json!({"stage": "lost", "reason": "chose a competitor"}),
        )
        .await?);
    let mut browser = PageVisitor::new(&server);
    assert_eq!(
        browser.log_in(ws.tenant, "rep.a@acme.example", PASSWORD).await?.status,
        StatusCode::SEE_OTHER
    );

    let (status, problem) = server
        .send_json(
            Method::POST,
            &ws.person("manager_a").token,
            &format!("/api/v1/users/{rep_a}/deactivate"),
            &json!({}),
        )
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins: {problem}");
    let departed = ok(server
        .send_json(
            Method::POST,
            admin,
            &format!("/api/v1/users/{rep_a}/deactivate"),
            &json!({}),
        )
        .await?);
    assert_eq!(departed["departure"]["leads_rerouted"], 1, "{departed}");
    assert!(!departed["user"]["deactivated_at"].is_null());

    // Logins end at once: the token, the page session, the password.
    let (status, _) = server.get_json(rep_a_token, "/api/v1/leads").await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.get("/app/agenda").await?.status, StatusCode::SEE_OTHER);
    let mut again = PageVisitor::new(&server);
    assert_eq!(
        again.log_in(ws.tenant, "rep.a@acme.example", PASSWORD).await?.status,
        StatusCode::UNAUTHORIZED
    );

    // The open lead goes through routing without them: to their colleague.
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    let lead = loop {
        let (_, lead) = server.get_json(admin, &format!("/api/v1/leads/{open}")).await?;
        if lead["owner_id"] != rep_a.as_str() {
            break lead;
        }
        assert!(Instant::now() < deadline, "the open lead was not routed again: {lead}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(lead["owner_id"], rep_c.as_str(), "{lead}");
    assert!(
        !lead["follow_up_due_at"].is_null(),
        "a first-touch deadline for the new owner"
    );
    // Every record stays: the call they logged, the closed lead's owner.
    let activities = ok(server
        .get_json(admin, &format!("/api/v1/leads/{open}/activities"))
        .await?);
    assert_eq!(activities["activities"][0]["user_id"], rep_a.as_str());
    let (_, closed_lead) = server.get_json(admin, &format!("/api/v1/leads/{closed}")).await?;
    assert_eq!(closed_lead["owner_id"], rep_a.as_str());
    // Nobody gives them a lead by hand any more; leaving twice does nothing.
    let (status, problem) = server
        .send_json(
            Method::POST,
            admin,
            &format!("/api/v1/leads/{open}/assign"),
            &json!({"rep": "rep.a@acme.example"}),
        )
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let twice = ok(server
        .send_json(
            Method::POST,
            admin,
            &format!("/api/v1/users/{rep_a}/deactivate"),
            &json!({}),
        )
        .await?);
    assert_eq!(twice["departure"]["deactivated"], false);
    Ok(())
}

/// The demo (the server's embedded default) starts with people who can log
/// in (passwords made and printed once) and 90 days of leads made through
/// the real paths: claimed, worked, qualified, won and lost with deals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_starts_with_logins_and_ninety_days_of_worked_leads() -> anyhow::Result<()> {
    let server = TestServer::start_on(leadhost_tests::TestDatabase::embedded_default()?, &[]).await?;
    let printed = printed_until(&server, "an admin API token").await?;
    let made: usize = printed
        .iter()
        .find_map(|l| l.trim().strip_prefix("made ")?.split(' ').next()?.parse().ok())
        .expect("the demo says how many leads it made");
    assert!(made >= 150, "a few hundred leads: {made}");
    let password = printed
        .iter()
        .find(|l| l.contains("li.na@demo.example"))
        .and_then(|l| l.split_whitespace().last())
        .expect("the rep's password is printed")
        .to_owned();
    let mut rep = PageVisitor::new(&server);
    assert_eq!(
        rep.log_in("demo", "li.na@demo.example", &password).await?.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(rep.get("/app/agenda").await?.status, StatusCode::OK);
    let mine = rep.get("/app/leads").await?;
    assert!(mine.html.contains("class=\"lead\""), "the rep has leads: {}", mine.html);
    // The example plugins, built by the test command, are installed: the
    // scorers switched off (they would move the model's tiers), the others on.
    for name in [
        "bant-scorer (scorer), off",
        "profile-scorer (scorer), off",
        "region-router (router), on",
        "workload-router (router), on",
        "welcome-step (nurture-step), on",
    ] {
        assert!(
            printed.iter().any(|l| l.contains(&format!("example plugin {name}"))),
            "{printed:?}"
        );
    }

    let token = server
        .cli(&["token", "create", "--tenant", "demo", "--user", "admin@demo.example"])?
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let (_, plugins) = server.get_json(&token, "/api/v1/plugins").await?;
    let mut states: Vec<(String, bool, String)> = plugins["plugins"]
        .as_array()
        .unwrap_or_else(|| panic!("{plugins}"))
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap().to_owned();
            (
                name,
                p["enabled"].as_bool().unwrap(),
                p["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    states.sort();
    let ready = |name: &str, on: bool| (name.to_owned(), on, "ready".to_owned());
    assert_eq!(
        states,
        vec![
            ready("bant-scorer", false),
            ready("profile-scorer", false),
            ready("region-router", true),
            ready("welcome-step", true),
            ready("workload-router", true),
        ]
    );
    let (_, won) = server.get_json(&token, "/api/v1/leads?stage=won&limit=200").await?;
    let won = won["leads"].as_array().unwrap();
    assert!(
        !won.is_empty() && won.iter().all(|l| l["deal_value"].as_i64() > Some(0)),
        "{won:?}"
    );
    let two_months_ago = (time_now() - std::time::Duration::from_secs(60 * 86_400)).to_string();
    let (_, old) = server
        .get_json(&token, &format!("/api/v1/leads?created_to={two_months_ago}&limit=5"))
        .await?;
    assert!(
        !old["leads"].as_array().unwrap().is_empty(),
        "leads from two months ago and more: {old}"
    );

    // A restart makes nothing again and shows no password.
    let server = TestServer::start_on(server.stop(), &[]).await?;
    let printed = printed_until(&server, "an admin API token").await?;
    assert!(
        !printed
            .iter()
            .any(|l| l.contains(&password) || l.trim().starts_with("made ")),
        "{printed:?}"
    );
    assert!(
        printed.iter().any(|l| l.contains("printed at the first start")),
        "{printed:?}"
    );
    Ok(())
}

/// The server's standard output once a line containing `marker` is in it.
async fn printed_until(server: &TestServer, marker: &str) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let lines = server.stdout.lock().unwrap().clone();
        if lines.iter().any(|l| l.contains(marker)) {
            return Ok(lines);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the server did not print {marker:?}: {lines:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn time_now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

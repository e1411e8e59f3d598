//! A tenant as a sales team uses it, for the workspace tests (over HTTP and
//! in the browser): two teams, each with a manager and a rep, every user
//! with a password; an SLA policy; a lead owned by each rep and one in the
//! pool.

use std::collections::BTreeMap;

use anyhow::Context;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::TestServer;

/// Every workspace user's password (at least 10 characters).
pub const PASSWORD: &str = "correct horse battery";

/// The tenant's admin, who logs in with [`PASSWORD`] too.
pub const ADMIN_EMAIL: &str = "admin@acme.example";

pub struct Person {
    pub id: String,
    pub email: String,
    pub token: String,
}

pub struct Workspace {
    pub tenant: &'static str,
    /// The admin's API token.
    pub admin: String,
    /// By short name: `rep_a`, `rep_b`, `manager_a`, `manager_b`.
    pub people: BTreeMap<&'static str, Person>,
    /// By short name: `a` (rep_a's), `b` (rep_b's), `pool`.
    pub leads: BTreeMap<&'static str, String>,
}

impl Workspace {
    pub fn person(&self, name: &str) -> &Person {
        &self.people[name]
    }

    pub async fn create(server: &TestServer) -> anyhow::Result<Workspace> {
        let tenant = "acme";
        let admin = server.create_tenant(tenant).await?;
        server
            .create_form_from_file(&admin, "website-demo-request.json")
            .await?;
        let ok = |(status, body): (StatusCode, Value), what: &str| -> anyhow::Result<Value> {
            anyhow::ensure!(status.is_success(), "{what}: {status} {body}");
            Ok(body)
        };
        ok(
            server
                .send_json(
                    Method::PUT,
                    &admin,
                    "/api/v1/sla/policy",
                    &json!({"first_touch_minutes": {"hot": 30, "warm": 240, "cold": 1440},
                            "warn_before_minutes": 10, "follow_up_hours": 48}),
                )
                .await?,
            "SLA policy",
        )?;
        let mut people = BTreeMap::new();
        for (name, email, role, display) in [
            ("rep_a", "rep.a@acme.example", "rep", "王芳 Wang Fang"),
            ("rep_b", "rep.b@acme.example", "rep", "Bob Rep"),
            ("manager_a", "manager.a@acme.example", "manager", "Alice Manager"),
            ("manager_b", "manager.b@acme.example", "manager", "Ben Manager"),
        ] {
            let user = ok(
                server
                    .send_json(
                        Method::POST,
                        &admin,
                        "/api/v1/users",
                        &json!({"email": email, "role": role, "name": display, "password": PASSWORD}),
                    )
                    .await?,
                "user",
            )?;
            let issued = ok(
                server
                    .send_json(Method::POST, &admin, "/api/v1/tokens", &json!({"user": email}))
                    .await?,
                "token",
            )?;
            people.insert(
                name,
                Person {
                    id: user["id"].as_str().context("user id")?.to_owned(),
                    email: email.to_owned(),
                    token: issued["token"].as_str().context("token")?.to_owned(),
                },
            );
        }
        for (team, manager, rep) in [
            ("east", "manager.a@acme.example", "rep.a@acme.example"),
            ("west", "manager.b@acme.example", "rep.b@acme.example"),
        ] {
            ok(
                server
                    .send_json(
                        Method::POST,
                        &admin,
                        "/api/v1/teams",
                        &json!({"name": team, "strategy": "round_robin", "manager": manager,
                                "members": [{"email": rep}]}),
                    )
                    .await?,
                "team",
            )?;
        }
        let mut leads = BTreeMap::new();
        for (name, email, lead_name, rep) in [
            ("a", "zhang.wei@example.cn", "张伟", Some("rep.a@acme.example")),
            ("b", "li.na@example.cn", "李娜", Some("rep.b@acme.example")),
            ("pool", "chen.jing@example.cn", "陈静", None),
        ] {
            let lead = json!({
                "name": lead_name, "email": email, "company": "华东制造", "province": "zhejiang",
                "company_size": "200-999", "budget": "200k-1m", "authority": "decision_maker",
                "timeline": "this_quarter", "consent": true, "need": "CRM for 40 reps"
            });
            let created = ok(server.submit(tenant, "website-demo-request", &lead).await?, "lead")?;
            let id = created["id"].as_str().context("lead id")?.to_owned();
            // Scored and routed (to the pool: there are no rules) before a
            // rep is given it by hand.
            server.processed_lead(&admin, &id).await?;
            if let Some(rep) = rep {
                ok(
                    server
                        .send_json(
                            Method::POST,
                            &admin,
                            &format!("/api/v1/leads/{id}/assign"),
                            &json!({"rep": rep}),
                        )
                        .await?,
                    "assign",
                )?;
            }
            leads.insert(name, id);
        }
        // The admin logs in to the pages too.
        let me = ok(server.get_json(&admin, "/api/v1/me").await?, "me")?;
        let admin_id = me["user_id"].as_str().context("the admin's id")?;
        ok(
            server
                .send_json(
                    Method::PUT,
                    &admin,
                    &format!("/api/v1/users/{admin_id}/password"),
                    &json!({"password": PASSWORD}),
                )
                .await?,
            "admin password",
        )?;
        Ok(Workspace {
            tenant,
            admin,
            people,
            leads,
        })
    }
}

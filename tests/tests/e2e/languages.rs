//! Plugins in the languages integrators use. The JavaScript and Python
//! twins of bant-scorer (plugins/examples/bant-scorer-js, -py), built by the
//! test command with jco and componentize-py, give the Rust scorer's parts
//! on a table of awkward leads; they are uploaded and score leads on both
//! backends; a large upload compiles in the background; and a plugin using
//! `wasi:http` is accepted and refused every request.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use leadhost_tests::{
    Backend, StatusCode, TestServer, leadhost_bin, on_both_backends, plugin_wasm, shared_plugin_cache,
};
use serde_json::{Value, json};

use crate::intake::demo_server;
use crate::plugins::{events, refused_and_unreached, submit_new};

on_both_backends!(
    javascript_and_python_scorers_score_leads,
    a_large_upload_compiles_in_the_background,
    a_plugin_sending_http_is_refused_and_nothing_is_reached,
);

/// The builds of the BANT scorer, by language and engine.
const BUILDS: [(&str, &str); 4] = [
    ("Rust", "bant_scorer"),
    ("JavaScript (QuickJS)", "bant_scorer_js"),
    ("JavaScript (StarlingMonkey)", "bant_scorer_js_sm"),
    ("Python", "bant_scorer_py"),
];

/// Leads (as bare form fields) and configs where the languages' JSON, text
/// and number handling could part: missing and blank answers, Chinese
/// values, padding, case, numbers and numbers in strings, other types, and
/// configs the scorer must refuse.
fn parity_table() -> Vec<(&'static str, Value, Value)> {
    let overrides = json!({
        "budget": {">1m": 40, "unknown": -5},
        "need": {"min_length": 3, "points": 8},
        "field_names": {"timeline": "when"}
    });
    vec![
        (
            "every answer, default config",
            json!({"budget": "200k-1m", "authority": "decision_maker", "timeline": "this_quarter",
                   "need": "We lose track of follow-ups across five offices."}),
            json!({}),
        ),
        ("no fields at all", json!({}), json!({})),
        ("only a short need", json!({"need": "CRM"}), json!({})),
        (
            "Chinese answers and a Chinese need",
            json!({"budget": "一百万以上", "authority": "决策者", "timeline": "本季度",
                   "need": "我们需要一个能自动分配线索的系统，覆盖华东五个区域办公室，并且跟进提醒"}),
            json!({}),
        ),
        (
            "numbers, and numbers in strings",
            json!({"budget": 500000, "need": 12345, "authority": "20", "timeline": "this_month"}),
            json!({}),
        ),
        (
            "case and padding",
            json!({"budget": " >1M ", "authority": "DECISION_MAKER", "timeline": "\u{3000}This_Year\u{3000}",
                   "need": "  CRM for 5 offices  "}),
            json!({}),
        ),
        (
            "other JSON types",
            json!({"budget": ["200k-1m"], "authority": true, "timeline": null, "need": {"text": "x"}}),
            json!({}),
        ),
        (
            "emoji and a blank answer",
            json!({"need": "需要 CRM 🚀🚀 with a long enough description", "budget": "   "}),
            json!({}),
        ),
        (
            "config overrides merged over the defaults",
            json!({"budget": "unknown", "need": "CRM", "when": "this_year", "timeline": "this_month"}),
            overrides,
        ),
        (
            "config with an unknown key",
            json!({"budget": ">1m"}),
            json!({"budjet": {">1m": 40}}),
        ),
        (
            "config with points in a string",
            json!({"budget": ">1m"}),
            json!({"budget": {">1m": "40"}}),
        ),
        ("config that is not an object", json!({"budget": ">1m"}), json!([1, 2])),
        (
            "config with a null table",
            json!({"budget": ">1m"}),
            json!({"authority": null}),
        ),
    ]
}

/// `leadhost plugin run` on one lead: the report, whatever the exit code.
fn plugin_run(wasm: &Path, lead: &Path, config: &Path) -> Value {
    let out = Command::new(leadhost_bin())
        .args(["plugin", "run"])
        .arg(wasm)
        .arg("--lead")
        .arg(lead)
        .arg("--config")
        .arg(config)
        .env("LEADHOST_PLUGIN_CACHE", shared_plugin_cache())
        .output()
        .expect("running leadhost plugin run");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no report: {}", String::from_utf8_lossy(&out.stderr)))
}

/// What must agree between the builds: the parts, or that the call failed.
fn outcome(report: &Value) -> Value {
    match report.get("error") {
        Some(_) => json!("an error"),
        None => report["result"].clone(),
    }
}

#[test]
fn the_rust_javascript_and_python_scorers_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = String::from("| lead | points |\n|---|---|\n");
    let mut disagreements = Vec::new();
    for (n, (name, fields, config)) in parity_table().into_iter().enumerate() {
        let lead = dir.path().join(format!("lead-{n}.json"));
        let config_file = dir.path().join(format!("config-{n}.json"));
        std::fs::write(&lead, fields.to_string()).unwrap();
        std::fs::write(&config_file, config.to_string()).unwrap();
        let outcomes: Vec<(&str, Value)> = BUILDS
            .iter()
            .map(|(language, wasm)| (*language, outcome(&plugin_run(&plugin_wasm(wasm), &lead, &config_file))))
            .collect();
        let (_, rust) = &outcomes[0];
        for (language, other) in &outcomes[1..] {
            if other != rust {
                disagreements.push(format!("{name}: {language} gave {other}, Rust {rust}"));
            }
        }
        let points = rust.get("points").map_or_else(|| rust.to_string(), Value::to_string);
        table.push_str(&format!("| {name} | {points} |\n"));
    }
    println!("{} builds agree on:\n{table}", BUILDS.len());
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    assert!(parity_table().len() >= 10);
}

fn sample_lead() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples/sample-lead.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `POST /plugins/{name}/run` on the sample lead.
async fn trial_run(server: &TestServer, token: &str, name: &str) -> anyhow::Result<(StatusCode, Value)> {
    let path = format!("/api/v1/plugins/{name}/run");
    let body = json!({ "lead": sample_lead() });
    server.send_json(reqwest::Method::POST, token, &path, &body).await
}

/// Waits until the plugin is no longer compiling; returns it.
async fn settled(server: &TestServer, token: &str, name: &str) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (status, plugin) = server.get_json(token, &format!("/api/v1/plugins/{name}")).await?;
        anyhow::ensure!(status == StatusCode::OK, "{status} {plugin}");
        if plugin["status"] != "compiling" {
            return Ok(plugin);
        }
        anyhow::ensure!(Instant::now() < deadline, "{name} still compiling: {plugin}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Uploads a built component; returns the upload's status and the plugin
/// once it has settled.
async fn upload(server: &TestServer, token: &str, name: &str, wasm: &str) -> anyhow::Result<(StatusCode, Value)> {
    let bytes = std::fs::read(plugin_wasm(wasm))?;
    let (status, body) = server.upload_plugin(token, name, "scorer", &bytes, json!({})).await?;
    anyhow::ensure!(
        status == StatusCode::CREATED || status == StatusCode::ACCEPTED,
        "{wasm}: {status} {body}"
    );
    Ok((status, settled(server, token, name).await?))
}

fn parts_from<'a>(lead: &'a Value, source: &str) -> Vec<&'a Value> {
    lead["score_parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["source"] == source)
        .collect()
}

async fn javascript_and_python_scorers_score_leads(backend: Backend) -> anyhow::Result<()> {
    let (server, token) = demo_server(backend).await?;
    for (name, wasm) in [("bant-js", "bant_scorer_js"), ("bant-py", "bant_scorer_py")] {
        let (_, plugin) = upload(&server, &token, name, wasm).await?;
        assert_eq!(plugin["status"], "ready", "{plugin}");
    }
    let id = submit_new(&server, "acme", "polyglot@example.com").await?;
    let lead = server.processed_lead(&token, &id).await?;
    // demo_lead: budget 200k-1m (+20), decision maker (+20), this quarter (+15).
    for source in ["bant-js", "bant-py"] {
        let parts = parts_from(&lead, source);
        let reasons: Vec<&str> = parts.iter().map(|p| p["reason"].as_str().unwrap()).collect();
        assert_eq!(
            reasons,
            [
                "Budget 200k-1m: +20",
                "Authority decision maker: +20",
                "Timeline this quarter: +15"
            ],
            "{source}: {lead}"
        );
    }
    assert!(events(&lead, "plugin_failed").is_empty(), "{lead}");
    Ok(())
}

/// A large upload is stored `compiling` and answered at once; a restart
/// before its compile ends queues it again; it becomes `ready` and scores
/// leads, or `failed` with the reason.
async fn a_large_upload_compiles_in_the_background(backend: Backend) -> anyhow::Result<()> {
    let db = leadhost_tests::TestDatabase::create(backend).await?;
    // Its own, empty, compile cache: the Python runtime is compiled here.
    let cache = db.dir().join("own-plugin-cache");
    let server = TestServer::start_on(db, &["--plugin-cache", cache.to_str().unwrap()]).await?;
    let token = server.create_tenant("acme").await?;
    server
        .create_form_from_file(&token, "website-demo-request.json")
        .await?;
    let python = std::fs::read(plugin_wasm("bant_scorer_py"))?;

    // Declared as a router: accepted for compiling, then failed with why.
    let (status, body) = server
        .upload_plugin(&token, "wrong", "router", &python, json!({}))
        .await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "compiling");
    let (status, body) = server
        .upload_plugin(&token, "bant-py", "scorer", &python, json!({}))
        .await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "compiling");
    // Queued behind the first compile of the same runtime, so still waiting.
    let (status, _) = trial_run(&server, &token, "bant-py").await?;
    assert_eq!(status, StatusCode::CONFLICT, "a compiling plugin does not run yet");

    // A restart meanwhile: what was still compiling is queued again.
    let db = server.stop();
    let server = TestServer::start_on(db, &["--plugin-cache", cache.to_str().unwrap()]).await?;
    let wrong = settled(&server, &token, "wrong").await?;
    assert_eq!(wrong["status"], "failed", "{wrong}");
    assert!(
        wrong["compile_error"].as_str().unwrap().contains("not a router"),
        "{wrong}"
    );
    let ready = settled(&server, &token, "bant-py").await?;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["compile_error"], Value::Null);
    let (status, trial) = trial_run(&server, &token, "bant-py").await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(trial["result"]["points"], 70, "{trial}");

    let id = submit_new(&server, "acme", "compiled@example.com").await?;
    let lead = server.processed_lead(&token, &id).await?;
    assert_eq!(parts_from(&lead, "bant-py").len(), 3, "{lead}");
    assert!(parts_from(&lead, "wrong").is_empty());
    Ok(())
}

async fn a_plugin_sending_http_is_refused_and_nothing_is_reached(backend: Backend) -> anyhow::Result<()> {
    refused_and_unreached(backend, "hostile_http", |_| "HttpRequestDenied".into()).await?;
    Ok(())
}

//! Drives the real `leadhost` binary: each test gets its own server on an
//! ephemeral port with its own database (a fresh SQLite file, or a fresh
//! PostgreSQL database), and talks to it over HTTP.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

pub use reqwest::StatusCode;

pub mod browser;
pub mod bulk;
pub mod pages;
pub mod smtp;
pub mod smtp_counter;
pub mod workspace;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The benchmarks' `--backend` value: `sqlite`, `postgres` or `both`.
    pub fn parse_list(raw: &str) -> anyhow::Result<Vec<Backend>> {
        Ok(match raw {
            "sqlite" => vec![Backend::Sqlite],
            "postgres" => vec![Backend::Postgres],
            "both" => vec![Backend::Sqlite, Backend::Postgres],
            other => bail!("unknown backend {other:?}: use sqlite, postgres or both"),
        })
    }
}

/// How long [`eventually`] waits for the server's background work.
pub const EVENTUALLY: Duration = Duration::from_secs(30);

/// Polls `check` until it gives a value (with a deadline: the server's
/// sweeper runs jobs in the background, so a result the test waits for,
/// like an email's `sent`, lands a moment after the SMTP exchange).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = std::time::Instant::now() + EVENTUALLY;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The PostgreSQL server the tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("LEADHOST_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The server binary built next to the test binary (target/<profile>/leadhost).
pub fn leadhost_bin() -> PathBuf {
    if let Ok(path) = std::env::var("LEADHOST_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("leadhost");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p leadhost` first",
        bin.display()
    );
    bin
}

/// The compile cache every test server and `leadhost plugin` run shares
/// (target/plugin-cache, keyed by content hash): a 18 MB Python component
/// is compiled once per test run, not once per server.
pub fn shared_plugin_cache() -> PathBuf {
    let target = leadhost_bin()
        .parent()
        .and_then(|profile| profile.parent())
        .expect("the binary sits in target/<profile>/")
        .to_path_buf();
    target.join("plugin-cache")
}

/// A database for one test, removed when dropped.
pub struct TestDatabase {
    pub url: String,
    _dir: tempfile::TempDir,
    postgres_name: Option<String>,
    /// The server's embedded default: SQLite under `data/` of its working
    /// folder (this one), and the demo tenant.
    embedded: bool,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        match backend {
            Backend::Sqlite => Ok(Self {
                url: format!("sqlite://{}", dir.path().join("leadhost.db").display()),
                _dir: dir,
                postgres_name: None,
                embedded: false,
            }),
            Backend::Postgres => {
                use sqlx::Connection;
                let admin = postgres_admin_url();
                let name = format!("lh_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .with_context(|| format!("connecting to PostgreSQL at {admin}"))?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await?;
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Ok(Self {
                    url: format!("{base}/{name}"),
                    _dir: dir,
                    postgres_name: Some(name),
                    embedded: false,
                })
            }
        }
    }

    /// What `leadhost serve` uses without `--database-url`, in a folder of
    /// its own: the SQLite file `data/leadhost.db` there, and the demo tenant.
    pub fn embedded_default() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        Ok(Self {
            url: format!("sqlite://{}", dir.path().join("data/leadhost.db").display()),
            _dir: dir,
            postgres_name: None,
            embedded: true,
        })
    }

    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs outside any runtime guarantee: use a small one of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&postgres_admin_url()).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

pub const OPERATOR_TOKEN: &str = "test-operator-token";

/// A running `leadhost serve`, killed when dropped.
pub struct TestServer {
    pub base: String,
    db: Option<TestDatabase>,
    pub http: reqwest::Client,
    child: Child,
    pub stdout: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> anyhow::Result<Self> {
        Self::start_with(backend, &[]).await
    }

    pub async fn start_with(backend: Backend, extra_args: &[&str]) -> anyhow::Result<Self> {
        let db = TestDatabase::create(backend).await?;
        Self::start_on(db, extra_args).await
    }

    pub async fn start_on(db: TestDatabase, extra_args: &[&str]) -> anyhow::Result<Self> {
        let filter = std::env::var("LEADHOST_LOG").unwrap_or_else(|_| "warn".into());
        Self::start_logging_on(db, extra_args, &filter).await
    }

    /// A server whose log (see [`TestServer::log`]) keeps what `filter`
    /// (a `LEADHOST_LOG` value) lets through.
    pub async fn start_logging(backend: Backend, filter: &str) -> anyhow::Result<Self> {
        let db = TestDatabase::create(backend).await?;
        Self::start_logging_on(db, &[], filter).await
    }

    async fn start_logging_on(db: TestDatabase, extra_args: &[&str], filter: &str) -> anyhow::Result<Self> {
        let log = std::fs::File::create(db.dir().join("server.log"))?;
        let own_cache = extra_args.contains(&"--plugin-cache");
        let database: Vec<String> = match db.embedded {
            // The demo: no URL, the examples of this repository.
            true => {
                let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
                vec!["--examples-dir".into(), examples.display().to_string()]
            }
            false => vec!["--database-url".into(), db.url.clone()],
        };
        let mut command = Command::new(leadhost_bin());
        if db.embedded {
            command.current_dir(db.dir());
        }
        let mut child = command
            .args(["serve", "--bind", "127.0.0.1:0", "--operator-token", OPERATOR_TOKEN])
            .args(&database)
            .args(extra_args)
            .args(if own_cache {
                vec![]
            } else {
                vec!["--plugin-cache".into(), shared_plugin_cache()]
            })
            .env("LEADHOST_LOG", filter)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting leadhost")?;
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("leadhost listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                let log = std::fs::read_to_string(db.dir().join("server.log")).unwrap_or_default();
                bail!("leadhost did not start; its log:\n{log}");
            }
        };
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        Ok(Self {
            base,
            db: Some(db),
            http,
            child,
            stdout: lines,
        })
    }

    /// What the server has logged so far (its standard error).
    pub fn log(&self) -> String {
        let dir = self.db.as_ref().expect("a running server has its database").dir();
        std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server and hands its database back, e.g. to restart on it.
    pub fn stop(mut self) -> TestDatabase {
        self.kill();
        self.db.take().expect("database present until stop")
    }

    pub fn db(&self) -> &TestDatabase {
        self.db.as_ref().expect("database present until stop")
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Runs a CLI command of the same binary against this server's database.
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.cli_command(args).output()?;
        if !out.status.success() {
            bail!("leadhost {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    /// A CLI command of the same binary against this server's database,
    /// for the caller to run (e.g. on another thread, beside requests).
    pub fn cli_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(leadhost_bin());
        command
            .args(args)
            .args(["--database-url", &self.db().url])
            .env("LEADHOST_PLUGIN_CACHE", shared_plugin_cache());
        command
    }

    /// A new tenant over the operator API; returns its admin token.
    pub async fn create_tenant(&self, slug: &str) -> anyhow::Result<String> {
        let res = self
            .http
            .post(self.url("/api/v1/tenants"))
            .bearer_auth(OPERATOR_TOKEN)
            .json(
                &json!({"slug": slug, "name": format!("Tenant {slug}"), "default_region": "CN",
                          "admin_email": format!("admin@{slug}.example")}),
            )
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await?;
        if status != StatusCode::CREATED {
            bail!("creating tenant {slug}: {status} {body}");
        }
        Ok(body["admin_token"].as_str().context("admin_token")?.to_owned())
    }

    /// Creates a form from one of the files in forms/.
    pub async fn create_form_from_file(&self, token: &str, file: &str) -> anyhow::Result<Value> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../forms").join(file);
        let definition: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        let res = self
            .http
            .post(self.url("/api/v1/forms"))
            .bearer_auth(token)
            .json(&definition)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await?;
        if status != StatusCode::CREATED {
            bail!("creating form {file}: {status} {body}");
        }
        Ok(body)
    }

    /// POSTs JSON to the public submission route.
    pub async fn submit(&self, tenant: &str, form: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
        let res = self
            .http
            .post(self.url(&format!("/f/{tenant}/{form}")))
            .json(body)
            .send()
            .await?;
        let status = res.status();
        Ok((status, res.json().await?))
    }

    /// Sends `body` as JSON with `method` to the API path; the status and
    /// the answer (as JSON, or as a string when it is not JSON).
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let res = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await?;
        let status = res.status();
        let text = res.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    pub async fn get_json(&self, token: &str, path: &str) -> anyhow::Result<(StatusCode, Value)> {
        let res = self.http.get(self.url(path)).bearer_auth(token).send().await?;
        let status = res.status();
        let text = res.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }
}

/// A component built from plugins/ by the test command, e.g. `bant_scorer`.
pub fn plugin_wasm(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/target/wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run `bash tests/run.sh` (it builds plugins/)",
        path.display()
    );
    path
}

impl TestServer {
    /// Uploads a component over the API; returns the status and body.
    pub async fn upload_plugin(
        &self,
        token: &str,
        name: &str,
        world: &str,
        bytes: &[u8],
        config: Value,
    ) -> anyhow::Result<(StatusCode, Value)> {
        use base64::Engine;
        let component = base64::engine::general_purpose::STANDARD.encode(bytes);
        let body = json!({"name": name, "world": world, "config": config, "component": component});
        let res = self
            .http
            .post(self.url("/api/v1/plugins"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        Ok((status, res.json().await?))
    }

    /// Uploads a plugin built from plugins/ and expects it to be accepted.
    pub async fn install_plugin(
        &self,
        token: &str,
        name: &str,
        world: &str,
        wasm: &str,
        config: Value,
    ) -> anyhow::Result<()> {
        let bytes = std::fs::read(plugin_wasm(wasm))?;
        let (status, body) = self.upload_plugin(token, name, world, &bytes, config).await?;
        if status != StatusCode::CREATED {
            bail!("uploading {wasm} as {name}: {status} {body}");
        }
        Ok(())
    }

    /// The example bant-scorer (as `bant`) and region-router (as `regions`).
    pub async fn install_bant_and_regions(&self, token: &str) -> anyhow::Result<()> {
        self.install_plugin(token, "bant", "scorer", "bant_scorer", json!({}))
            .await?;
        self.install_plugin(token, "regions", "router", "region_router", json!({}))
            .await
    }

    /// Waits until the lead's score-and-route step has finished (polling with
    /// a deadline: the step runs in the background after the 201).
    pub async fn processed_lead(&self, token: &str, id: &str) -> anyhow::Result<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (status, lead) = self.get_json(token, &format!("/api/v1/leads/{id}")).await?;
            if status == StatusCode::OK && !lead["processed_at"].is_null() {
                return Ok(lead);
            }
            if std::time::Instant::now() > deadline {
                bail!("lead {id} was not processed in time: {status} {lead}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The pointers of a problem+json `errors` list.
pub fn pointers(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["pointer"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Defines each listed test twice: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    super::$name($crate::Backend::Postgres).await
                }
            )*
        }
    };
}

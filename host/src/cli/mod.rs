//! The `leadhost` command line: the server and the admin commands that work
//! on the database directly (no server needed).

mod dashboard;
mod scoring;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::app::AppState;
use crate::config::{DEFAULT_SQLITE_FILE, FileSettings, Settings};
use crate::domain::{NormalizedEmail, Region, Role, TenantSlug};
use crate::storage::{SqliteSync, Store};
use crate::tenants::{NewTenant, add_user, create_tenant, issue_operator_token, issue_token};

#[derive(Parser)]
#[command(name = "leadhost", version, about = "Self-hosted lead management server")]
pub struct Cli {
    /// sqlite://PATH or postgres://USER@HOST/DB. Default: the embedded SQLite
    /// file data/leadhost.db (and, for `serve`, the demo tenant).
    #[arg(long, global = true, env = "LEADHOST_DATABASE_URL")]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage a tenant's users.
    #[command(subcommand)]
    User(UserCommand),
    /// Make API tokens (shown once, stored hashed).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check, run and upload plugins (WebAssembly components).
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Check and set a tenant's scoring model; re-score its leads.
    #[command(subcommand)]
    Scoring(scoring::ScoringCommand),
    /// Count the dashboard's rollups again.
    #[command(subcommand)]
    Dashboard(dashboard::DashboardCommand),
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Upload a component to a tenant (checked against its world first).
    Upload {
        file: PathBuf,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// scorer, router or nurture-step.
        #[arg(long)]
        world: String,
        /// The plugin's configuration as a JSON file (default `{}`).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Replace the plugin of that name if it exists.
        #[arg(long)]
        replace: bool,
    },
    /// Which world a component implements, and whether it type-checks (no server needed).
    Check {
        file: PathBuf,
        #[command(flatten)]
        cache: PluginCacheArg,
    },
    /// Call a component once on a lead: result, logs, fuel and time used (no server needed).
    Run {
        file: PathBuf,
        /// The lead as JSON (see plugins/examples/sample-lead.json).
        #[arg(long)]
        lead: PathBuf,
        /// The plugin's configuration as JSON (default `{}`).
        #[arg(long)]
        config: Option<PathBuf>,
        /// scorer, router or nurture-step (default: what the component implements).
        #[arg(long)]
        world: Option<String>,
        /// Candidate reps for a router, as a JSON array.
        #[arg(long)]
        candidates: Option<PathBuf>,
        /// CPU limit in fuel (default 200000000).
        #[arg(long)]
        fuel: Option<u64>,
        #[command(flatten)]
        cache: PluginCacheArg,
    },
    /// Start a plugin project: source, build script, README, a sample lead
    /// and the result expected on it.
    New {
        /// The project's name, also the plugin's (lower case, digits and `-`).
        name: String,
        #[arg(long, value_enum)]
        lang: crate::plugins::scaffold::Language,
        /// scorer, router or nurture-step.
        #[arg(long)]
        world: String,
        /// The folder to create the project in (default: the current one).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Build a project made by `plugin new`, run it on its sample lead and
    /// compare the result with its expected.json.
    Test {
        /// The project's folder (default: the current one).
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[command(flatten)]
        cache: PluginCacheArg,
    },
}

/// Where `plugin check`, `run` and `test` keep compiled components.
#[derive(clap::Args)]
struct PluginCacheArg {
    /// Folder for compiled plugins, shared with a server's `--plugin-cache`
    /// if you like (default: ~/.cache/leadhost/plugins).
    #[arg(long, env = "LEADHOST_PLUGIN_CACHE")]
    plugin_cache: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, env = "LEADHOST_BIND")]
    bind: Option<SocketAddr>,
    /// A TOML file with any of: bind, database_url, sqlite_sync, body_limit,
    /// operator_token, examples_dir, plugin_cache_dir, smtp_url, public_url.
    #[arg(long, env = "LEADHOST_CONFIG")]
    config: Option<PathBuf>,
    /// Largest request body in bytes (default 65536).
    #[arg(long, env = "LEADHOST_BODY_LIMIT")]
    body_limit: Option<usize>,
    /// SQLite durability: normal (survives a killed process) or full (also power loss).
    #[arg(long, env = "LEADHOST_SQLITE_SYNC")]
    sqlite_sync: Option<SqliteSync>,
    /// A token that may create tenants over the API.
    #[arg(long, env = "LEADHOST_OPERATOR_TOKEN", hide_env_values = true)]
    operator_token: Option<String>,
    /// Folder holding demo/tenant.json (default: examples).
    #[arg(long, env = "LEADHOST_EXAMPLES_DIR")]
    examples_dir: Option<PathBuf>,
    /// Folder for compiled plugins, kept across restarts (default: data/plugin-cache).
    #[arg(long, env = "LEADHOST_PLUGIN_CACHE")]
    plugin_cache: Option<PathBuf>,
    /// The SMTP relay for email: smtp://host:25 (plain, a local relay),
    /// smtp://user:pass@host:587?tls=required (STARTTLS) or
    /// smtps://user:pass@host:465 (TLS). Without it, emails wait in the outbox.
    #[arg(long, env = "LEADHOST_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// The address people reach this server at (https://leads.example.com),
    /// for the links in emails; default: http:// and the bound address.
    #[arg(long, env = "LEADHOST_PUBLIC_URL")]
    public_url: Option<String>,
    /// Run on a manual clock that moves only when the operator advances it
    /// (`POST /api/v1/clock`), kept in the database across restarts. For
    /// tests and demos of deadlines and decay; never for real use.
    #[arg(long)]
    manual_clock: bool,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and its first admin; prints the admin's API token last.
    Create {
        slug: String,
        #[arg(long)]
        name: Option<String>,
        /// Region for phone numbers without a country code (ISO 3166, e.g. CN).
        #[arg(long, default_value = "CN")]
        region: String,
        #[arg(long)]
        admin_email: Option<String>,
    },
    /// List tenants.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Set a user's password for the page logins (their sessions end): read
    /// from standard input, or made and printed when not given.
    Password {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// Read the password from standard input instead of making one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Add a user to a tenant.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// admin, manager, rep or integrator.
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: Option<String>,
        /// Read a password for the page logins from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Regions a rep covers (repeatable), e.g. --region zhejiang.
        #[arg(long = "region")]
        regions: Vec<String>,
        /// Industries or products a rep specialises in (repeatable).
        #[arg(long = "specialty")]
        specialties: Vec<String>,
        /// Most open leads the rep should hold; 0: no limit.
        #[arg(long, default_value_t = 0)]
        capacity: u32,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token for a tenant's user; prints it last.
    Create {
        #[arg(long)]
        tenant: String,
        /// The user's email.
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// Make an operator token (creates tenants over the API); prints it last.
    Operator {
        #[arg(long, default_value = "operator")]
        label: String,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(cli.database_url, args).await,
        Command::Plugin(PluginCommand::Upload {
            file,
            tenant,
            name,
            world,
            config,
            replace,
        }) => {
            let store = open_store(cli.database_url.as_deref(), SqliteSync::default()).await?;
            upload_plugin(&store, &file, &tenant, &name, &world, config.as_deref(), replace).await
        }
        Command::Plugin(command) => tokio::task::spawn_blocking(move || plugin_command(command)).await?,
        Command::Scoring(scoring::ScoringCommand::Check { file }) => scoring::check(&file),
        Command::Scoring(command) => {
            let store = open_store(cli.database_url.as_deref(), SqliteSync::default()).await?;
            scoring::run(store, command).await
        }
        Command::Dashboard(command) => {
            let store = open_store(cli.database_url.as_deref(), SqliteSync::default()).await?;
            dashboard::run(&store, command).await
        }
        command => {
            let store = open_store(cli.database_url.as_deref(), SqliteSync::default()).await?;
            admin_command(&store, command).await
        }
    }
}

fn default_database_url() -> String {
    format!("sqlite://{DEFAULT_SQLITE_FILE}")
}

/// Opens the store, creating the SQLite file's folder when needed.
async fn open_store(url: Option<&str>, sync: SqliteSync) -> anyhow::Result<Store> {
    let url = url.map(str::to_owned).unwrap_or_else(default_database_url);
    if let Some(path) = url.strip_prefix("sqlite://").map(|p| p.split('?').next().unwrap_or(p))
        && let Some(dir) = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Store::open(&url, sync)
        .await
        .with_context(|| format!("opening the database {}", redact(&url)))
}

/// Hides a password in a database URL before it is printed.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if url[scheme + 3..at].contains(':') => {
            let user_end = url[scheme + 3..at].find(':').map(|i| scheme + 3 + i).unwrap_or(at);
            format!("{}:***{}", &url[..user_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

async fn serve(database_url: Option<String>, args: ServeArgs) -> anyhow::Result<()> {
    let file = match &args.config {
        Some(path) => FileSettings::load(path)?,
        None => FileSettings::default(),
    };
    let settings = Settings {
        bind: args
            .bind
            .or(file.bind)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
        database_url: database_url.or(file.database_url),
        sqlite_sync: args.sqlite_sync.or(file.sqlite_sync).unwrap_or_default(),
        body_limit: args.body_limit.or(file.body_limit).unwrap_or(64 * 1024),
        operator_token: args.operator_token.or(file.operator_token),
        examples_dir: args
            .examples_dir
            .or(file.examples_dir)
            .unwrap_or_else(|| PathBuf::from("examples")),
        plugin_cache_dir: args
            .plugin_cache
            .or(file.plugin_cache_dir)
            .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_PLUGIN_CACHE)),
        smtp_url: args.smtp_url.or(file.smtp_url),
        public_url: args.public_url.or(file.public_url),
    };
    let store = open_store(Some(&settings.database_url()), settings.sqlite_sync).await?;
    if args.manual_clock {
        let now = match store.manual_clock().await? {
            Some(kept) => kept,
            None => {
                let now = crate::clock::Timestamp::now();
                store.save_manual_clock(now).await?;
                now
            }
        };
        crate::clock::set_manual(now);
        tracing::warn!(%now, "running on a manual clock: time moves only through POST /api/v1/clock");
    }
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("binding {}", settings.bind))?;
    let addr = listener.local_addr()?;
    let mut settings = settings;
    settings.public_url = Some(match settings.public_url.take() {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{addr}"),
    });
    let smtp = match &settings.smtp_url {
        Some(url) => Some(crate::email::smtp::SmtpRelay::from_url(url).context("--smtp-url")?),
        None => None,
    };
    let plugins = crate::plugins::PluginHost::new(Some(settings.plugin_cache_dir.clone()))?;
    let mut state = AppState::new(store, settings.clone(), plugins);
    state.smtp = smtp.map(std::sync::Arc::new);
    state.plugins.start_compiler(state.store.clone());
    crate::jobs::start_sweeper(&state);
    crate::jobs::start_success_writer(&state);
    let demo = if settings.uses_embedded_default() {
        Some(crate::demo::load(&state, &settings.examples_dir).await?)
    } else {
        None
    };

    let mut out = std::io::stdout().lock();
    writeln!(out, "leadhost listening on http://{addr}")?;
    writeln!(out, "database: {}", redact(&settings.database_url()))?;
    match &state.smtp {
        Some(relay) => writeln!(out, "email: through {}", relay.describe())?,
        None => writeln!(
            out,
            "email: no SMTP server configured (--smtp-url); emails wait in the outbox, status queued"
        )?,
    }
    if let Some(demo) = demo {
        writeln!(out, "demo tenant {:?} ({}):", demo.tenant.slug, demo.tenant.name)?;
        for form in &demo.forms {
            writeln!(out, "  form page: http://{addr}/f/{}/{form}", demo.tenant.slug)?;
        }
        if demo.history_leads > 0 {
            writeln!(
                out,
                "  made {} demo leads over the last 90 days (with activities, stage changes and deals)",
                demo.history_leads
            )?;
        }
        for (name, world, enabled) in &demo.plugins.installed {
            let state = if *enabled {
                "on"
            } else {
                "off: its points would add to the model's; PATCH /api/v1/plugins/{name} {\"enabled\": true} switches it on"
            };
            writeln!(out, "  example plugin {name} ({world}), {state}")?;
        }
        if !demo.plugins.unbuilt.is_empty() {
            writeln!(
                out,
                "  example plugins not installed, their components are not built: {}\n    \
                 build them with `cd plugins && cargo build --release --target wasm32-wasip2` \
                 (the test command does), then start again",
                demo.plugins.unbuilt.join(", ")
            )?;
        }
        writeln!(
            out,
            "  log in at http://{addr}/login (workspace {:?}):",
            demo.tenant.slug
        )?;
        if demo.new_logins.is_empty() {
            writeln!(
                out,
                "    the passwords were printed at the first start; a new one for a user:\n    \
                 cargo run -p leadhost -- user password --tenant {} --email {}",
                demo.tenant.slug, demo.admin_email
            )?;
        } else {
            writeln!(
                out,
                "    passwords made at this first start (shown once, stored hashed):"
            )?;
            for (email, role, password) in &demo.new_logins {
                writeln!(out, "    {email:<28} {:<10} {password}", role.as_str())?;
            }
        }
        writeln!(out, "  an admin API token for it (shown once, stored hashed):")?;
        writeln!(
            out,
            "    cargo run -p leadhost -- token create --tenant {} --user {}",
            demo.tenant.slug, demo.admin_email
        )?;
    }
    out.flush()?;
    drop(out);

    // The peer's address reaches the pages (the login throttle counts by it).
    let app = crate::http::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}

async fn upload_plugin(
    store: &Store,
    file: &std::path::Path,
    tenant: &str,
    name: &str,
    world: &str,
    config: Option<&std::path::Path>,
    replace: bool,
) -> anyhow::Result<()> {
    let tenant = store
        .tenant_by_slug(tenant)
        .await
        .with_context(|| format!("tenant {tenant:?}"))?;
    let name = crate::domain::PluginName::parse(name).map_err(|e| anyhow::anyhow!(e.0))?;
    let world: crate::domain::World = world
        .parse()
        .map_err(|e: crate::domain::ParseError| anyhow::anyhow!(e))?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let config = match config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<serde_json::Value>(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?
                .to_string()
        }
        None => "{}".to_owned(),
    };
    let checked = bytes.clone();
    tokio::task::spawn_blocking(move || {
        let host = crate::plugins::PluginHost::new(None)?;
        host.check_upload(&checked, world)
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}"))
    })
    .await??;
    let sha256 = crate::plugins::component::sha256_hex(&bytes);
    let plugin = crate::storage::NewPlugin {
        name: name.as_str(),
        world,
        config: &config,
        component: &bytes,
        sha256: &sha256,
        status: crate::domain::PluginStatus::Ready,
    };
    let saved = store.tenant(&tenant.id).save_plugin(plugin, replace).await?;
    println!(
        "uploaded {} ({}, {} bytes, sha256 {}) to {}",
        saved.name, saved.world, saved.size_bytes, saved.sha256, tenant.slug
    );
    Ok(())
}

fn plugin_command(command: PluginCommand) -> anyhow::Result<()> {
    use crate::plugins::{contract, offline};
    let read_json = |path: &PathBuf| -> anyhow::Result<serde_json::Value> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
    };
    let report = match command {
        PluginCommand::Upload { .. } => unreachable!("needs the database; handled by run"),
        PluginCommand::Check { file, cache } => offline::check(&file, cache.plugin_cache.as_deref())?,
        PluginCommand::New { name, lang, world, dir } => {
            let world = world
                .parse()
                .map_err(|e: crate::domain::ParseError| anyhow::anyhow!(e))?;
            let root = crate::plugins::scaffold::new_project(&dir, &name, lang, world)?;
            serde_json::json!({ "created": root.display().to_string(), "world": world, "language": lang })
        }
        PluginCommand::Test { dir, cache } => {
            crate::plugins::scaffold::test_project(&dir, cache.plugin_cache.as_deref())?
        }
        PluginCommand::Run {
            file,
            lead,
            config,
            world,
            candidates,
            fuel,
            cache,
        } => {
            let lead = contract::LeadInput::read(read_json(&lead)?)
                .map_err(|e| anyhow::anyhow!(e))
                .with_context(|| format!("{} is not a lead", lead.display()))?;
            let config = match config {
                Some(path) => read_json(&path)?.to_string(),
                None => "{}".to_owned(),
            };
            let candidates: Vec<contract::RepInput> = match candidates {
                Some(path) => serde_json::from_value(read_json(&path)?)
                    .with_context(|| format!("{} is not a list of reps", path.display()))?,
                None => Vec::new(),
            };
            let world = world
                .map(|w| w.parse())
                .transpose()
                .map_err(|e: crate::domain::ParseError| anyhow::anyhow!(e))?;
            let mut limits = crate::plugins::sandbox::Limits::default();
            if let Some(fuel) = fuel {
                limits.fuel = fuel;
            }
            offline::run(offline::RunRequest {
                file: &file,
                world,
                lead,
                config,
                candidates,
                limits,
                cache_dir: cache.plugin_cache.as_deref(),
            })?
        }
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    if report.get("error").is_some() {
        bail!(
            "the plugin call failed: {}",
            report["error"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}

/// A password given on standard input (one line), at least 10 characters.
fn read_password() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let text = text.trim_end_matches(['\n', '\r']).to_owned();
    if text.chars().count() < 10 {
        bail!("the password must be at least 10 characters");
    }
    Ok(text)
}

/// `tenant create`'s arguments, parsed.
fn new_tenant(
    slug: String,
    name: Option<String>,
    region: String,
    admin_email: Option<String>,
) -> anyhow::Result<NewTenant> {
    let parse_err = |e: crate::domain::ParseError| anyhow::anyhow!(e.0);
    let slug = TenantSlug::parse(&slug).map_err(parse_err)?;
    let admin_email = admin_email.unwrap_or_else(|| format!("admin@{slug}.invalid"));
    Ok(NewTenant {
        name: name.unwrap_or_else(|| slug.to_string()),
        region: Region::parse(&region).map_err(parse_err)?,
        admin_email: NormalizedEmail::parse(&admin_email).map_err(parse_err)?,
        slug,
    })
}

async fn admin_command(store: &Store, command: Command) -> anyhow::Result<()> {
    let parse_err = |e: crate::domain::ParseError| anyhow::anyhow!(e.0);
    match command {
        Command::Serve(_) | Command::Plugin(_) | Command::Scoring(_) | Command::Dashboard(_) => {
            unreachable!("handled by run")
        }
        Command::Tenant(TenantCommand::Create {
            slug,
            name,
            region,
            admin_email,
        }) => {
            let created = create_tenant(store, new_tenant(slug, name, region, admin_email)?).await?;
            println!(
                "created tenant {} with admin {}",
                created.tenant.slug, created.admin.email
            );
            println!("admin API token (shown once):");
            println!("{}", created.admin_token);
        }
        Command::Tenant(TenantCommand::List) => {
            for tenant in store.list_tenants().await? {
                println!("{}\t{}\t{}", tenant.slug, tenant.default_region, tenant.name);
            }
        }
        Command::User(UserCommand::Add {
            tenant,
            email,
            role,
            name,
            password_stdin,
            regions,
            specialties,
            capacity,
        }) => {
            let tenant = store
                .tenant_by_slug(&tenant)
                .await
                .with_context(|| format!("tenant {tenant:?}"))?;
            let email = NormalizedEmail::parse(&email).map_err(parse_err)?;
            let role = Role::parse_tenant_role(&role).map_err(parse_err)?;
            let password = password_stdin.then(read_password).transpose()?;
            let attributes = crate::storage::RepAttributes {
                regions,
                specialties,
                capacity,
                ..Default::default()
            };
            let name = name.unwrap_or_else(|| email.as_str().to_owned());
            let user = add_user(store, &tenant.id, &email, &name, role, password.as_deref(), attributes).await?;
            println!("added {} ({}) to {}", user.email, user.role, tenant.slug);
        }
        Command::User(UserCommand::Password {
            tenant,
            email,
            password_stdin,
        }) => {
            let (tenant, user) = tenant_user(store, &tenant, &email).await?;
            let (password, made) = match password_stdin {
                true => (read_password()?, false),
                false => (crate::tenants::generate_password(), true),
            };
            anyhow::ensure!(
                password.chars().count() >= crate::auth::MIN_PASSWORD_CHARS,
                "a password needs at least {} characters",
                crate::auth::MIN_PASSWORD_CHARS
            );
            crate::tenants::set_password(store, &tenant.id, &user.id, &password).await?;
            println!("password set for {} ({}) in {}", user.email, user.role, tenant.slug);
            if made {
                println!("{password}");
            }
        }
        Command::Token(TokenCommand::Create { tenant, user, label }) => {
            let (tenant, user) = tenant_user(store, &tenant, &user).await?;
            let token = issue_token(store, &tenant.id, &user.id, &label).await?;
            println!(
                "API token for {} ({}) in {} (shown once):",
                user.email, user.role, tenant.slug
            );
            println!("{token}");
        }
        Command::Token(TokenCommand::Operator { label }) => {
            let token = issue_operator_token(store, &label).await?;
            println!("operator token (shown once):");
            println!("{token}");
        }
    }
    Ok(())
}

/// A tenant by its slug and one of its users by email, or what was not found.
async fn tenant_user(
    store: &crate::storage::Store,
    tenant: &str,
    email: &str,
) -> anyhow::Result<(crate::storage::TenantRecord, crate::storage::UserRecord)> {
    let tenant = store
        .tenant_by_slug(tenant)
        .await
        .with_context(|| format!("tenant {tenant:?}"))?;
    let email = NormalizedEmail::parse(email).map_err(|e| anyhow::anyhow!(e.0))?;
    let user = store
        .tenant(&tenant.id)
        .user_by_email(email.as_str())
        .await
        .with_context(|| format!("user {} in tenant {}", email.as_str(), tenant.slug))?;
    Ok((tenant, user))
}

//! The demo tenant, loaded from examples/demo/tenant.json when the server
//! runs on its embedded default. Loading is idempotent: what exists stays,
//! what is missing is added.

mod history;

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::Strategy;
use crate::domain::{NormalizedEmail, Region, Role};
use crate::error::ApiError;
use crate::forms::{FormUpload, create_form};
use crate::nurture::Workflow;
use crate::plugins::upload::{self, Upload};
use crate::routing::rules::RoutingRules;
use crate::scoring::ScoreModel;
use crate::storage::{NewTeam, RepAttributes, StoreError, TenantRecord, TenantStore};
use crate::tenants::add_user;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoTenant {
    slug: String,
    name: String,
    default_region: String,
    users: Vec<DemoUser>,
    /// Form definition files, relative to the tenant file.
    forms: Vec<PathBuf>,
    /// The scoring model file, relative to the tenant file.
    #[serde(default)]
    scoring_model: Option<PathBuf>,
    #[serde(default)]
    teams: Vec<DemoTeam>,
    /// The routing rules file, relative to the tenant file.
    #[serde(default)]
    routing_rules: Option<PathBuf>,
    /// The SLA policy (first-touch deadlines by tier, ...).
    #[serde(default)]
    sla_policy: Option<serde_json::Value>,
    /// Nurture workflow files (each published under its file name).
    #[serde(default)]
    workflows: Vec<PathBuf>,
    #[serde(default)]
    settings: Option<DemoSettings>,
    /// The example plugins, installed when their components have been built.
    #[serde(default)]
    plugins: Vec<DemoPlugin>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPlugin {
    name: String,
    world: String,
    /// The built component, relative to the tenant file.
    component: PathBuf,
    /// Its config file, relative to the tenant file.
    config: PathBuf,
    /// Scorers are installed switched off: their points would add to the
    /// demo model's (and move the tiers it is tuned for).
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoTeam {
    name: String,
    manager: Option<String>,
    strategy: String,
    /// Members by email.
    members: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoSettings {
    time_zone: String,
    email_from: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoUser {
    email: String,
    name: String,
    role: String,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    specialties: Vec<String>,
    #[serde(default)]
    capacity: u32,
}

pub struct LoadedDemo {
    pub tenant: TenantRecord,
    pub admin_email: String,
    pub forms: Vec<String>,
    /// Users given a password at this start (email, role, password): shown
    /// once, on the first start.
    pub new_logins: Vec<(String, Role, String)>,
    /// Leads of the made-up past (90 days of them) made at this start.
    pub history_leads: usize,
    pub plugins: DemoPlugins,
}

/// What became of the example plugins.
#[derive(Default)]
pub struct DemoPlugins {
    /// Installed (at this start or before): name, world, enabled.
    pub installed: Vec<(String, String, bool)>,
    /// Not installed: their components have not been built.
    pub unbuilt: Vec<String>,
}

pub async fn load(state: &AppState, examples_dir: &Path) -> anyhow::Result<LoadedDemo> {
    let file = examples_dir.join("demo").join("tenant.json");
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let demo: DemoTenant = serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
    let store = &state.store;
    let tenant = match store.tenant_by_slug(&demo.slug).await {
        Ok(tenant) => tenant,
        Err(StoreError::NotFound) => {
            let region = Region::parse(&demo.default_region).map_err(|e| anyhow::anyhow!(e))?;
            store.create_tenant(&demo.slug, &demo.name, region).await?
        }
        Err(e) => return Err(e.into()),
    };
    let mut admin_email = None;
    let mut new_logins = Vec::new();
    for user in &demo.users {
        let email = NormalizedEmail::parse(&user.email).map_err(|e| anyhow::anyhow!(e))?;
        let role = Role::parse_tenant_role(&user.role).map_err(|e| anyhow::anyhow!(e))?;
        if role == Role::Admin && admin_email.is_none() {
            admin_email = Some(email.as_str().to_owned());
        }
        match add_user(
            store,
            &tenant.id,
            &email,
            &user.name,
            role,
            None,
            RepAttributes {
                regions: user.regions.clone(),
                specialties: user.specialties.clone(),
                capacity: user.capacity,
                available: true,
            },
        )
        .await
        {
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let users = store.tenant(&tenant.id);
        let added = users.user_by_email(email.as_str()).await?;
        if users.password_hash(&added.id).await?.is_none() {
            let password = crate::tenants::generate_password();
            crate::tenants::set_password(store, &tenant.id, &added.id, &password).await?;
            new_logins.push((added.email, role, password));
        }
    }
    let base = file.parent().unwrap_or(examples_dir);
    let mut forms = Vec::new();
    for path in &demo.forms {
        let path = base.join(path);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let upload: FormUpload = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let slug = upload.slug.clone();
        match store.tenant(&tenant.id).form(&slug).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                create_form(state, &tenant.id, upload)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: {e} {:?}", path.display(), e.problem().errors))?;
            }
            Err(e) => return Err(e.into()),
        }
        forms.push(slug);
    }
    if let Some(path) = &demo.scoring_model {
        let tenant_store = store.tenant(&tenant.id);
        if tenant_store.scoring_model().await?.is_none() {
            let path = base.join(path);
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let raw: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            let model = ScoreModel::parse(raw.clone())
                .map_err(|problems| anyhow::anyhow!("{}: {problems:?}", path.display()))?;
            let started = tenant_store.save_scoring_model(&raw, None).await?;
            state.score_models.remember(tenant.id.clone(), model);
            crate::jobs::spawn(state, started.job);
        }
    }
    let tenant_store = store.tenant(&tenant.id);
    for team in &demo.teams {
        load_team(&tenant_store, team).await?;
    }
    if let Some(policy) = &demo.sla_policy
        && tenant_store.sla_policy().await?.is_none()
    {
        crate::followup::SlaPolicy::parse(policy.clone())
            .map_err(|problems| anyhow::anyhow!("sla_policy: {problems:?}"))?;
        tenant_store.set_sla_policy(Some(policy), None).await?;
    }
    // The made-up past, before the rules and workflows: its leads come into
    // the pool and reps claim them (no lead of it is held or sent email).
    let history_leads = history::make(state, &tenant).await?;
    if let Some(path) = &demo.routing_rules
        && tenant_store.routing_rules().await?.is_none()
    {
        let path = base.join(path);
        let raw = read_json(&path)?;
        let rules =
            RoutingRules::parse(raw.clone()).map_err(|problems| anyhow::anyhow!("{}: {problems:?}", path.display()))?;
        tenant_store.save_routing_rules(&raw, None).await?;
        // The history's steps read "no rules" into the cache.
        state.routing_rules.remember(tenant.id.clone(), Some(rules));
    }
    for path in &demo.workflows {
        let path = base.join(path);
        let slug = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("a workflow file's name")?;
        match tenant_store.workflow(slug).await {
            Ok(_) => continue,
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        let facts = crate::nurture::tenant_facts(&tenant_store).await?;
        let workflow = Workflow::parse(read_json(&path)?, &facts)
            .map_err(|problems| anyhow::anyhow!("{}: {problems:?}", path.display()))?;
        tenant_store
            .publish_workflow(slug, &workflow.name, &serde_json::json!(workflow))
            .await?;
    }
    if let Some(settings) = &demo.settings
        && tenant_store.settings().await?.email_from.is_none()
    {
        crate::email::message::check_sender(&settings.email_from)?;
        let from = Some(Some(settings.email_from.as_str()));
        tenant_store.set_settings(Some(&settings.time_zone), from, None).await?;
    }
    let plugins = install_plugins(state, &tenant_store, base, &demo.plugins).await?;
    Ok(LoadedDemo {
        plugins,
        history_leads,
        tenant,
        admin_email: admin_email.context("the demo tenant needs an admin user")?,
        forms,
        new_logins,
    })
}

fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Installs each example plugin whose component has been built, unless one
/// of its name exists (a tenant's own changes to it stay).
async fn install_plugins(
    state: &AppState,
    store: &TenantStore<'_>,
    base: &Path,
    plugins: &[DemoPlugin],
) -> anyhow::Result<DemoPlugins> {
    let mut outcome = DemoPlugins::default();
    let installed = store.plugins().await?;
    for plugin in plugins {
        if let Some(existing) = installed.iter().find(|p| p.name == plugin.name) {
            let world = existing.world.as_str().to_owned();
            outcome.installed.push((existing.name.clone(), world, existing.enabled));
            continue;
        }
        let Ok(component) = std::fs::read(base.join(&plugin.component)) else {
            outcome.unbuilt.push(plugin.name.clone());
            continue;
        };
        // Through the API's upload: admitted, checked and stored as an admin's would be.
        let upload = Upload {
            name: Some(&plugin.name),
            world: &plugin.world,
            config: Some(read_json(&base.join(&plugin.config))?),
            component: &component,
        };
        let refused = |error: ApiError| {
            let problems = match &error {
                ApiError::Validation { errors, .. } => {
                    errors.iter().map(|e| format!(" {} {}", e.pointer, e.message)).collect()
                }
                _ => String::new(),
            };
            anyhow::anyhow!(
                "the example plugin {} ({}): {error}{problems}",
                plugin.name,
                plugin.component.display()
            )
        };
        upload::publish(&state.plugins, store, upload, false)
            .await
            .map_err(refused)?;
        if !plugin.enabled {
            store.update_plugin(&plugin.name, Some(false), None).await?;
            state.plugins.forget(store.tenant_id());
        }
        outcome
            .installed
            .push((plugin.name.clone(), plugin.world.clone(), plugin.enabled));
    }
    Ok(outcome)
}

/// A team of the demo's users, unless one of its name exists.
async fn load_team(store: &TenantStore<'_>, team: &DemoTeam) -> anyhow::Result<()> {
    if store.teams().await?.iter().any(|t| t.name == team.name) {
        return Ok(());
    }
    let manager_id = match &team.manager {
        Some(email) => Some(store.user_by_email(email).await?.id),
        None => None,
    };
    let mut members = Vec::new();
    for email in &team.members {
        members.push((store.user_by_email(email).await?.id, 1));
    }
    let strategy = Strategy::parse(&team.strategy).with_context(|| format!("team {}: strategy", team.name))?;
    let team = NewTeam {
        name: team.name.clone(),
        manager_id,
        strategy,
        members,
    };
    store
        .save_team(&team, false, None, &serde_json::json!({"name": team.name}))
        .await?;
    Ok(())
}

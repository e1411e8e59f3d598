//! The demo tenant, loaded from examples/demo/tenant.json when the server
//! runs on its embedded default. Loading is idempotent: what exists stays,
//! what is missing is added.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::{NormalizedEmail, Region, Role};
use crate::forms::{FormUpload, create_form};
use crate::scoring::ScoreModel;
use crate::storage::{RepAttributes, StoreError, TenantRecord};
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
    Ok(LoadedDemo {
        tenant,
        admin_email: admin_email.context("the demo tenant needs an admin user")?,
        forms,
    })
}

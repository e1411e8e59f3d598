//! `leadhost scoring …`: check a model file, set a tenant's model, and
//! re-score its leads with a progress bar. The re-score runs in this
//! process, as the durable job a server would run (a server started later
//! resumes it if this process stops).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::app::AppState;
use crate::domain::RunStatus;
use crate::scoring::{ScoreModel, rescore};
use crate::storage::{StartedRescore, Store};

#[derive(Subcommand)]
pub enum ScoringCommand {
    /// Check a scoring model file; every problem is printed at its JSON Pointer.
    Check { file: PathBuf },
    /// Set a tenant's scoring model from a file, then re-score all its leads.
    Model {
        file: PathBuf,
        #[arg(long)]
        tenant: String,
        /// Folder for compiled plugins (default: data/plugin-cache).
        #[arg(long, env = "LEADHOST_PLUGIN_CACHE")]
        plugin_cache: Option<PathBuf>,
    },
    /// Re-score all of a tenant's leads with its current model and plugins.
    Rescore {
        #[arg(long)]
        tenant: String,
        /// Folder for compiled plugins (default: data/plugin-cache).
        #[arg(long, env = "LEADHOST_PLUGIN_CACHE")]
        plugin_cache: Option<PathBuf>,
    },
}

pub fn check(file: &Path) -> anyhow::Result<()> {
    let (_, model) = read_model(file)?;
    println!(
        "{}: a valid scoring model with {} rules (warm {} / hot {}, MQL {} / SQL {})",
        file.display(),
        model.rules.len(),
        model.tiers.warm,
        model.tiers.hot,
        model.promote.mql,
        model.promote.sql
    );
    Ok(())
}

pub async fn run(store: Store, command: ScoringCommand) -> anyhow::Result<()> {
    let (tenant, set_model, plugin_cache) = match command {
        ScoringCommand::Check { .. } => unreachable!("needs no database; handled by the caller"),
        ScoringCommand::Model {
            file,
            tenant,
            plugin_cache,
        } => (tenant, Some(read_model(&file)?), plugin_cache),
        ScoringCommand::Rescore { tenant, plugin_cache } => (tenant, None, plugin_cache),
    };
    let plugin_cache = plugin_cache.unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_PLUGIN_CACHE));
    let tenant = store
        .tenant_by_slug(&tenant)
        .await
        .with_context(|| format!("tenant {tenant:?}"))?;
    let plugins = crate::plugins::PluginHost::new(Some(plugin_cache))?;
    let state = AppState::new(store, crate::config::Settings::for_tools(), plugins);
    let tenant_store = state.store.tenant(&tenant.id);
    let started: StartedRescore = match set_model {
        Some((raw, model)) => {
            let started = tenant_store.save_scoring_model(&raw, None).await?;
            state.score_models.remember(tenant.id.clone(), model);
            println!(
                "{}: scoring model version {} saved",
                tenant.slug, started.run.model_version
            );
            started
        }
        None => tenant_store.start_rescore().await?,
    };
    let run_id = started.run.id.clone();
    let bar = ProgressBar::new(started.run.total.max(0) as u64).with_style(
        ProgressStyle::with_template("re-scoring {bar:40} {pos}/{len} leads ({per_sec}, {eta} left)")
            .expect("a valid progress template"),
    );
    let clock = Instant::now();
    rescore::run_with_progress(&state, &started.job, &run_id, &|done, total| {
        bar.set_length(total.max(0) as u64);
        bar.set_position(done.max(0) as u64);
    })
    .await?;
    bar.finish_and_clear();
    let run = tenant_store.rescore_run(&run_id).await?;
    if run.status != RunStatus::Done {
        bail!("the re-score stopped: it is {} (a newer one replaced it)", run.status);
    }
    println!(
        "re-scored {} leads ({} changed) in {:.1} s",
        run.done,
        run.changed,
        clock.elapsed().as_secs_f64()
    );
    Ok(())
}

fn read_model(file: &Path) -> anyhow::Result<(Value, ScoreModel)> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let raw: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    match ScoreModel::parse(raw.clone()) {
        Ok(model) => Ok((raw, model)),
        Err(problems) => {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| {
                    format!(
                        "  {}: {}",
                        if p.pointer.is_empty() { "/" } else { &p.pointer },
                        p.message
                    )
                })
                .collect();
            bail!("{} is not a valid scoring model:\n{}", file.display(), lines.join("\n"))
        }
    }
}

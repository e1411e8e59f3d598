//! Application state: one struct, cloned into every handler.

use std::sync::Arc;

use crate::config::Settings;
use crate::email::rate::SendAllowance;
use crate::email::smtp::SmtpRelay;
use crate::forms::FormCatalog;
use crate::metrics::Metrics;
use crate::nurture::NurtureCaches;
use crate::plugins::PluginHost;
use crate::recent::SETTINGS_TTL;
use crate::routing::RoutingRulesCache;
use crate::scoring::ScoreModels;
use crate::storage::Store;
use crate::tenants::TenantDirectory;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub forms: Arc<FormCatalog>,
    pub tenants: Arc<TenantDirectory>,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub plugins: Arc<PluginHost>,
    pub score_models: Arc<ScoreModels>,
    pub routing_rules: Arc<RoutingRulesCache>,
    /// For outbound webhooks.
    pub http: reqwest::Client,
    /// SHA-256 of the operator token given at start, if any.
    pub operator_token_hash: Option<String>,
    /// What nurture runs and enrolments read again and again.
    pub nurture: Arc<NurtureCaches>,
    /// The SMTP relay; `None`: emails wait in the outbox.
    pub smtp: Option<Arc<SmtpRelay>>,
    /// Send slots this process took of its tenants' sending rates.
    pub send_allowance: Arc<SendAllowance>,
}

impl AppState {
    pub fn new(store: Store, settings: Settings, plugins: PluginHost) -> Self {
        let operator_token_hash = settings.operator_token.as_deref().map(crate::auth::hash_token);
        Self {
            store,
            forms: Arc::new(FormCatalog::default()),
            tenants: Arc::new(TenantDirectory::forever()),
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::default()),
            plugins: Arc::new(plugins),
            score_models: Arc::new(ScoreModels::new(SETTINGS_TTL)),
            routing_rules: Arc::new(RoutingRulesCache::new(SETTINGS_TTL)),
            http: reqwest::Client::new(),
            operator_token_hash,
            nurture: Arc::new(NurtureCaches::default()),
            smtp: None,
            send_allowance: Arc::default(),
        }
    }
}

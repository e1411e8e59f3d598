//! Password reset by email: an admin sends a user a link that sets a new
//! password once, within an hour. The email goes through the outbox like
//! every other (its row and its delivery job written with the link's row, in
//! one unit), so it is retried, dead-lettered and logged the same way.
//!
//! Only the secret's SHA-256 is stored. The email's body, which holds the
//! link, stays in the outbox for its log; only admins read that log, and
//! they may set the password themselves anyway.

use std::time::Duration;

use serde::Serialize;

use super::session::random_secret;
use super::token::hash_token;
use crate::clock::Timestamp;
use crate::domain::{EmailJob, Job, JobRecord};
use crate::email::compose::{Composed, header_value};
use crate::email::message::message_id;
use crate::i18n::Lang;
use crate::storage::{
    NewEmail, NewPasswordReset, Store, StoreError, StoreResult, Unit, UnitOfWork, UserRecord, new_id,
    sender_or_placeholder,
};

/// How long a link works.
pub const LINK_LIFETIME: Duration = Duration::from_secs(3600);

/// The path of the page a link opens, below the public URL.
pub const PAGE_PATH: &str = "/login/reset";

/// A reset link for `user`, with its email.
pub struct ResetLink {
    secret: String,
    user: UserRecord,
    requested_by: Option<String>,
    workspace: String,
    sender: String,
    public_url: String,
}

/// What was sent: the outbox's email and when the link stops working.
#[derive(Debug, Serialize)]
pub struct ResetSent {
    pub email: String,
    pub to: String,
    pub expires_at: Timestamp,
}

impl ResetLink {
    pub fn new(
        user: UserRecord,
        requested_by: Option<String>,
        workspace: &str,
        sender: String,
        public_url: &str,
    ) -> Self {
        Self {
            secret: random_secret(),
            user,
            requested_by,
            workspace: workspace.to_owned(),
            sender,
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    fn url(&self) -> String {
        format!("{}{PAGE_PATH}/{}", self.public_url, self.secret)
    }

    /// The email in the user's language, or in both when they chose none.
    fn composed(&self) -> Result<Composed, String> {
        let text_in = |lang: Lang| {
            let w = lang.words();
            w.reset_email
                .replace("{name}", &self.user.name)
                .replace("{workspace}", &self.workspace)
                .replace("{link}", &self.url())
                .replace("{minutes}", &(LINK_LIFETIME.as_secs() / 60).to_string())
        };
        let (subject, text) = match self.user.language.as_deref().and_then(Lang::parse) {
            Some(lang) => (lang.words().reset_subject.to_owned(), text_in(lang)),
            None => (
                format!(
                    "{} / {}",
                    Lang::Zh.words().reset_subject,
                    Lang::En.words().reset_subject
                ),
                format!("{}\n---\n\n{}", text_in(Lang::Zh), text_in(Lang::En)),
            ),
        };
        Composed::checked(&header_value(&subject, 200), &text, None)
    }
}

#[async_trait::async_trait]
impl UnitOfWork for ResetLink {
    type Output = ResetSent;

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<ResetSent> {
        let now = Timestamp::now();
        let expires_at = now.plus(LINK_LIFETIME);
        let hash = hash_token(&self.secret);
        unit.insert_password_reset(&NewPasswordReset {
            id: &hash,
            user_id: &self.user.id,
            requested_by: self.requested_by.as_deref(),
            now,
            expires_at,
        });
        let email = self.composed().map_err(StoreError::Corrupt)?;
        let id = new_id();
        unit.insert_email(
            &NewEmail {
                id: &id,
                lead_id: None,
                run_id: None,
                step_id: None,
                user_id: Some(&self.user.id),
                message_id: &message_id(&id, &self.sender),
                to: &self.user.email,
                from: &self.sender,
                subject: &email.subject,
                text: &email.text,
                html: None,
            },
            now,
        );
        let job = Job::Email(EmailJob { email_id: id.clone() });
        unit.add_job(&JobRecord::held(new_id(), unit.tenant_id(), job), now, None);
        Ok(ResetSent {
            email: id,
            to: self.user.email.clone(),
            expires_at,
        })
    }
}

/// Sends `user_id` a reset link by email. `NotFound` for no such user,
/// `Conflict` for one who has left (they log in no more).
pub async fn send_link(
    store: &Store,
    public_url: &str,
    tenant_id: &str,
    user_id: &str,
    requested_by: Option<&str>,
) -> StoreResult<ResetSent> {
    let tenant = store.tenant_by_id(tenant_id).await?;
    let users = store.tenant(tenant_id);
    let user = users.user_by_id(user_id).await?;
    if user.deactivated_at.is_some() {
        return Err(StoreError::Conflict(format!("{} has been deactivated", user.email)));
    }
    let sender = sender_or_placeholder(users.settings().await?.email_from, &tenant.name);
    let link = ResetLink::new(user, requested_by.map(str::to_owned), &tenant.slug, sender, public_url);
    users.run(link).await
}

/// The stored id of a link's secret, as a page receives it.
pub fn link_id(secret: &str) -> String {
    hash_token(secret)
}

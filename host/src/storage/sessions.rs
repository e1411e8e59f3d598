//! Page sessions, failed logins, and what a user sets for themselves
//! (password, language, time zone).

use sqlx::Row;

use super::batch::Statement;
use super::unit::Unit;
use super::{Store, StoreError, StoreResult, TenantStore};
use crate::clock::Timestamp;
use crate::domain::{Role, Stage};

/// A live session and the user behind it, as one read per page request.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: String,
    pub tenant_id: String,
    pub tenant_slug: String,
    pub user_id: String,
    pub role: Role,
    pub name: String,
    pub email: String,
    pub language: Option<String>,
    pub time_zone: Option<String>,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

pub struct NewSession<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub user_id: &'a str,
    pub csrf_token: &'a str,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

/// What a login checks a password against.
pub struct LoginCandidate {
    pub user_id: String,
    pub tenant_id: String,
    pub password_hash: Option<String>,
    pub deactivated: bool,
}

impl Store {
    pub async fn insert_session(&self, session: NewSession<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, tenant_id, user_id, csrf_token, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(session.id)
        .bind(session.tenant_id)
        .bind(session.user_id)
        .bind(session.csrf_token)
        .bind(session.now.micros())
        .bind(session.expires_at.micros())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The session with this id, if it has not ended and its user is active.
    /// The user's current role applies, as for tokens.
    pub async fn session(&self, id: &str, now: Timestamp) -> StoreResult<SessionRecord> {
        let row = sqlx::query(
            "SELECT s.id, s.tenant_id, t.slug, s.user_id, u.role, u.name, u.email, u.language, u.time_zone, \
             s.csrf_token, s.created_at, s.last_seen_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id JOIN tenants t ON t.id = s.tenant_id \
             WHERE s.id = $1 AND s.expires_at > $2 AND u.deactivated_at IS NULL",
        )
        .bind(id)
        .bind(now.micros())
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        let role: String = row.try_get("role")?;
        Ok(SessionRecord {
            id: row.try_get("id")?,
            tenant_id: row.try_get("tenant_id")?,
            tenant_slug: row.try_get("slug")?,
            user_id: row.try_get("user_id")?,
            role: role
                .parse()
                .map_err(|e: crate::domain::ParseError| StoreError::Corrupt(e.0))?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            language: row.try_get("language")?,
            time_zone: row.try_get("time_zone")?,
            csrf_token: row.try_get("csrf_token")?,
            created_at: Timestamp(row.try_get("created_at")?),
            last_seen_at: Timestamp(row.try_get("last_seen_at")?),
            expires_at: Timestamp(row.try_get("expires_at")?),
        })
    }

    /// Moves a session's idle expiry on (never past its absolute end).
    pub async fn touch_session(&self, id: &str, now: Timestamp, expires_at: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1")
            .bind(id)
            .bind(now.micros())
            .bind(expires_at.micros())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records a failed login under each key (the account, the address).
    pub async fn record_login_failure(&self, keys: &[&str], now: Timestamp) -> StoreResult<()> {
        for key in keys {
            sqlx::query("INSERT INTO login_failures (key, failed_at) VALUES ($1, $2)")
                .bind(*key)
                .bind(now.micros())
                .execute(&self.write)
                .await?;
        }
        Ok(())
    }

    /// Failed logins under `key` since `since`, and the latest of them.
    pub async fn login_failures(&self, key: &str, since: Timestamp) -> StoreResult<(i64, Option<Timestamp>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS failures, MAX(failed_at) AS latest FROM login_failures \
             WHERE key = $1 AND failed_at > $2",
        )
        .bind(key)
        .bind(since.micros())
        .fetch_one(&self.read)
        .await?;
        Ok((
            row.try_get("failures")?,
            row.try_get::<Option<i64>, _>("latest")?.map(Timestamp),
        ))
    }

    /// Forgets an account's failures after a good login, and everyone's
    /// that are too old to count.
    pub async fn clear_login_failures(&self, key: &str, older_than: Timestamp) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1 OR failed_at < $2")
            .bind(key)
            .bind(older_than.micros())
            .execute(&self.write)
            .await?;
        Ok(())
    }
}

impl TenantStore<'_> {
    pub async fn login_candidate(&self, email: &str) -> StoreResult<LoginCandidate> {
        let row =
            sqlx::query("SELECT id, password_hash, deactivated_at FROM users WHERE tenant_id = $1 AND email = $2")
                .bind(&self.tenant_id)
                .bind(email)
                .fetch_optional(&self.store.read)
                .await?
                .ok_or(StoreError::NotFound)?;
        Ok(LoginCandidate {
            user_id: row.try_get("id")?,
            tenant_id: self.tenant_id.clone(),
            password_hash: row.try_get("password_hash")?,
            deactivated: row.try_get::<Option<i64>, _>("deactivated_at")?.is_some(),
        })
    }

    pub async fn password_hash(&self, user_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(user_id)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("password_hash")?)
    }

    /// Sets a user's password and ends their other sessions (`keep`: the
    /// session that made the change, if it was the user's own).
    pub async fn set_password(&self, user_id: &str, password_hash: &str, keep: Option<&str>) -> StoreResult<()> {
        let changed = sqlx::query("UPDATE users SET password_hash = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(user_id)
            .bind(password_hash)
            .execute(&self.store.write)
            .await?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND id <> $3")
            .bind(&self.tenant_id)
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .execute(&self.store.write)
            .await?;
        Ok(())
    }

    /// A user's own page settings (`None` clears one).
    pub async fn set_preferences(
        &self,
        user_id: &str,
        language: Option<&str>,
        time_zone: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE users SET language = $3, time_zone = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(user_id)
            .bind(language)
            .bind(time_zone)
            .execute(&self.store.write)
            .await?;
        Ok(())
    }
}

/// A user leaving, in a unit of work.
impl Unit<'_> {
    /// Marks the user deactivated and not taking leads, and ends their
    /// sessions and tokens; `false` when they were already deactivated (or
    /// no such user).
    pub async fn deactivate_user(&mut self, user_id: &str, now: Timestamp) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE users SET deactivated_at = $3, available = 0 \
             WHERE tenant_id = $1 AND id = $2 AND deactivated_at IS NULL",
        )
        .bind(self.tenant_id)
        .bind(user_id)
        .bind(now.micros())
        .execute(&mut *self.conn)
        .await?;
        if changed.rows_affected() == 0 {
            return Ok(false);
        }
        self.write(
            Statement::new("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2")
                .bind(self.tenant_id)
                .bind(user_id),
        );
        self.write(
            Statement::new(
                "UPDATE api_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
            )
            .bind(self.tenant_id)
            .bind(user_id)
            .bind(now.micros()),
        );
        Ok(true)
    }

    /// The ids of the leads a user owns in one of `stages`.
    pub async fn leads_of_in(&mut self, user_id: &str, stages: &[Stage]) -> StoreResult<Vec<String>> {
        let places: Vec<String> = (0..stages.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT id FROM leads WHERE tenant_id = $1 AND owner_id = $2 AND stage IN ({}) ORDER BY id",
            places.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(self.tenant_id).bind(user_id);
        for stage in stages {
            query = query.bind(stage.as_str());
        }
        let rows = query.fetch_all(&mut *self.conn).await?;
        rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
    }
}

/// A password reset link as stored: its secret's hash and whom it resets.
pub struct NewPasswordReset<'a> {
    /// SHA-256 of the link's secret.
    pub id: &'a str,
    pub user_id: &'a str,
    pub requested_by: Option<&'a str>,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

/// A reset link that still works, and the user it is for.
#[derive(Debug, Clone)]
pub struct LivePasswordReset {
    pub tenant_id: String,
    pub tenant_slug: String,
    pub user_id: String,
    pub email: String,
    pub language: Option<String>,
    pub expires_at: Timestamp,
}

impl Unit<'_> {
    pub fn insert_password_reset(&mut self, reset: &NewPasswordReset<'_>) {
        self.write(
            Statement::new(
                "INSERT INTO password_resets (id, tenant_id, user_id, requested_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(reset.id)
            .bind(self.tenant_id)
            .bind(reset.user_id)
            .bind(reset.requested_by)
            .bind(reset.now.micros())
            .bind(reset.expires_at.micros()),
        );
    }
}

impl Store {
    /// The reset link whose secret hashes to `id`, unless it was used, has
    /// expired, or its user has left.
    pub async fn live_password_reset(&self, id: &str, now: Timestamp) -> StoreResult<Option<LivePasswordReset>> {
        let row = sqlx::query(
            "SELECT r.tenant_id, t.slug, r.user_id, u.email, u.language, r.expires_at \
             FROM password_resets r JOIN users u ON u.id = r.user_id JOIN tenants t ON t.id = r.tenant_id \
             WHERE r.id = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND u.deactivated_at IS NULL",
        )
        .bind(id)
        .bind(now.micros())
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| {
            Ok(LivePasswordReset {
                tenant_id: row.try_get("tenant_id")?,
                tenant_slug: row.try_get("slug")?,
                user_id: row.try_get("user_id")?,
                email: row.try_get("email")?,
                language: row.try_get("language")?,
                expires_at: Timestamp(row.try_get("expires_at")?),
            })
        })
        .transpose()
    }

    /// Uses a reset link: the user's password becomes `password_hash`, and
    /// this link, the user's other links and every session of theirs end,
    /// together. `false` when the link stopped working meanwhile (used by a
    /// second tab, expired, its user deactivated).
    pub async fn use_password_reset(&self, id: &str, password_hash: &str, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query(
            "UPDATE password_resets SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING tenant_id, user_id",
        )
        .bind(id)
        .bind(now.micros())
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(false);
        };
        let (tenant_id, user_id): (String, String) = (row.try_get("tenant_id")?, row.try_get("user_id")?);
        let changed = sqlx::query(
            "UPDATE users SET password_hash = $3 WHERE tenant_id = $1 AND id = $2 AND deactivated_at IS NULL",
        )
        .bind(&tenant_id)
        .bind(&user_id)
        .bind(password_hash)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            return Ok(false); // dropping the transaction leaves the link unused
        }
        sqlx::query(
            "UPDATE password_resets SET used_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL",
        )
        .bind(&tenant_id)
        .bind(&user_id)
        .bind(now.micros())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2")
            .bind(&tenant_id)
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

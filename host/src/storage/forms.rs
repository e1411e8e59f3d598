//! Forms and their immutable versions.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{StoreError, StoreResult, TenantStore, is_unique_violation, new_id};
use crate::clock::Timestamp;

#[derive(Debug, Clone, serde::Serialize)]
pub struct FormRecord {
    pub id: String,
    #[serde(skip)]
    pub tenant_id: String,
    pub slug: String,
    pub title: String,
    pub enabled: bool,
    pub current_version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl FormRecord {
    fn from_row(row: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            tenant_id: row.try_get("tenant_id")?,
            slug: row.try_get("slug")?,
            title: row.try_get("title")?,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
            current_version: row.try_get("current_version")?,
            created_at: Timestamp(row.try_get("created_at")?),
            updated_at: Timestamp(row.try_get("updated_at")?),
        })
    }
}

/// One published version: the schema and UI schema as the admin sent them.
#[derive(Debug, Clone)]
pub struct FormVersionRecord {
    pub form_id: String,
    pub version: i32,
    pub title: String,
    pub schema: String,
    pub ui_schema: String,
    pub created_at: Timestamp,
}

/// A version in a form's history, with how many leads it captured.
#[derive(Debug, Clone)]
pub struct FormVersionSummary {
    pub version: i32,
    pub title: String,
    pub created_at: Timestamp,
    pub leads: i64,
}

pub struct NewFormVersion<'a> {
    pub title: &'a str,
    pub schema: &'a str,
    pub ui_schema: &'a str,
}

impl TenantStore<'_> {
    /// Creates a form with its first version.
    pub async fn create_form(&self, slug: &str, version: NewFormVersion<'_>) -> StoreResult<FormRecord> {
        let now = Timestamp::now();
        let form = FormRecord {
            id: new_id(),
            tenant_id: self.tenant_id.clone(),
            slug: slug.to_owned(),
            title: version.title.to_owned(),
            enabled: true,
            current_version: 1,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO forms (id, tenant_id, slug, title, enabled, current_version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
        )
        .bind(&form.id)
        .bind(&self.tenant_id)
        .bind(slug)
        .bind(version.title)
        .bind(1_i32)
        .bind(now.micros())
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "a form with slug {slug:?} already exists; PUT /api/v1/forms/{slug} publishes a new version"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.insert_version(&mut tx, &form.id, 1, &version, now).await?;
        tx.commit().await?;
        Ok(form)
    }

    /// Publishes the next version of an existing form; earlier versions stay.
    pub async fn publish_version(&self, slug: &str, version: NewFormVersion<'_>) -> StoreResult<FormRecord> {
        let now = Timestamp::now();
        let mut tx = self.store.begin_write().await?;
        let row = sqlx::query(
            "UPDATE forms SET current_version = current_version + 1, title = $3, updated_at = $4 \
             WHERE tenant_id = $1 AND slug = $2 RETURNING *",
        )
        .bind(&self.tenant_id)
        .bind(slug)
        .bind(version.title)
        .bind(now.micros())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let form = FormRecord::from_row(&row)?;
        self.insert_version(&mut tx, &form.id, form.current_version, &version, now)
            .await?;
        tx.commit().await?;
        Ok(form)
    }

    async fn insert_version(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        form_id: &str,
        number: i32,
        version: &NewFormVersion<'_>,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO form_versions (form_id, version, tenant_id, title, schema, ui_schema, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(form_id)
        .bind(number)
        .bind(&self.tenant_id)
        .bind(version.title)
        .bind(version.schema)
        .bind(version.ui_schema)
        .bind(now.micros())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn set_form_enabled(&self, slug: &str, enabled: bool) -> StoreResult<FormRecord> {
        let row = sqlx::query(
            "UPDATE forms SET enabled = $3, updated_at = $4 WHERE tenant_id = $1 AND slug = $2 RETURNING *",
        )
        .bind(&self.tenant_id)
        .bind(slug)
        .bind(i32::from(enabled))
        .bind(Timestamp::now().micros())
        .fetch_optional(&self.store.write)
        .await?
        .ok_or(StoreError::NotFound)?;
        FormRecord::from_row(&row)
    }

    pub async fn forms(&self) -> StoreResult<Vec<FormRecord>> {
        let rows = sqlx::query("SELECT * FROM forms WHERE tenant_id = $1 ORDER BY slug")
            .bind(&self.tenant_id)
            .fetch_all(&self.store.read)
            .await?;
        rows.iter().map(FormRecord::from_row).collect()
    }

    pub async fn form(&self, slug: &str) -> StoreResult<FormRecord> {
        let row = sqlx::query("SELECT * FROM forms WHERE tenant_id = $1 AND slug = $2")
            .bind(&self.tenant_id)
            .bind(slug)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        FormRecord::from_row(&row)
    }

    /// Every version of a form, newest first, each with the leads it
    /// captured first (counted on `leads_tenant_form_version`).
    pub async fn form_versions(&self, form_id: &str) -> StoreResult<Vec<FormVersionSummary>> {
        let rows = sqlx::query(
            "SELECT v.version, v.title, v.created_at, \
                    (SELECT COUNT(*) FROM leads l \
                      WHERE l.tenant_id = v.tenant_id AND l.form_id = v.form_id AND l.form_version = v.version) AS leads \
             FROM form_versions v WHERE v.tenant_id = $1 AND v.form_id = $2 ORDER BY v.version DESC",
        )
        .bind(&self.tenant_id)
        .bind(form_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FormVersionSummary {
                    version: row.try_get("version")?,
                    title: row.try_get("title")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                    leads: row.try_get("leads")?,
                })
            })
            .collect()
    }

    pub async fn form_version(&self, form_id: &str, version: i32) -> StoreResult<FormVersionRecord> {
        let row = sqlx::query(
            "SELECT form_id, version, title, schema, ui_schema, created_at FROM form_versions \
             WHERE tenant_id = $1 AND form_id = $2 AND version = $3",
        )
        .bind(&self.tenant_id)
        .bind(form_id)
        .bind(version)
        .fetch_optional(&self.store.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(FormVersionRecord {
            form_id: row.try_get("form_id")?,
            version: row.try_get("version")?,
            title: row.try_get("title")?,
            schema: row.try_get("schema")?,
            ui_schema: row.try_get("ui_schema")?,
            created_at: Timestamp(row.try_get("created_at")?),
        })
    }
}

//! Nurture workflows and their immutable versions.

use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{StoreError, StoreResult, TenantStore, new_id, word};
use crate::clock::Timestamp;
use crate::domain::WorkflowStatus;

#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkflowRecord {
    #[serde(skip)]
    pub id: String,
    pub slug: String,
    pub name: String,
    pub status: WorkflowStatus,
    pub current_version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl WorkflowRecord {
    fn from_row(row: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            slug: row.try_get("slug")?,
            name: row.try_get("name")?,
            status: word(row, "status")?,
            current_version: row.try_get("current_version")?,
            created_at: Timestamp(row.try_get("created_at")?),
            updated_at: Timestamp(row.try_get("updated_at")?),
        })
    }
}

/// One version of a workflow: its definition as checked and stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkflowVersionRecord {
    pub version: i32,
    pub definition: Value,
    pub created_at: Timestamp,
}

impl WorkflowVersionRecord {
    fn from_row(row: &sqlx::any::AnyRow) -> StoreResult<Self> {
        let definition: String = row.try_get("definition")?;
        Ok(Self {
            version: row.try_get("version")?,
            definition: serde_json::from_str(&definition)
                .map_err(|e| StoreError::Corrupt(format!("workflow definition: {e}")))?,
            created_at: Timestamp(row.try_get("created_at")?),
        })
    }
}

impl TenantStore<'_> {
    /// Stores a new version of the workflow `slug` (creating the workflow,
    /// active, at version 1, if it is new). An archived workflow takes no
    /// new versions.
    pub async fn publish_workflow(&self, slug: &str, name: &str, definition: &Value) -> StoreResult<WorkflowRecord> {
        let now = Timestamp::now().micros();
        let mut tx = self.store.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE workflows SET current_version = current_version + 1, name = $3, updated_at = $4 \
             WHERE tenant_id = $1 AND slug = $2 AND status <> 'archived' RETURNING *",
        )
        .bind(&self.tenant_id)
        .bind(slug)
        .bind(name)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let row = match updated {
            Some(row) => row,
            None => {
                let inserted = sqlx::query(
                    "INSERT INTO workflows (id, tenant_id, slug, name, status, current_version, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'active', 1, $5, $5) ON CONFLICT (tenant_id, slug) DO NOTHING RETURNING *",
                )
                .bind(new_id())
                .bind(&self.tenant_id)
                .bind(slug)
                .bind(name)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                match inserted {
                    Some(row) => row,
                    // It exists, archived (or was created a moment ago by
                    // another request).
                    None => {
                        return Err(StoreError::Conflict(format!(
                            "workflow {slug:?} is archived and takes no new versions (or was just created; retry)"
                        )));
                    }
                }
            }
        };
        let workflow = WorkflowRecord::from_row(&row)?;
        sqlx::query(
            "INSERT INTO workflow_versions (workflow_id, version, tenant_id, definition, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&workflow.id)
        .bind(workflow.current_version)
        .bind(&self.tenant_id)
        .bind(definition.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(workflow)
    }

    pub async fn workflows(&self) -> StoreResult<Vec<WorkflowRecord>> {
        let rows = sqlx::query("SELECT * FROM workflows WHERE tenant_id = $1 ORDER BY slug")
            .bind(&self.tenant_id)
            .fetch_all(&self.store.read)
            .await?;
        rows.iter().map(WorkflowRecord::from_row).collect()
    }

    pub async fn workflow(&self, slug: &str) -> StoreResult<WorkflowRecord> {
        let row = sqlx::query("SELECT * FROM workflows WHERE tenant_id = $1 AND slug = $2")
            .bind(&self.tenant_id)
            .bind(slug)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        WorkflowRecord::from_row(&row)
    }

    pub async fn workflow_version(&self, workflow_id: &str, version: i32) -> StoreResult<WorkflowVersionRecord> {
        let row = sqlx::query(
            "SELECT version, definition, created_at FROM workflow_versions \
             WHERE tenant_id = $1 AND workflow_id = $2 AND version = $3",
        )
        .bind(&self.tenant_id)
        .bind(workflow_id)
        .bind(version)
        .fetch_optional(&self.store.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        WorkflowVersionRecord::from_row(&row)
    }

    /// A workflow's newest `count` versions, newest first, in one query.
    pub async fn workflow_versions(&self, workflow_id: &str, count: i64) -> StoreResult<Vec<WorkflowVersionRecord>> {
        let rows = sqlx::query(
            "SELECT version, definition, created_at FROM workflow_versions \
             WHERE tenant_id = $1 AND workflow_id = $2 ORDER BY version DESC LIMIT $3",
        )
        .bind(&self.tenant_id)
        .bind(workflow_id)
        .bind(count)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter().map(WorkflowVersionRecord::from_row).collect()
    }

    /// Pauses, resumes or archives a workflow. Archiving is final.
    pub async fn set_workflow_status(&self, slug: &str, status: WorkflowStatus) -> StoreResult<WorkflowRecord> {
        let row = sqlx::query(
            "UPDATE workflows SET status = $3, updated_at = $4 \
             WHERE tenant_id = $1 AND slug = $2 AND status <> 'archived' RETURNING *",
        )
        .bind(&self.tenant_id)
        .bind(slug)
        .bind(status.as_str())
        .bind(Timestamp::now().micros())
        .fetch_optional(&self.store.write)
        .await?;
        match row {
            Some(row) => WorkflowRecord::from_row(&row),
            // Absent, or archived: tell which.
            None => match self.workflow(slug).await?.status {
                WorkflowStatus::Archived => Err(StoreError::Conflict(format!(
                    "workflow {slug:?} is archived; archiving is final"
                ))),
                _ => Err(StoreError::NotFound),
            },
        }
    }
}

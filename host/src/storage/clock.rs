//! The manual clock's reading, kept so it survives a restart.

use sqlx::Row;

use super::{Store, StoreResult};
use crate::clock::Timestamp;

impl Store {
    pub async fn manual_clock(&self) -> StoreResult<Option<Timestamp>> {
        let row = sqlx::query("SELECT now FROM manual_clock WHERE id = 1")
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("now")).transpose()?.map(Timestamp))
    }

    pub async fn save_manual_clock(&self, now: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO manual_clock (id, now) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET now = excluded.now",
        )
        .bind(now.micros())
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

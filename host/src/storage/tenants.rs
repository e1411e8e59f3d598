//! Tenants, their users and API tokens.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, StoreResult, TenantStore, is_unique_violation, new_id};
use crate::clock::Timestamp;
use crate::domain::{Region, Role};

#[derive(Debug, Clone, serde::Serialize)]
pub struct TenantRecord {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub default_region: String,
    pub created_at: Timestamp,
}

impl TenantRecord {
    fn from_row(row: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            slug: row.try_get("slug")?,
            name: row.try_get("name")?,
            default_region: row.try_get("default_region")?,
            created_at: Timestamp(row.try_get("created_at")?),
        })
    }

    pub fn region(&self) -> StoreResult<Region> {
        Region::parse(&self.default_region).map_err(|e| StoreError::Corrupt(e.0))
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[serde(flatten)]
    pub attributes: RepAttributes,
    /// Open leads the user owns (capacity counts these).
    pub open_leads: i64,
    pub created_at: Timestamp,
    /// Set when the user left: they sign in no more, their records stay.
    pub deactivated_at: Option<Timestamp>,
    /// `zh` or `en`; `None`: the browser's languages decide.
    pub language: Option<String>,
    /// An IANA zone; `None`: the tenant's.
    pub time_zone: Option<String>,
}

/// What routing knows of a rep: where they sell, what they specialise in,
/// how many open leads they should hold (0: no limit), and whether they are
/// taking leads now.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RepAttributes {
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub specialties: Vec<String>,
    #[serde(default)]
    pub capacity: u32,
    #[serde(default = "available_by_default")]
    pub available: bool,
}

fn available_by_default() -> bool {
    true
}

impl Default for RepAttributes {
    fn default() -> Self {
        Self {
            regions: Vec::new(),
            specialties: Vec::new(),
            capacity: 0,
            available: true,
        }
    }
}

impl UserRecord {
    pub(super) fn from_row(row: &AnyRow) -> StoreResult<Self> {
        let role: String = row.try_get("role")?;
        let list = |column: &str| -> StoreResult<Vec<String>> {
            let text: String = row.try_get(column)?;
            Ok(serde_json::from_str(&text).unwrap_or_default())
        };
        Ok(Self {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            name: row.try_get("name")?,
            role: role
                .parse()
                .map_err(|e: crate::domain::ParseError| StoreError::Corrupt(e.0))?,
            attributes: RepAttributes {
                regions: list("regions")?,
                specialties: list("specialties")?,
                capacity: row.try_get::<i64, _>("capacity")?.max(0) as u32,
                available: row.try_get::<i64, _>("available")? != 0,
            },
            open_leads: row.try_get("open_leads")?,
            created_at: Timestamp(row.try_get("created_at")?),
            deactivated_at: row.try_get::<Option<i64>, _>("deactivated_at")?.map(Timestamp),
            language: row.try_get("language")?,
            time_zone: row.try_get("time_zone")?,
        })
    }
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: Option<String>,
    pub attributes: RepAttributes,
}

/// Who a bearer token belongs to.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub role: Role,
}

impl Store {
    pub async fn create_tenant(&self, slug: &str, name: &str, region: Region) -> StoreResult<TenantRecord> {
        let record = TenantRecord {
            id: new_id(),
            slug: slug.to_owned(),
            name: name.to_owned(),
            default_region: region.code().to_owned(),
            created_at: Timestamp::now(),
        };
        let result = sqlx::query(
            "INSERT INTO tenants (id, slug, name, default_region, created_at, link_key) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&record.id)
        .bind(&record.slug)
        .bind(&record.name)
        .bind(&record.default_region)
        .bind(record.created_at.micros())
        .bind(new_link_key())
        .execute(&self.write)
        .await;
        match result {
            Ok(_) => Ok(record),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "a tenant with slug {slug:?} already exists"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn tenant_by_slug(&self, slug: &str) -> StoreResult<TenantRecord> {
        self.tenant_where("slug", slug).await
    }

    pub async fn tenant_by_id(&self, id: &str) -> StoreResult<TenantRecord> {
        self.tenant_where("id", id).await
    }

    async fn tenant_where(&self, column: &'static str, value: &str) -> StoreResult<TenantRecord> {
        let row = sqlx::query(&format!("SELECT * FROM tenants WHERE {column} = $1"))
            .bind(value)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        TenantRecord::from_row(&row)
    }

    pub async fn list_tenants(&self) -> StoreResult<Vec<TenantRecord>> {
        let rows = sqlx::query("SELECT * FROM tenants ORDER BY slug")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(TenantRecord::from_row).collect()
    }

    /// Records a token (by its hash) for a user, or an operator token when
    /// `user` is `None`.
    pub async fn insert_token(&self, token_hash: &str, user: Option<(&str, &str)>, label: &str) -> StoreResult<String> {
        let id = new_id();
        let (kind, tenant_id, user_id) = match user {
            Some((tenant_id, user_id)) => ("user", Some(tenant_id), Some(user_id)),
            None => ("operator", None, None),
        };
        sqlx::query(
            "INSERT INTO api_tokens (id, token_hash, kind, tenant_id, user_id, label, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(token_hash)
        .bind(kind)
        .bind(tenant_id)
        .bind(user_id)
        .bind(label)
        .bind(Timestamp::now().micros())
        .execute(&self.write)
        .await?;
        Ok(id)
    }

    /// Looks a token up by its hash. The user's current role applies, so a
    /// role change takes effect on the next request.
    pub async fn authenticate(&self, token_hash: &str) -> StoreResult<Authenticated> {
        let row = sqlx::query(
            "SELECT t.kind, t.tenant_id, t.user_id, u.role FROM api_tokens t \
             LEFT JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.deactivated_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        let kind: String = row.try_get("kind")?;
        let role = if kind == "operator" {
            Role::Operator
        } else {
            let role: Option<String> = row.try_get("role")?;
            let role = role.ok_or(StoreError::NotFound)?;
            role.parse()
                .map_err(|e: crate::domain::ParseError| StoreError::Corrupt(e.0))?
        };
        Ok(Authenticated {
            tenant_id: row.try_get("tenant_id")?,
            user_id: row.try_get("user_id")?,
            role,
        })
    }
}

impl TenantStore<'_> {
    pub async fn create_user(&self, user: NewUser<'_>) -> StoreResult<UserRecord> {
        let record = UserRecord {
            id: new_id(),
            email: user.email.to_owned(),
            name: user.name.to_owned(),
            role: user.role,
            attributes: user.attributes.clone(),
            open_leads: 0,
            created_at: Timestamp::now(),
            deactivated_at: None,
            language: None,
            time_zone: None,
        };
        let attributes = &record.attributes;
        let result = sqlx::query(
            "INSERT INTO users (id, tenant_id, email, name, role, password_hash, created_at, regions, specialties, \
             capacity, available) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&record.id)
        .bind(&self.tenant_id)
        .bind(&record.email)
        .bind(&record.name)
        .bind(record.role.as_str())
        .bind(user.password_hash)
        .bind(record.created_at.micros())
        .bind(serde_json::to_string(&attributes.regions).unwrap_or_default())
        .bind(serde_json::to_string(&attributes.specialties).unwrap_or_default())
        .bind(attributes.capacity as i64)
        .bind(i32::from(attributes.available))
        .execute(&self.store.write)
        .await;
        match result {
            Ok(_) => Ok(record),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "a user with email {:?} already exists",
                user.email
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a user's routing attributes (regions, specialties, capacity,
    /// whether they take leads now).
    pub async fn set_rep_attributes(&self, user_id: &str, attributes: &RepAttributes) -> StoreResult<UserRecord> {
        let changed = sqlx::query(
            "UPDATE users SET regions = $3, specialties = $4, capacity = $5, available = $6 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant_id)
        .bind(user_id)
        .bind(serde_json::to_string(&attributes.regions).unwrap_or_default())
        .bind(serde_json::to_string(&attributes.specialties).unwrap_or_default())
        .bind(attributes.capacity as i64)
        .bind(i32::from(attributes.available))
        .execute(&self.store.write)
        .await?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.user_by_id(user_id).await
    }

    /// Gives a user another role; the tenant keeps at least one active admin
    /// (counted in the change's transaction).
    pub async fn set_role(&self, user_id: &str, role: Role) -> StoreResult<UserRecord> {
        let mut tx = self.store.begin_write().await?;
        let changed = sqlx::query("UPDATE users SET role = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(user_id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let admins: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM users WHERE tenant_id = $1 AND role = 'admin' AND deactivated_at IS NULL",
        )
        .bind(&self.tenant_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if admins == 0 {
            return Err(StoreError::Conflict("the workspace needs at least one admin".into()));
        }
        tx.commit().await?;
        self.user_by_id(user_id).await
    }

    pub async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        let rows = sqlx::query("SELECT * FROM users WHERE tenant_id = $1 ORDER BY email")
            .bind(&self.tenant_id)
            .fetch_all(&self.store.read)
            .await?;
        rows.iter().map(UserRecord::from_row).collect()
    }

    pub async fn user_by_email(&self, email: &str) -> StoreResult<UserRecord> {
        self.user_where("email", email).await
    }

    pub async fn user_by_id(&self, id: &str) -> StoreResult<UserRecord> {
        self.user_where("id", id).await
    }

    async fn user_where(&self, column: &'static str, value: &str) -> StoreResult<UserRecord> {
        let row = sqlx::query(&format!("SELECT * FROM users WHERE tenant_id = $1 AND {column} = $2"))
            .bind(&self.tenant_id)
            .bind(value)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        UserRecord::from_row(&row)
    }
}

/// A tenant's key for signing the links in its emails (unsubscribe,
/// tracking): 32 random bytes, hex.
fn new_link_key() -> String {
    rand::random::<[u8; 32]>().iter().map(|b| format!("{b:02x}")).collect()
}

//! Tenants, users and API tokens: what the CLI, the API and the demo loader
//! share.

use std::sync::Arc;

use crate::auth::{ApiToken, hash_password};
use crate::domain::{NormalizedEmail, Region, Role, TenantSlug};
use crate::recent::Recent;
use crate::storage::{NewUser, RepAttributes, Store, StoreResult, TenantRecord, UserRecord};

pub struct NewTenant {
    pub slug: TenantSlug,
    pub name: String,
    pub region: Region,
    pub admin_email: NormalizedEmail,
}

pub struct CreatedTenant {
    pub tenant: TenantRecord,
    pub admin: UserRecord,
    /// The admin's API token, shown once.
    pub admin_token: String,
}

/// A tenant with its first admin and that admin's token.
pub async fn create_tenant(store: &Store, new: NewTenant) -> StoreResult<CreatedTenant> {
    let tenant = store.create_tenant(new.slug.as_str(), &new.name, new.region).await?;
    let admin = add_user(
        store,
        &tenant.id,
        &new.admin_email,
        "Administrator",
        Role::Admin,
        None,
        RepAttributes::default(),
    )
    .await?;
    let admin_token = issue_token(store, &tenant.id, &admin.id, "initial admin token").await?;
    Ok(CreatedTenant {
        tenant,
        admin,
        admin_token,
    })
}

pub async fn add_user(
    store: &Store,
    tenant_id: &str,
    email: &NormalizedEmail,
    name: &str,
    role: Role,
    password: Option<&str>,
    attributes: RepAttributes,
) -> StoreResult<UserRecord> {
    let password_hash = password
        .map(hash_password)
        .transpose()
        .map_err(|e| crate::storage::StoreError::Corrupt(e.to_string()))?;
    store
        .tenant(tenant_id)
        .create_user(NewUser {
            email: email.as_str(),
            name,
            role,
            password_hash,
            attributes,
        })
        .await
}

/// A new token for a user; returns its text, which is never stored.
pub async fn issue_token(store: &Store, tenant_id: &str, user_id: &str, label: &str) -> StoreResult<String> {
    let token = ApiToken::generate();
    store
        .insert_token(&token.hash, Some((tenant_id, user_id)), label)
        .await?;
    Ok(token.text)
}

/// A new operator token (creates tenants over the API).
pub async fn issue_operator_token(store: &Store, label: &str) -> StoreResult<String> {
    let token = ApiToken::generate();
    store.insert_token(&token.hash, None, label).await?;
    Ok(token.text)
}

/// Tenants by slug and id, cached: intake resolves the tenant of every
/// submission. Tenants are never changed or removed once created, so an
/// entry never goes stale; unknown slugs are not cached.
pub type TenantDirectory = Recent<TenantKey, TenantRecord>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TenantKey {
    Slug(String),
    Id(String),
}

pub async fn by_slug(directory: &TenantDirectory, store: &Store, slug: &str) -> StoreResult<Arc<TenantRecord>> {
    directory
        .get(TenantKey::Slug(slug.to_owned()), store.tenant_by_slug(slug))
        .await
}

pub async fn by_id(directory: &TenantDirectory, store: &Store, id: &str) -> StoreResult<Arc<TenantRecord>> {
    directory
        .get(TenantKey::Id(id.to_owned()), store.tenant_by_id(id))
        .await
}

/// A password to give a person once (the demo's, a CLI reset): 80 random
/// bits in four groups of letters and digits that cannot be mistaken for
/// each other when read aloud or typed from a screen.
pub fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..4)
        .map(|_| {
            (0..4)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Sets a user's password (hashed here); their sessions end.
pub async fn set_password(store: &Store, tenant_id: &str, user_id: &str, password: &str) -> StoreResult<()> {
    let hash = hash_password(password).map_err(|e| crate::storage::StoreError::Corrupt(e.to_string()))?;
    store.tenant(tenant_id).set_password(user_id, &hash, None).await
}

//! Creating tenants and users: what an administrator (or a test) does before
//! anyone can sign in.
//!
//! Limitation: there are no HTTP routes for user administration yet; users
//! are created with these functions (the gateway's bootstrap or tests).

use tokio_postgres::Client;

use crate::audit;
use crate::core::ApiCore;
use crate::db::{begin_tenant, query, DbError};
use crate::problem::ApiError;
use crate::roles::Role;
use crate::tenant::TenantId;

/// Creates a tenant. Runs as the connecting (owner) role: the API role may
/// not create tenants.
///
/// # Errors
///
/// When the statement fails (for example the tenant exists).
pub async fn create_tenant(client: &Client, tenant: &TenantId, name: &str) -> Result<(), DbError> {
    client
        .execute(
            "INSERT INTO tenants (id, name) VALUES ($1, $2)",
            &[&tenant.as_str(), &name],
        )
        .await
        .map_err(query("create a tenant"))?;
    Ok(())
}

/// Creates a user of `tenant` and returns its id.
///
/// # Errors
///
/// 400 for a password outside the length bounds, 409 when the user name is
/// taken, 500 on other failures.
pub async fn create_user(
    core: &ApiCore,
    tenant: &TenantId,
    username: &str,
    display_name: &str,
    password: &str,
    roles: &[Role],
) -> Result<String, ApiError> {
    let passwords = core.passwords.clone();
    let pw = password.to_owned();
    let rng = ring::rand::SystemRandom::new();
    let hash = tokio::task::spawn_blocking(move || passwords.hash(&pw, &rng))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| {
            ApiError::validation(vec![crate::problem::FieldError {
                field: "password".to_owned(),
                message: e.to_string(),
            }])
        })?;
    let id = core
        .random(16)
        .map(|b| audit::hex(&b))
        .map_err(|_| ApiError::internal(&"random source failed"))?;
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), tenant).await?;
    let inserted = tx
        .execute(
            "INSERT INTO users (id, tenant_id, username, display_name, password_hash, roles)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, username) DO NOTHING",
            &[
                &id,
                &tenant.as_str(),
                &username,
                &display_name,
                &hash,
                &roles,
            ],
        )
        .await
        .map_err(query("create a user"))?;
    if inserted == 0 {
        return Err(ApiError::conflict("the user name is taken"));
    }
    let mut e = audit::AuditEvent::new(tenant, audit::Action::C, "user.create", "user");
    e.actor_name = "system".to_owned();
    e.entity_id = Some(id.clone());
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit a new user"))?;
    Ok(id)
}

//! `/api/v1/users`: user administration for administrators.
//!
//! Each user has a version, sent as a strong `ETag`. Changes and deletion
//! require `If-Match` with the current ETag (428 without one, 412 when stale),
//! so two administrators cannot overwrite each other's changes unseen.
//! Deletion is soft: the row stays for the audit trail, reads answer 410, and
//! the user's sessions end. Every change, in particular of roles, is audited.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;

use super::{core, Fields};
use crate::audit::{self, Action};
use crate::auth::session::revoke_user;
use crate::auth::users::create_user;
use crate::db::{begin_tenant, query};
use crate::http::{JsonBody, Principal};
use crate::problem::ApiError;
use crate::roles::Role;
use crate::state::AppState;
use crate::time::rfc3339;

/// A user as the API shows it; never the password hash or TOTP secret.
#[derive(Debug, Serialize)]
pub struct User {
    id: String,
    username: String,
    display_name: String,
    roles: Vec<Role>,
    disabled: bool,
    mfa_enabled: bool,
    version: i32,
    created_at: String,
}

const USER_COLUMNS: &str =
    "id, username, display_name, roles, disabled, totp_enabled, version, created_at, deleted_at IS NOT NULL";

fn user(r: &Row) -> User {
    User {
        id: r.get(0),
        username: r.get(1),
        display_name: r.get(2),
        roles: r
            .get::<_, Vec<String>>(3)
            .iter()
            .filter_map(|n| Role::parse(n))
            .collect(),
        disabled: r.get(4),
        mfa_enabled: r.get(5),
        version: r.get(6),
        created_at: rfc3339(r.get(7)),
    }
}

pub(crate) fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"v{version}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

fn with_etag(status: StatusCode, u: User) -> Response {
    let tag = etag(u.version);
    let mut res = (status, Json(u)).into_response();
    res.headers_mut().insert(header::ETAG, tag);
    res
}

/// The version `If-Match` names: 428 without the header, 412 when it names
/// no version of ours.
pub(crate) fn if_match(headers: &HeaderMap) -> Result<i32, ApiError> {
    let v = headers
        .get(header::IF_MATCH)
        .ok_or_else(ApiError::precondition_required)?;
    v.to_str()
        .ok()
        .and_then(|s| s.trim().strip_prefix("\"v"))
        .and_then(|s| s.strip_suffix('"'))
        .and_then(|s| s.parse().ok())
        .ok_or_else(ApiError::precondition_failed)
}

pub(crate) fn valid_id(id: &str) -> Result<(), ApiError> {
    let ok = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

/// Query of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

/// A page of users.
#[derive(Debug, Serialize)]
pub struct UserPage {
    items: Vec<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// `GET /api/v1/users`: users of the caller's site in id order.
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::malformed(e.body_text()))?;
    let mut f = Fields::default();
    let after = f.id_cursor(q.cursor);
    let limit = f.limit(q.limit.as_deref(), 50, 200);
    f.finish()?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let rows = tx
        .query(
            &format!(
                "SELECT {USER_COLUMNS} FROM users
                 WHERE deleted_at IS NULL AND ($1::text IS NULL OR id > $1)
                 ORDER BY id LIMIT $2"
            ),
            &[&after, &(limit + 1)],
        )
        .await
        .map_err(query("list users"))?;
    let mut items: Vec<User> = rows.iter().map(user).collect();
    let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    items.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = more.then(|| items.last().map(|u| u.id.clone())).flatten();
    audit::append(&tx, &who.event(Action::R, "user.list", "user")).await?;
    tx.commit().await.map_err(query("commit"))?;
    Ok(Json(UserPage { items, next_cursor }).into_response())
}

/// `POST /api/v1/users` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: Option<String>,
    display_name: Option<String>,
    password: Option<String>,
    roles: Option<Vec<String>>,
}

fn roles_field(f: &mut Fields, roles: Option<Vec<String>>, required: bool) -> Option<Vec<Role>> {
    let names = match roles {
        None if required => {
            f.bad("roles", "is required");
            return None;
        }
        None => return None,
        Some(n) => n,
    };
    let parsed: Vec<Role> = names.iter().filter_map(|n| Role::parse(n)).collect();
    if parsed.len() != names.len() || parsed.is_empty() {
        f.bad("roles", "must be one or more of the roles this API defines");
        return None;
    }
    Some(parsed)
}

/// Creates a user: 201 with `Location` and `ETag`.
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<NewUser>,
) -> Result<Response, ApiError> {
    let core = core(&state)?;
    let mut f = Fields::default();
    let username = f.text("username", body.username, 1, 128);
    let display = f.text("display_name", body.display_name, 1, 200);
    let password = f.text("password", body.password, 8, 1024);
    let roles = roles_field(&mut f, body.roles, true);
    f.finish()?;
    let roles = roles.unwrap_or_default();
    let id = create_user(&core, &who.tenant, &username, &display, &password, &roles).await?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let row = tx
        .query_one(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
            &[&id],
        )
        .await
        .map_err(query("read the new user"))?;
    let mut e = who.event(Action::C, "user.create", "user");
    e.entity_id = Some(id.clone());
    e.reason = Some(format!("roles: {}", role_list(&roles)));
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    let mut res = with_etag(StatusCode::CREATED, user(&row));
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/users/{id}")) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(res)
}

fn role_list(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// `GET /api/v1/users/{user_id}`: 410 once deleted.
pub async fn get(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    valid_id(&id)?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let row = tx
        .query_opt(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
            &[&id],
        )
        .await
        .map_err(query("read a user"))?
        .ok_or_else(ApiError::not_found)?;
    if row.get::<_, bool>(8) {
        return Err(ApiError::gone());
    }
    let mut e = who.event(Action::R, "user.read", "user");
    e.entity_id = Some(id);
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    Ok(with_etag(StatusCode::OK, user(&row)))
}

/// `PATCH /api/v1/users/{user_id}` body: the fields to change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    display_name: Option<String>,
    roles: Option<Vec<String>>,
    disabled: Option<bool>,
}

/// Locks the user row and checks it against `If-Match`.
async fn locked(
    tx: &tokio_postgres::Transaction<'_>,
    id: &str,
    expected: i32,
) -> Result<Row, ApiError> {
    let row = tx
        .query_opt(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE"),
            &[&id],
        )
        .await
        .map_err(query("lock a user"))?
        .ok_or_else(ApiError::not_found)?;
    if row.get::<_, bool>(8) {
        return Err(ApiError::gone());
    }
    if row.get::<_, i32>(6) != expected {
        return Err(ApiError::precondition_failed());
    }
    Ok(row)
}

/// Changes a user. Disabling ends the user's sessions.
pub async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UserChange>,
) -> Result<Response, ApiError> {
    valid_id(&id)?;
    let mut f = Fields::default();
    let display = body
        .display_name
        .map(|d| f.text("display_name", Some(d), 1, 200));
    let roles = roles_field(&mut f, body.roles, false);
    f.finish()?;
    let expected = if_match(&headers)?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let before = user(&locked(&tx, &id, expected).await?);
    let role_names: Option<Vec<&str>> = roles
        .as_ref()
        .map(|r| r.iter().map(|x| x.as_str()).collect());
    let row = tx
        .query_one(
            &format!(
                "UPDATE users SET display_name = coalesce($2, display_name),
                        roles = coalesce($3, roles), disabled = coalesce($4, disabled),
                        version = version + 1
                 WHERE id = $1 RETURNING {USER_COLUMNS}"
            ),
            &[&id, &display, &role_names, &body.disabled],
        )
        .await
        .map_err(query("change a user"))?;
    let after = user(&row);
    if after.disabled && !before.disabled {
        revoke_user(&tx, &id, "user_disabled").await?;
    }
    let mut e = who.event(Action::U, "user.update", "user");
    e.entity_id = Some(id);
    if before.roles != after.roles {
        e.reason = Some(format!(
            "roles: {} -> {}",
            role_list(&before.roles),
            role_list(&after.roles)
        ));
    }
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    Ok(with_etag(StatusCode::OK, after))
}

/// Soft-deletes a user and ends their sessions: 204, then 410.
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    valid_id(&id)?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    // A deleted user answers 410 even without If-Match.
    let gone = tx
        .query_opt(
            "SELECT deleted_at IS NOT NULL FROM users WHERE id = $1",
            &[&id],
        )
        .await
        .map_err(query("look up a user"))?
        .ok_or_else(ApiError::not_found)?;
    if gone.get::<_, bool>(0) {
        return Err(ApiError::gone());
    }
    let expected = if_match(&headers)?;
    locked(&tx, &id, expected).await?;
    tx.execute(
        "UPDATE users SET deleted_at = now(), version = version + 1 WHERE id = $1",
        &[&id],
    )
    .await
    .map_err(query("delete a user"))?;
    revoke_user(&tx, &id, "user_deleted").await?;
    let mut e = who.event(Action::D, "user.delete", "user");
    e.entity_id = Some(id);
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    Ok(StatusCode::NO_CONTENT)
}

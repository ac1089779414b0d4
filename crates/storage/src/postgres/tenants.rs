//! Workspaces, users and API keys on PostgreSQL. The first workspace is created under an
//! advisory lock, so processes starting together on an empty database agree on one.

use super::PgStore;
use crate::rows::role_refusal;
use crate::rows::{self, API_KEY_COLUMNS, USER_COLUMNS, WORKSPACE_COLUMNS};
use crate::{NewUser, Result, StoreError, TenantStore};
use async_trait::async_trait;
use confab_domain::{ApiKey, ApiKeyId, ApiKeySecret, Email, User, UserId, UserRole, Workspace, WorkspaceId};
use sqlx::PgConnection;

#[async_trait]
impl TenantStore for PgStore {
    async fn create_workspace(&self, name: &str) -> Result<Workspace> {
        insert_workspace(&mut *self.pool.acquire().await?, name).await
    }

    async fn ensure_default_workspace(&self, name: &str) -> Result<Workspace> {
        let sql = format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces ORDER BY created_at, id LIMIT 1");
        if let Some(row) = sqlx::query(&sql).fetch_optional(&self.pool).await? {
            return rows::workspace(&row);
        }
        // processes starting together must agree on one: look again under a lock
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(DEFAULT_WORKSPACE_LOCK).execute(&mut *tx).await?;
        if let Some(row) = sqlx::query(&sql).fetch_optional(&mut *tx).await? {
            return rows::workspace(&row);
        }
        let workspace = insert_workspace(&mut tx, name).await?;
        tx.commit().await?;
        Ok(workspace)
    }

    async fn get_workspace(&self, id: WorkspaceId) -> Result<Workspace> {
        let sql = format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.as_uuid()).fetch_optional(&self.pool).await?;
        rows::workspace(&row.ok_or(StoreError::NotFound("workspace"))?)
    }

    async fn create_user(&self, user: NewUser) -> Result<User> {
        let user = User {
            id: confab_domain::UserId::new(),
            workspace_id: user.workspace_id,
            email: user.email,
            role: user.role,
            password_hash: user.password_hash,
            created_at: crate::precision::now(),
        };
        sqlx::query(
            "INSERT INTO users (id, workspace_id, email, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.as_uuid())
        .bind(user.workspace_id.as_uuid())
        .bind(user.email.as_str())
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(user.created_at)
        .execute(&self.pool)
        .await?;
        Ok(user)
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = sqlx::query(&sql).bind(email.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?)
    }

    async fn list_users(&self, workspace_id: WorkspaceId) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE workspace_id = $1 ORDER BY created_at, id");
        let found = sqlx::query(&sql).bind(workspace_id.as_uuid()).fetch_all(&self.pool).await?;
        found.iter().map(rows::user).collect()
    }

    async fn set_user_role(&self, workspace_id: WorkspaceId, id: UserId, role: UserRole) -> Result<User> {
        let mut tx = self.pool.begin().await?;
        // the owners stay locked until the change commits: two demotions cannot both see two owners
        sqlx::query("SELECT id FROM users WHERE workspace_id = $1 AND role = 'owner' FOR UPDATE")
            .bind(workspace_id.as_uuid())
            .fetch_all(&mut *tx)
            .await?;
        let sql = format!(
            "UPDATE users SET role = $3 WHERE id = $1 AND workspace_id = $2 \
             AND ($3 = 'owner' OR role <> 'owner' \
             OR (SELECT COUNT(*) FROM users WHERE workspace_id = $2 AND role = 'owner') > 1) \
             RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(role.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        match row {
            Some(row) => rows::user(&row),
            None => Err(role_refusal(self.list_users(workspace_id).await?, id)),
        }
    }

    async fn create_api_key(&self, workspace_id: WorkspaceId, name: &str, key: &ApiKeySecret) -> Result<ApiKey> {
        let api_key = ApiKey {
            id: ApiKeyId::new(),
            workspace_id,
            name: name.to_string(),
            display_prefix: key.display_prefix.clone(),
            created_at: crate::precision::now(),
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO api_keys (id, workspace_id, name, display_prefix, key_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(api_key.id.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(&api_key.name)
        .bind(&api_key.display_prefix)
        .bind(&key.hash)
        .bind(api_key.created_at)
        .execute(&self.pool)
        .await?;
        Ok(api_key)
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL");
        let row = sqlx::query(&sql).bind(key_hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::api_key).transpose()
    }

    async fn list_api_keys(&self, workspace_id: WorkspaceId) -> Result<Vec<ApiKey>> {
        let sql =
            format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC");
        let found = sqlx::query(&sql).bind(workspace_id.as_uuid()).fetch_all(&self.pool).await?;
        found.iter().map(rows::api_key).collect()
    }

    async fn revoke_api_key(&self, workspace_id: WorkspaceId, id: ApiKeyId) -> Result<()> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND workspace_id = $3 AND revoked_at IS NULL",
        )
        .bind(crate::precision::now())
        .bind(id.as_uuid())
        .bind(workspace_id.as_uuid())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("api key"));
        }
        Ok(())
    }

    async fn price_table(&self, workspace_id: WorkspaceId) -> Result<Option<serde_json::Value>> {
        if let Some(prices) = self.settings.price_table(workspace_id) {
            return Ok(prices);
        }
        let start = self.settings.read_start();
        let prices: Option<serde_json::Value> =
            sqlx::query_scalar("SELECT prices FROM price_tables WHERE workspace_id = $1")
                .bind(workspace_id.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
        self.settings.keep_price_table(start, workspace_id, prices.clone());
        Ok(prices)
    }

    async fn delete_price_table(&self, workspace_id: WorkspaceId) -> Result<()> {
        sqlx::query("DELETE FROM price_tables WHERE workspace_id = $1")
            .bind(workspace_id.as_uuid())
            .execute(&self.pool)
            .await?;
        self.settings.changed();
        Ok(())
    }

    async fn set_price_table(&self, workspace_id: WorkspaceId, prices: &serde_json::Value) -> Result<()> {
        sqlx::query(
            "INSERT INTO price_tables (workspace_id, prices, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (workspace_id) DO UPDATE SET prices = excluded.prices, updated_at = excluded.updated_at",
        )
        .bind(workspace_id.as_uuid())
        .bind(prices)
        .bind(crate::precision::now())
        .execute(&self.pool)
        .await?;
        self.settings.changed();
        Ok(())
    }
}

/// The advisory lock `ensure_default_workspace` holds while it creates the first workspace.
const DEFAULT_WORKSPACE_LOCK: i64 = 0x636f_6e66_6162_0001; // "confab" 1

async fn insert_workspace(conn: &mut PgConnection, name: &str) -> Result<Workspace> {
    let workspace = Workspace { id: WorkspaceId::new(), name: name.to_string(), created_at: crate::precision::now() };
    sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(workspace.id.as_uuid())
        .bind(&workspace.name)
        .bind(workspace.created_at)
        .execute(conn)
        .await?;
    Ok(workspace)
}

//! Storage errors, mapped from driver errors so callers can react to what happened (a missing
//! row, a conflict on a named constraint, a lost lease) without seeing SQL.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique constraint refused the write; the constraint's name says which.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// The lease was taken over or expired: the caller must not commit its work.
    #[error("the conversation lease was lost (expired or taken over by another worker)")]
    LeaseLost,
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("database configuration: {0}")]
    Config(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound("row"),
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                constraint: db.constraint().map(str::to_string).unwrap_or_else(|| db.message().to_string()),
            },
            _ => StoreError::Database(err),
        }
    }
}

impl From<confab_domain::ValidationError> for StoreError {
    fn from(err: confab_domain::ValidationError) -> Self {
        StoreError::Corrupt(err.to_string())
    }
}

impl StoreError {
    /// Whether this is a conflict on the named unique constraint (SQLite reports the columns
    /// rather than the name, so both are accepted).
    pub fn is_conflict_on(&self, constraint: &str, columns: &str) -> bool {
        matches!(self, StoreError::Conflict { constraint: c } if c.contains(constraint) || c.contains(columns))
    }
}

//! Test support: a fresh, empty database per test on a shared PostgreSQL server.

use crate::StoreError;
use sqlx::{Connection, PgConnection};

/// Creates a new database on the server of `base_url` and returns a URL naming it. The
/// databases are left behind for inspection; CI's server is thrown away after the run.
pub async fn fresh_database(base_url: &str) -> Result<String, StoreError> {
    let mut conn = PgConnection::connect(base_url).await?;
    let name = format!("confab_test_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
    conn.close().await?;
    Ok(with_database(base_url, &name))
}

/// `base_url` with its database path replaced by `name` (query parameters kept).
fn with_database(base_url: &str, name: &str) -> String {
    let (head, query) = match base_url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (base_url, None),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let authority_end = head[scheme_end..].find('/').map_or(head.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &head[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database() {
        assert_eq!(super::with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(super::with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(super::with_database("postgres://h/db?sslmode=disable", "x"), "postgres://h/x?sslmode=disable");
    }
}

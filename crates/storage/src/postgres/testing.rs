//! Test support: a fresh, empty database per test (and per `confab bench … --postgres` run)
//! on a shared PostgreSQL server, and the clean-up of the ones earlier runs left there.

use crate::StoreError;
use sqlx::{Connection, PgConnection};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Every database made here is named `confab_test_<unix seconds>_<uuid>`.
const PREFIX: &str = "confab_test_";

/// How long a made database is left for inspection before a later [`fresh_database`] on the
/// same server drops it: tests and benchmarks never drop their own, and a server that outlives
/// its runs (a laptop's, or CI's on a machine that is kept) would otherwise fill up.
const KEEP_FOR: Duration = Duration::from_secs(60 * 60);

/// The advisory lock that lets one caller at a time drop stale databases.
const CLEANUP_LOCK: i64 = 0x636f_6e66_6162_0001;

/// Creates a new database on the server of `base_url` and returns a URL naming it; drops the
/// ones made more than [`KEEP_FOR`] ago on the way.
pub async fn fresh_database(base_url: &str) -> Result<String, StoreError> {
    let mut conn = PgConnection::connect(base_url).await?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    drop_stale_databases(&mut conn, now).await;
    let name = format!("{PREFIX}{}_{}", now.as_secs(), uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
    conn.close().await?;
    Ok(with_database(base_url, &name))
}

/// Drops the databases made here more than [`KEEP_FOR`] before `now`, best effort: one caller
/// at a time (the others go on at once), and a database still in use stays for a later call.
async fn drop_stale_databases(conn: &mut PgConnection, now: Duration) {
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(CLEANUP_LOCK)
        .fetch_one(&mut *conn)
        .await
        .unwrap_or(false);
    if !locked {
        return;
    }
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
        .bind(PREFIX)
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
    for name in names.into_iter().filter(|name| is_stale(name, now)) {
        if let Err(err) = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\"")).execute(&mut *conn).await {
            tracing::debug!(database = %name, error = %err, "a stale test database stays for now");
        }
    }
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(CLEANUP_LOCK).execute(&mut *conn).await;
}

/// Whether `name` is a database made here more than [`KEEP_FOR`] before `now`. Names from
/// before the creation time was part of them count as stale; anything else is never touched.
fn is_stale(name: &str, now: Duration) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX) else { return false };
    if !rest.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return false;
    }
    match rest.split_once('_').and_then(|(secs, _)| secs.parse::<u64>().ok()) {
        Some(created) => now.as_secs().saturating_sub(created) > KEEP_FOR.as_secs(),
        None => true,
    }
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
    use super::*;

    #[test]
    fn only_databases_made_here_more_than_an_hour_ago_are_stale() {
        let now = Duration::from_secs(1_800_000_000);
        let made = |secs_ago: u64| format!("{PREFIX}{}_0190c8a3b2c47d2e8f00112233445566", 1_800_000_000 - secs_ago);
        assert!(is_stale(&made(KEEP_FOR.as_secs() + 1), now));
        assert!(!is_stale(&made(KEEP_FOR.as_secs() - 1), now), "kept for inspection");
        assert!(!is_stale(&made(0), now));
        assert!(is_stale("confab_test_0190c8a3b2c47d2e8f00112233445566", now), "the naming before the time was in it");
        assert!(!is_stale("confab_production", now));
        assert!(!is_stale("postgres", now));
        assert!(!is_stale("confab_test_1\"; DROP TABLE x; --", now), "only names this module makes");
    }

    #[tokio::test]
    async fn a_fresh_database_drops_the_stale_ones() {
        let Ok(base) = std::env::var("CONFAB_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but CONFAB_TEST_POSTGRES_URL is not set: the PostgreSQL tests must run in CI"
            );
            eprintln!("skipping: set CONFAB_TEST_POSTGRES_URL=postgres://… to run it");
            return;
        };
        let mut conn = PgConnection::connect(&base).await.unwrap();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let stale = format!("{PREFIX}{}_{}", now.as_secs() - KEEP_FOR.as_secs() - 60, uuid::Uuid::now_v7().simple());
        let kept = format!("{PREFIX}{}_{}", now.as_secs() - 60, uuid::Uuid::now_v7().simple());
        for name in [&stale, &kept] {
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
        }
        let made = fresh_database(&base).await.unwrap();
        let exists = |name: String| {
            let base = base.clone();
            async move {
                let mut conn = PgConnection::connect(&base).await.unwrap();
                sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                    .bind(name)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            }
        };
        assert!(!exists(stale).await, "made more than an hour ago: dropped");
        assert!(exists(kept.clone()).await, "a minute old: kept");
        assert!(exists(made.rsplit('/').next().unwrap().to_owned()).await);
        sqlx::query(&format!("DROP DATABASE {kept}")).execute(&mut conn).await.unwrap();
    }

    #[test]
    fn replaces_the_database() {
        assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(with_database("postgres://h/db?sslmode=disable", "x"), "postgres://h/x?sslmode=disable");
    }
}

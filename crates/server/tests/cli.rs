//! The real `confab` binary, driven as a person would: create an API key, start the server,
//! ask who the key belongs to, stop it with SIGTERM.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_confab");

fn confab(dir: &std::path::Path, database_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CONFAB_DATABASE_URL", database_url)
        .env("CONFAB_LOG", "warn");
    cmd
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// Polls `/healthz` until it answers; returns how long that took.
async fn wait_healthy(client: &reqwest::Client, base: &str) -> Duration {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(res) = client.get(format!("{base}/healthz")).send().await {
            if res.status() == 200 {
                return start.elapsed();
            }
        }
        tokio::task::yield_now().await;
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("confab serve did not become healthy");
}

async fn serve_and_check(dir: &std::path::Path, database_url: &str) {
    let out = confab(dir, database_url).args(["apikey", "create", "--name", "ci"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.lines().last().expect("the key is the last line").to_string();
    assert!(key.starts_with("cfk_"), "{stdout}");

    let port = free_port();
    let child = confab(dir, database_url)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;

    let res = client.get(format!("{base}/api/v1/whoami")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["workspace"]["name"], "My workspace");
    let res = client.get(format!("{base}/api/v1/whoami")).bearer_auth("cfk_wrong").send().await.unwrap();
    assert_eq!(res.status(), 401);

    // graceful shutdown on SIGTERM
    let status = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = server.0.wait().unwrap();
    assert!(exit.success(), "confab exits cleanly on SIGTERM: {exit:?}");
    let stderr = BufReader::new(server.0.stderr.take().unwrap()).lines().map_while(Result::ok).collect::<Vec<_>>();
    assert!(!stderr.iter().any(|l| l.contains(&key)), "the key never reaches the logs");
}

#[tokio::test(flavor = "multi_thread")]
async fn apikey_then_serve_then_whoami_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    // the default URL, relative to the working directory, as on a fresh clone
    serve_and_check(dir.path(), "sqlite://./data/confab.db").await;
    assert!(dir.path().join("data/confab.db").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn apikey_then_serve_then_whoami_on_postgres() {
    let Ok(base) = std::env::var("CONFAB_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "CI=true requires CONFAB_TEST_POSTGRES_URL");
        eprintln!("skipping PostgreSQL: set CONFAB_TEST_POSTGRES_URL=postgres://… to run it");
        return;
    };
    let url = confab_storage::postgres::testing::fresh_database(&base).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    serve_and_check(dir.path(), &url).await;
}

#[test]
fn bad_configuration_fails_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = confab(dir.path(), "sqlite://x.db").env("CONFAB_BIND", "nowhere").args(["migrate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(stderr.contains("bind"), "{stderr}");
}

#[test]
fn config_example_and_user_add() {
    let dir = tempfile::tempdir().unwrap();
    let out = confab(dir.path(), "sqlite://x.db").args(["config", "example"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("database_url ="));

    let add = |email: &str| {
        confab(dir.path(), "sqlite://./c.db")
            .args(["user", "add", email, "--role", "agent", "--password", "long enough password"])
            .output()
            .unwrap()
    };
    let first = add("ana@example.com");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let again = add("ana@example.com");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad = confab(dir.path(), "sqlite://./c.db")
        .args(["user", "add", "not-an-email", "--password", "long enough password"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn bench_ingest_runs_and_checks_durability() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("ingest.json");
    let out = confab(dir.path(), "sqlite://unused.db")
        .args(["bench", "ingest", "--duration-secs", "1", "--connections", "4", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ack latency (ms)"), "{stdout}");
    let figures: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let acknowledged = figures["report"]["acknowledged_unique_messages"].as_u64().unwrap();
    assert!(acknowledged > 0);
    assert_eq!(figures["stored_messages"].as_u64(), Some(acknowledged), "every acknowledged message is stored");
    assert!(!dir.path().join("unused.db").exists(), "the benchmark uses a database of its own");
}

/// `confab demo`: within seconds a simulated customer writes, the assistant (offline, from the
/// demo knowledge base) answers, the reply goes to the fake Graph API and its statuses come back.
#[tokio::test]
async fn demo_customers_get_answers_that_are_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = "sqlite://./data/demo.db";
    let port = free_port();
    let child = confab(dir.path(), database_url)
        .args(["demo", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&client, &base).await;
    let out = confab(dir.path(), database_url).args(["apikey", "create", "--name", "demo"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().lines().last().unwrap().to_string();

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list: serde_json::Value = client
            .get(format!("{base}/api/v1/conversations?type=whatsapp"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut delivered = None;
        for item in list["items"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap();
            let detail: serde_json::Value = client
                .get(format!("{base}/api/v1/conversations/{id}"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let messages = detail["messages"].as_array().unwrap().clone();
            if messages.iter().any(|m| m["role"] == "assistant" && m["status"] == "read") {
                delivered = Some(messages);
            }
        }
        if let Some(messages) = delivered {
            assert_eq!(messages[0]["role"], "user", "a customer wrote first");
            break;
        }
        assert!(Instant::now() < deadline, "no demo reply was delivered within 30 s: {list}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

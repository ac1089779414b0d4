//! The command line (DESIGN §8): parses arguments, loads settings, runs one subcommand, and
//! turns its error into a message that says what to do next.

use crate::commands;
use crate::config::{FlagOverrides, Settings};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "confab", version, about = "Self-hostable AI assistants for WhatsApp, web chat and APIs")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// A confab.toml to read (default: ./confab.toml if present).
    #[arg(long, global = true, env = "CONFAB_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… (overrides CONFAB_DATABASE_URL).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: migrate the database, then serve HTTP until SIGINT/SIGTERM.
    Serve {
        /// Address to listen on (overrides CONFAB_BIND).
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Run the server with a demo workspace (an assistant, a knowledge base, a WhatsApp number
    /// on a fake Graph API) and simulated customers chatting with it. Uses ./data/demo.db unless
    /// a database is given.
    Demo {
        /// Address to listen on (overrides CONFAB_BIND).
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Dashboard users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API keys for the REST API.
    Apikey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Benchmarks: load a confab with realistic traffic and print what it sustained.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Signed WhatsApp webhooks only (no replies): throughput, ack latency, durability.
    Ingest(crate::commands::bench::IngestArgs),
    /// Fill the database (--database-url) with realistic conversations, fast, for demos and for
    /// measuring the read paths.
    Seed(crate::commands::bench::seed::SeedArgs),
    /// Time the list, conversation, metrics and export read paths on a seeded database.
    Query(crate::commands::bench::query::QueryArgs),
    /// Inbound WhatsApp messages answered by the (fake) LLM and sent through the fake Graph API:
    /// response time minus the LLM's latency, lost and duplicate replies.
    E2e(crate::commands::bench::e2e::E2eArgs),
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print a confab.toml with every setting, its default and its meaning.
    Example,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a dashboard user to the default workspace.
    Add {
        email: String,
        /// owner, admin, agent or viewer.
        #[arg(long, default_value = "admin")]
        role: String,
        /// The password; asked for when omitted (read from standard input when it is not a terminal).
        #[arg(long)]
        password: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Create a key for the default workspace; the key is printed once, as the last line.
    Create {
        #[arg(long, default_value = "default")]
        name: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Config { command: ConfigCommand::Example } = cli.command {
        print!("{}", crate::config::EXAMPLE);
        return ExitCode::SUCCESS;
    }
    let bind = match &cli.command {
        Command::Serve { bind } | Command::Demo { bind } => *bind,
        _ => None,
    };
    let flags = FlagOverrides { bind, database_url: cli.global.database_url.clone() };
    let settings = match Settings::load(cli.global.config.as_deref(), &flags) {
        // a benchmark measures the server, not its request logs (CONFAB_LOG still wins)
        Ok(mut settings)
            if matches!(cli.command, Command::Bench { .. }) && std::env::var_os("CONFAB_LOG").is_none() =>
        {
            settings.log = "warn".into();
            settings
        }
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("confab: {err:#}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("confab: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { .. } => commands::serve::run(settings).await,
            Command::Demo { .. } => commands::demo::run(settings).await,
            Command::Migrate => commands::migrate::run(settings).await,
            Command::User { command: UserCommand::Add { email, role, password } } => {
                commands::user::add(settings, &email, &role, password).await
            }
            Command::Apikey { command: ApiKeyCommand::Create { name } } => {
                commands::apikey::create(settings, &name).await
            }
            Command::Bench { command: BenchCommand::Ingest(args) } => commands::bench::ingest(args).await,
            Command::Bench { command: BenchCommand::Seed(args) } => commands::bench::seed::run(settings, args).await,
            Command::Bench { command: BenchCommand::Query(args) } => commands::bench::query::run(settings, args).await,
            Command::Bench { command: BenchCommand::E2e(args) } => commands::bench::e2e::run(args).await,
            Command::Config { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("confab: {err:#}");
            ExitCode::FAILURE
        }
    }
}

//! The `confab` server: configuration, wiring, the HTTP surface and the CLI subcommands.
//! Only this crate sees axum routes; it holds no business rules of its own.

pub mod cli;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod http;
pub mod passwords;
pub mod state;
pub mod telemetry;

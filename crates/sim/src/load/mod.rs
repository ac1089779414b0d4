//! The load generator behind `confab bench`: drives a running confab over loopback exactly as
//! Meta would, and measures what it sees. Scenarios live one per file.

pub mod e2e;
pub mod ingest;
pub mod latency;

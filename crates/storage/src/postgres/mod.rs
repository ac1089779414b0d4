//! The PostgreSQL backend (being ported from the SQLite one).

pub mod testing;

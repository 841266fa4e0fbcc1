//! Shared by the integration tests; each test binary uses a part of it.
#![allow(dead_code)]
pub mod better_auth;
pub mod better_auth_install;
pub mod db;
pub mod files;
pub mod fixtures;
pub mod gateway;
pub mod pg;
pub mod pgbouncer;
pub mod pki;
pub mod process;
pub mod server;
pub mod sql;
pub mod vectors;

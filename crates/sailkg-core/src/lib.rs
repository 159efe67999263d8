//! Shared foundation of SAIL-KG: the vocabulary and named-graph layout, configuration and roles.
//!
//! Everything here is free of I/O beyond reading the configuration file, so every other crate can
//! depend on it without pulling in the store or the server.

mod config;
pub mod terms;
pub mod vocab;

pub use config::{
    AuthConfig, Config, ConfigError, ENV_OVERRIDES, LoadConfig, Role, ServerConfig, SparqlConfig, SqlConfig,
    TokenConfig,
};

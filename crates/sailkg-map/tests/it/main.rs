//! Integration tests of sailkg-map: the RML conformance suites.

mod conformance;
mod link;

use std::path::PathBuf;

pub fn shared() -> PathBuf {
    match std::env::var_os("SAILKG_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

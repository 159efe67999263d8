//! End-to-end tests of the `sailkg` binary: commands, exit codes, and crash safety of the server.

mod browser;
mod cli;
mod crash;
mod jobs;
mod pipeline;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const TOKEN: &str = "crash-test-admin-token-0123456789";

pub fn shared() -> PathBuf {
    match std::env::var_os("SAILKG_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

pub fn sailkg(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sailkg"));
    command
        .arg("--data")
        .arg(data)
        .env_remove("SAILKG_CONFIG")
        .env_remove("SAILKG_DATA")
        .env("SAILKG_LOG", "error");
    command
}

pub fn run(data: &Path, args: &[&str]) -> Output {
    sailkg(data).args(args).output().expect("run sailkg")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

//! The `sailkg` command: parses arguments, runs a command, maps its error to an exit code.

use clap::Parser;
use sailkg_cli::{Cli, exit_code, run};

fn main() {
    let cli = Cli::parse();
    sailkg_cli::init_logging();
    match run(cli) {
        Ok(()) => {}
        Err(error) => {
            let code = exit_code(&error);
            eprintln!("error: {error:#}");
            std::process::exit(code);
        }
    }
}

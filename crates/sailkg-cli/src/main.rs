//! The `sailkg` command: parses arguments, runs a command, maps its error to an exit code.

use clap::Parser;
use sailkg_cli::{Cli, error_message, exit_code, run};

// Mapping, ingest and loading allocate many small strings; mimalloc serves them markedly faster
// than the system allocator (see benches/map.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    sailkg_cli::init_logging();
    match run(cli) {
        Ok(()) => {}
        Err(error) => {
            let code = exit_code(&error);
            eprintln!("error: {}", error_message(&error));
            std::process::exit(code);
        }
    }
}

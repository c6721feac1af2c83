//! `hounsfield` binary: parse the command line and run it; errors become one
//! line on stderr and exit code 1.

use clap::{CommandFactory as _, Parser as _};
use hounsfield::cli::{Cli, run};

fn main() {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        // The viewer is not built yet: show what the command line offers.
        Cli::command().print_help().ok();
        println!();
        return;
    };
    if let Err(e) = run(command) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

//! `hounsfield` binary: without a command the viewer opens on the demo
//! study; `view PATH` opens a study; every other command runs headless.
//! Errors become one line on stderr and exit code 1.

use clap::Parser as _;
use hounsfield::cli::{Cli, Command, run};
use hounsfield::ui::{AppOptions, run_app};

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        None => run_app(AppOptions::default()).map_err(anyhow::Error::from),
        Some(Command::View(v)) => run_app(AppOptions {
            open: v.path,
            open_segmentation: v.seg,
            screenshot: v.screenshot,
            exit_after_frames: Some(v.frames),
            config_dir: None,
        })
        .map_err(anyhow::Error::from),
        Some(command) => run(command),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

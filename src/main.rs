//! `hounsfield` binary: without a command the viewer opens on the demo
//! study; `view PATH` opens a study; every other command runs headless.
//! Errors become one line on stderr and exit code 1.

use clap::Parser as _;
use hounsfield::cli::{Cli, Command, run};

fn main() {
    let cli = Cli::parse();
    init_logging();
    // Panics are caught (decoders behind `dicom::codec::firewall`, jobs, and
    // the command below) and reported as one line; the default hook's
    // multi-line report would only add noise.
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }
    let result = std::panic::catch_unwind(|| run_command(cli)).unwrap_or_else(|payload| {
        Err(anyhow::anyhow!(
            "internal error: {}",
            hounsfield::dicom::codec::panic_message(payload.as_ref())
        ))
    });
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Logging to stderr through `tracing`: `RUST_LOG` chooses (for example
/// `RUST_LOG=hounsfield=debug` for every load, decode and job span with its
/// duration); by default only hounsfield's warnings: a dependency's log
/// (a decoder's complaint, wgpu) only when `RUST_LOG` asks, so that an error
/// stays one line on stderr. `log` records are bridged in.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::format::FmtSpan;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("hounsfield=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A second subscriber (tests call into the library, not main) is not an
    // error worth reporting.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_span_events(FmtSpan::CLOSE)
        .try_init()
        .ok();
}

#[cfg(feature = "viewer")]
fn run_command(cli: Cli) -> anyhow::Result<()> {
    use hounsfield::ui::{AppOptions, run_app};
    match cli.command {
        None => run_app(AppOptions::default()).map_err(anyhow::Error::from),
        Some(Command::View(v)) => run_app(AppOptions {
            open: v.path,
            open_segmentation: v.seg,
            screenshot: v.screenshot,
            exit_after_frames: Some(v.frames),
            config_dir: None,
            hide_timings: v.hide_timings,
        })
        .map_err(anyhow::Error::from),
        Some(command) => run(command),
    }
}

#[cfg(not(feature = "viewer"))]
fn run_command(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None | Some(Command::View(_)) => anyhow::bail!(
            "this build has no viewer (built without the `viewer` feature): run a command, see --help"
        ),
        Some(command) => run(command),
    }
}

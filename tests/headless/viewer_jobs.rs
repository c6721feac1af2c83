//! The viewer's jobs without a window: several run at once, each with its
//! own progress and cancel, and each hands back its own result. Driven
//! through `App::step_logic` on a bare `egui::Context` (no rendering).

use crate::common;

use hounsfield::ui::command::Command;
use hounsfield::ui::picker::FixedPicker;
use hounsfield::ui::{App, AppOptions};

fn app() -> (App, tempfile::TempDir) {
    let config = common::tempdir();
    let app = App::new(
        AppOptions {
            config_dir: Some(config.path().to_path_buf()),
            hide_timings: true,
            ..Default::default()
        },
        Box::new(FixedPicker::default()),
    );
    (app, config)
}

fn step_until(app: &mut App, ctx: &egui::Context, done: impl Fn(&App) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(3);
    while std::time::Instant::now() < deadline {
        app.step_logic(ctx);
        if done(app) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("timed out");
}

/// A long rotating MIP export and the lung segmentation run side by side;
/// cancelling the export by its id stops it alone (no file, an error
/// message), the segmentation goes on and becomes the overlay.
#[test]
fn two_jobs_run_at_once_and_one_is_cancelled_alone() {
    let (mut app, _config) = app();
    let ctx = egui::Context::default();
    let tmp = common::tempdir();
    let gif = tmp.path().join("big.gif");
    app.exports.gif.settings.step_deg = 1.0;
    app.exports.gif.settings.size = 1024;
    app.push(Command::ExportRotatingMip(gif.clone()));
    app.push(Command::SegmentLungs);
    app.apply_commands();
    let jobs = app.running_jobs();
    let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"Segmenting the lungs"), "{names:?}");
    let export = jobs
        .iter()
        .find(|j| j.name.starts_with("Rotating MIP"))
        .expect("the export runs")
        .id;
    assert_ne!(jobs[0].id, jobs[1].id);

    app.push(Command::Cancel(export));
    step_until(&mut app, &ctx, |a| !a.exports.is_busy());
    let m = app.message.clone().unwrap();
    assert!(m.is_error && m.text.contains("cancel"), "{m:?}");
    assert!(!gif.exists());
    // The other job was not touched.
    let still: Vec<String> = app.running_jobs().into_iter().map(|j| j.name).collect();
    assert!(
        still.is_empty() || still == ["Segmenting the lungs"],
        "{still:?}"
    );

    step_until(&mut app, &ctx, |a| !a.task_running());
    let m = app.message.clone().unwrap();
    assert!(!m.is_error && m.text.starts_with("lungs:"), "{m:?}");
    let seg = app.study.as_ref().unwrap().segmentation.clone().unwrap();
    assert_eq!(seg.source, "lungs (classical 3D)");
}

/// A second job of the same kind is refused with a message naming the one
/// running; a file write is not a job of that kind and starts anyway.
#[test]
fn a_second_job_of_one_kind_is_refused_but_writes_run_beside_it() {
    let (mut app, _config) = app();
    let ctx = egui::Context::default();
    let tmp = common::tempdir();
    app.push(Command::SegmentLungs);
    app.push(Command::SegmentLungs);
    let montage = tmp.path().join("montage.png");
    app.push(Command::ExportMontage(montage.clone()));
    app.apply_commands();
    let m = app.message.clone().unwrap();
    assert!(
        m.is_error && m.text.contains("Segmenting the lungs is still running"),
        "{m:?}"
    );
    assert_eq!(app.running_jobs().len(), 2);
    step_until(&mut app, &ctx, |a| !a.task_running());
    assert!(montage.exists());
    assert!(app.study.as_ref().unwrap().segmentation.is_some());
}

/// Display settings change only through commands: a draw-side edit is a
/// `Command::Display`, applied by the handler.
#[test]
fn display_edits_are_commands() {
    use hounsfield::ui::command::DisplayEdit;
    let (mut app, _config) = app();
    assert!(app.state.show_crosshair);
    app.push(Command::Display(DisplayEdit::ShowCrosshair(false)));
    app.push(Command::Display(DisplayEdit::SlabMm(-3.0)));
    app.apply_commands();
    assert!(!app.state.show_crosshair);
    assert!(
        app.state.slab_mm.abs() < f32::EPSILON,
        "a slab is never negative"
    );
}

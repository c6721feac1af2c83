//! Opening studies in the background: scanning a path and loading a series,
//! with a first-slice preview, and taking the jobs' results. When a scan
//! finds exactly one loadable series, the same job goes on to load it, so
//! the first slice does not wait for a UI frame in between.

use std::path::PathBuf;

use super::app::App;
use super::command::Command;
use crate::dicom::{self, LoadControl, ScanReport, SeriesInfo};
use crate::jobs::{BoxError, Job, JobControl, JobError};
use crate::study::{self, Study};

/// What an open job produces: the scan, and the study when it loaded one.
pub(crate) struct Opened {
    report: ScanReport,
    volumes: Vec<(PathBuf, Result<study::VolumeFileSummary, String>)>,
    study: Option<Result<Study, JobError>>,
}

/// The grid and kind of every NIfTI/NRRD/NumPy file of a scan.
fn summarize_volumes(
    report: &ScanReport,
) -> Vec<(PathBuf, Result<study::VolumeFileSummary, String>)> {
    report
        .volume_files
        .iter()
        .map(|p| {
            let s = study::summarize_volume_file(p).map_err(|e| crate::jobs::error_chain(&e));
            (p.clone(), s)
        })
        .collect()
}

/// Without any image series, the one NIfTI/NRRD volume of a scan (not a
/// label map, and not NumPy, which carries no geometry) opens as the study.
fn only_volume(
    report: &ScanReport,
    volumes: &[(PathBuf, Result<study::VolumeFileSummary, String>)],
) -> Option<PathBuf> {
    if !report.series.is_empty() {
        return None;
    }
    let mut candidates = volumes.iter().filter(|(p, s)| {
        s.as_ref()
            .is_ok_and(|s| s.kind == study::VolumeFileKind::Volume)
            && study::is_label_map_file(p)
    });
    match (candidates.next(), candidates.next()) {
        (Some((p, _)), None) => Some(p.clone()),
        _ => None,
    }
}

/// Publish the middle slice, then load the whole series.
fn load_with_preview(info: &SeriesInfo, c: &JobControl) -> Result<Study, BoxError> {
    c.set_note("first slice");
    if let Some(first) = study::first_slice(info) {
        c.set_partial(first);
    }
    c.set_note("decoding");
    let progress = |d: usize, t: usize| c.set_progress(d, t);
    let control = LoadControl {
        progress: Some(&progress),
        cancel: Some(c.cancel_flag()),
    };
    Ok(study::load(info, &control)?)
}

/// Index of the only loadable series, if there is exactly one.
fn only_loadable(report: &ScanReport) -> Option<usize> {
    let mut ok = report
        .series
        .iter()
        .enumerate()
        .filter(|(_, s)| s.layout.is_ok());
    match (ok.next(), ok.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

impl App {
    pub(super) fn start_scan(&mut self, path: PathBuf) {
        self.open_started = Some(std::time::Instant::now());
        self.first_slice_s = None;
        let waker = self.waker();
        let p = path.clone();
        let job = Job::spawn(format!("Opening {}", path.display()), waker, move |c| {
            c.set_note("reading headers");
            let report = dicom::scan(&[p]);
            let mut study = only_loadable(&report)
                .map(|i| load_with_preview(&report.series[i], c).map_err(JobError::new));
            c.set_note("reading volume files");
            let volumes = summarize_volumes(&report);
            if study.is_none()
                && let Some(p) = only_volume(&report, &volumes)
            {
                study = Some(study::volume_file_study(&p).map_err(JobError::new));
            }
            Ok(Opened {
                report,
                volumes,
                study,
            })
        });
        match job {
            Ok(j) => {
                self.scan_job = Some(j);
                self.scan = Some((path, ScanReport::default()));
            }
            Err(e) => self.error(e),
        }
    }

    pub(super) fn start_load(&mut self, index: usize) {
        let Some(info) = self
            .scan
            .as_ref()
            .and_then(|(_, r)| r.series.get(index).cloned())
        else {
            return;
        };
        if let Err(e) = &info.layout {
            let e = e.clone();
            self.error(format!("cannot load this series: {e}"));
            return;
        }
        if let Some(j) = &self.load_job {
            j.cancel();
        }
        self.open_started = Some(std::time::Instant::now());
        self.first_slice_s = None;
        let waker = self.waker();
        let name = info
            .metadata
            .series_description
            .clone()
            .unwrap_or_else(|| "series".into());
        match Job::spawn(format!("Loading {name}"), waker, move |c| {
            load_with_preview(&info, c)
        }) {
            Ok(j) => self.load_job = Some(j),
            Err(e) => self.error(e),
        }
    }

    pub(super) fn start_volume_load(&mut self, path: PathBuf) {
        if let Some(j) = &self.load_job {
            j.cancel();
        }
        self.open_started = Some(std::time::Instant::now());
        self.first_slice_s = None;
        let waker = self.waker();
        let name = format!("Opening {}", path.display());
        match Job::spawn(name, waker, move |c| {
            c.set_note("reading");
            Ok(study::volume_file_study(&path)?)
        }) {
            Ok(j) => self.load_job = Some(j),
            Err(e) => self.error(e),
        }
    }

    /// Take finished job results. Called from `logic()`; tests call it too.
    pub fn poll_jobs(&mut self) {
        let first = self
            .load_job
            .as_ref()
            .and_then(Job::take_partial::<Study>)
            .or_else(|| self.scan_job.as_ref().and_then(Job::take_partial::<Study>));
        if let Some(first) = first {
            self.show_preview(first);
        }
        if let Some(r) = self.scan_job.as_ref().and_then(Job::poll) {
            self.scan_job = None;
            match r {
                Ok(opened) => {
                    self.finish_scan(opened.report, opened.volumes);
                    if let Some(result) = opened.study {
                        self.finish_load(result);
                    }
                }
                Err(e) => self.error(e.to_string()),
            }
        }
        if let Some(r) = self.load_job.as_ref().and_then(Job::poll) {
            self.load_job = None;
            self.finish_load(r);
        }
    }

    fn show_preview(&mut self, first: Study) {
        if let Some(t) = self.open_started {
            self.first_slice_s = Some(t.elapsed().as_secs_f64());
        }
        if !self.previewing {
            self.before_preview = self.study.take();
        }
        self.set_study(first);
        self.previewing = true;
    }

    fn finish_load(&mut self, result: Result<Study, JobError>) {
        let preview_state = self.previewing.then(|| self.state.clone());
        self.previewing = false;
        match result {
            Ok(s) => {
                self.before_preview = None;
                let msg = self.timing_message(&s);
                self.set_study(s);
                if let Some(seg) = self.take_startup_segmentation() {
                    self.push(Command::OpenSegmentation(seg));
                }
                // After a first-slice preview, stay where the user is.
                if let Some(state) = preview_state {
                    self.state = state;
                }
                self.info(msg);
            }
            Err(e) => {
                let _ = self.take_startup_segmentation();
                // Back to the study shown before the preview.
                if let Some(prev) = self.before_preview.take() {
                    self.set_study(prev);
                }
                self.open_started = None;
                self.error(format!(
                    "loading failed (the previous study stays open): {e}"
                ));
            }
        }
    }

    fn timing_message(&mut self, s: &Study) -> String {
        if self.hide_timings() {
            self.open_started = None;
            self.first_slice_s = None;
            return format!("Loaded {}", s.name);
        }
        let Some(t) = self.open_started.take() else {
            return format!("Loaded {} in {:.2} s", s.name, s.load_s);
        };
        let total = t.elapsed().as_secs_f64();
        let first = self.first_slice_s.take().unwrap_or(total);
        if std::env::var_os("HOUNSFIELD_TIMING").is_some_and(|v| v == "1") {
            eprintln!(
                "internal: first_slice_s={first:.4} volume_s={total:.4} decode_s={:.4}",
                s.load_s
            );
        }
        format!(
            "Loaded {}: first slice after {first:.2} s, whole volume after {total:.2} s ({:.2} s decoding)",
            s.name, s.load_s
        )
    }

    fn finish_scan(
        &mut self,
        report: ScanReport,
        volumes: Vec<(PathBuf, Result<study::VolumeFileSummary, String>)>,
    ) {
        let Some((path, _)) = self.scan.take() else {
            return;
        };
        self.scan_volumes = volumes;
        if report.series.is_empty() && self.scan_volumes.is_empty() {
            self.open_started = None;
            self.error(format!(
                "no image series in {} ({} objects, {} unreadable files); the current study stays open",
                path.display(),
                report.objects.len(),
                report.failures.len()
            ));
        } else if report.series.is_empty() {
            self.recent.remember(path.clone());
            self.info(format!(
                "{} volume files found in {}",
                self.scan_volumes.len(),
                path.display()
            ));
        } else {
            self.recent.remember(path.clone());
            self.info(format!(
                "{} series found in {}",
                report.series.len(),
                path.display()
            ));
        }
        self.scan = Some((path, report));
    }
}

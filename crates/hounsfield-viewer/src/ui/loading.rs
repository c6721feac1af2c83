//! Opening studies in the background: scanning a path and loading a series,
//! with a first-slice preview, and taking the jobs' results. When a scan
//! finds exactly one loadable series, the same job goes on to load it, so
//! the first slice does not wait for a UI frame in between.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::app::App;
use super::command::Command;
use super::context::Scan;
use super::tasks::JobSlot;
use crate::dicom::{self, LoadControl, ScanReport, SeriesInfo};
use crate::jobs::{BoxError, JobControl, JobError};
use crate::study::{self, Study};

/// What an open job produces: the scan, and the study when it loaded one.
pub(crate) struct Opened {
    scan: Scan,
    study: Option<Result<Study, JobError>>,
}

/// The loading feature: the scan and load jobs and the first-slice preview.
#[derive(Default)]
pub struct Loading {
    /// Scanning a path (and loading its only series).
    pub(crate) scan_job: JobSlot<Opened>,
    /// Loading a series or a volume file.
    pub(crate) load_job: JobSlot<Study>,
    /// When the user asked to open the path being scanned/loaded.
    open_started: Option<Instant>,
    /// The study shown is a first-slice preview of a load in progress.
    previewing: bool,
    /// The study to return to if that load fails.
    before_preview: Option<Study>,
    /// Seconds from opening to the first-slice preview of the load in progress.
    first_slice_s: Option<f64>,
}

impl Loading {
    /// Whether a scan or load runs (or a preview waits for its volume).
    pub fn is_busy(&self) -> bool {
        self.scan_job.is_busy() || self.load_job.is_busy() || self.previewing
    }

    fn started_now(&mut self) {
        self.open_started = Some(Instant::now());
        self.first_slice_s = None;
    }
}

/// Segmentation files near the scanned path and its series: SEG and
/// RTSTRUCT objects of the scan, and label maps (NIfTI, NRRD) in the scanned folder, each
/// series' folder and its parent (at most 20 folders, 200 files).
fn seg_candidates(root: &Path, report: &ScanReport) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = report
        .objects
        .iter()
        .filter(|o| {
            matches!(
                o.kind,
                crate::dicom::ObjectKind::Segmentation | crate::dicom::ObjectKind::RtStruct
            )
        })
        .map(|o| o.path.clone())
        .collect();
    let mut dirs: Vec<PathBuf> = Vec::new();
    if root.is_dir() {
        dirs.push(root.to_path_buf());
    }
    for s in &report.series {
        for f in s.folders() {
            dirs.push(f.to_path_buf());
            if let Some(p) = f.parent() {
                dirs.push(p.to_path_buf());
            }
        }
    }
    dirs.sort();
    dirs.dedup();
    for d in dirs.iter().take(20) {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && study::is_label_map_file(p))
            .collect();
        files.sort();
        out.extend(files);
    }
    out.sort();
    out.dedup();
    out.truncate(200);
    out
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
        self.loading.started_now();
        let waker = self.waker();
        let p = path.clone();
        let r =
            self.loading
                .scan_job
                .restart(format!("Opening {}", path.display()), waker, move |c| {
                    c.set_note("reading headers");
                    let report = dicom::scan(std::slice::from_ref(&p));
                    let mut study = only_loadable(&report)
                        .map(|i| load_with_preview(&report.series[i], c).map_err(JobError::new));
                    c.set_note("reading volume files");
                    let volumes = summarize_volumes(&report);
                    if study.is_none()
                        && let Some(v) = only_volume(&report, &volumes)
                    {
                        study = Some(study::volume_file_study(&v).map_err(JobError::new));
                    }
                    let seg_candidates = seg_candidates(&p, &report);
                    Ok(Opened {
                        scan: Scan {
                            path: p,
                            report,
                            volumes,
                            seg_candidates,
                        },
                        study,
                    })
                });
        match r {
            Ok(()) => {
                self.scan = Some(Scan {
                    path,
                    ..Scan::default()
                });
            }
            Err(e) => self.error(e),
        }
    }

    pub(super) fn start_load(&mut self, index: usize) {
        let Some(info) = self
            .scan
            .as_ref()
            .and_then(|s| s.report.series.get(index).cloned())
        else {
            return;
        };
        if let Err(e) = &info.layout {
            let e = e.clone();
            self.error(format!("cannot load this series: {e}"));
            return;
        }
        self.loading.started_now();
        let waker = self.waker();
        let name = info
            .metadata
            .series_description
            .clone()
            .unwrap_or_else(|| "series".into());
        let r = self
            .loading
            .load_job
            .restart(format!("Loading {name}"), waker, move |c| {
                load_with_preview(&info, c)
            });
        self.started(r);
    }

    pub(super) fn start_volume_load(&mut self, path: PathBuf) {
        self.loading.started_now();
        let waker = self.waker();
        let name = format!("Opening {}", path.display());
        let r = self.loading.load_job.restart(name, waker, move |c| {
            c.set_note("reading");
            Ok(study::volume_file_study(&path)?)
        });
        self.started(r);
    }

    /// Take finished scan and load results. Called from `logic()`; tests
    /// call it too.
    pub fn poll_jobs(&mut self) {
        let first = self
            .loading
            .load_job
            .take_partial::<Study>()
            .or_else(|| self.loading.scan_job.take_partial::<Study>());
        if let Some(first) = first {
            self.show_preview(first);
        }
        if let Some(r) = self.loading.scan_job.poll() {
            match r {
                Ok(opened) => {
                    self.finish_scan(opened.scan);
                    if let Some(result) = opened.study {
                        self.finish_load(result);
                    }
                }
                Err(e) => self.error(e.to_string()),
            }
        }
        if let Some(r) = self.loading.load_job.poll() {
            self.finish_load(r);
        }
    }

    fn show_preview(&mut self, first: Study) {
        if let Some(t) = self.loading.open_started {
            self.loading.first_slice_s = Some(t.elapsed().as_secs_f64());
        }
        if !self.loading.previewing {
            self.loading.before_preview = self.study.take();
        }
        self.set_study(first);
        self.loading.previewing = true;
    }

    fn finish_load(&mut self, result: Result<Study, JobError>) {
        let preview_state = self.loading.previewing.then(|| self.state.clone());
        self.loading.previewing = false;
        match result {
            Ok(s) => {
                self.loading.before_preview = None;
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
                if let Some(prev) = self.loading.before_preview.take() {
                    self.set_study(prev);
                }
                self.loading.open_started = None;
                self.error(format!(
                    "loading failed (the previous study stays open): {e}"
                ));
            }
        }
    }

    fn timing_message(&mut self, s: &Study) -> String {
        if self.hide_timings() {
            self.loading.open_started = None;
            self.loading.first_slice_s = None;
            return format!("Loaded {}", s.name);
        }
        let Some(t) = self.loading.open_started.take() else {
            return format!("Loaded {} in {:.2} s", s.name, s.load_s);
        };
        let total = t.elapsed().as_secs_f64();
        let first = self.loading.first_slice_s.take().unwrap_or(total);
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

    fn finish_scan(&mut self, scan: Scan) {
        let path = scan.path.clone();
        let (series, volumes) = (scan.report.series.len(), scan.volumes.len());
        if series == 0 && volumes == 0 {
            self.loading.open_started = None;
            self.error(format!(
                "no image series in {} ({} objects, {} unreadable files); the current study stays open",
                path.display(),
                scan.report.objects.len(),
                scan.report.failures.len()
            ));
        } else if series == 0 {
            self.recent.remember(path.clone());
            self.info(format!(
                "{volumes} volume files found in {}",
                path.display()
            ));
        } else {
            self.recent.remember(path.clone());
            self.info(format!("{series} series found in {}", path.display()));
        }
        self.scan = Some(scan);
    }
}

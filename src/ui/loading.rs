//! Opening studies in the background: scanning a path, loading a series
//! (with a first-slice preview), and taking the jobs' results.

use std::path::PathBuf;

use super::app::App;
use super::state::ViewerState;
use crate::dicom::{self, LoadControl, ScanReport};
use crate::jobs::Job;
use crate::study::{self, Study};

impl App {
    pub(super) fn start_scan(&mut self, path: PathBuf) {
        self.open_started = Some(std::time::Instant::now());
        let waker = self.waker();
        let p = path.clone();
        match Job::spawn(format!("Scanning {}", path.display()), waker, move |c| {
            c.set_note("reading headers");
            Ok(dicom::scan(&[p]))
        }) {
            Ok(j) => {
                self.scan_job = Some(j);
                self.scan = Some((path, ScanReport::default()));
            }
            Err(e) => self.error(e),
        }
    }

    pub(super) fn start_load(&mut self, index: usize) {
        let Some((_, report)) = &self.scan else {
            return;
        };
        let Some(info) = report.series.get(index).cloned() else {
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
        let waker = self.waker();
        let name = info
            .metadata
            .series_description
            .clone()
            .unwrap_or_else(|| "series".into());
        match Job::spawn(format!("Loading {name}"), waker, move |c| {
            c.set_note("first slice");
            if let Some(first) = study::first_slice(&info) {
                c.set_partial(first);
            }
            c.set_note("decoding");
            let progress = |d: usize, t: usize| c.set_progress(d, t);
            let control = LoadControl {
                progress: Some(&progress),
                cancel: Some(c.cancel_flag()),
            };
            study::load(&info, &control).map_err(|e| e.to_string())
        }) {
            Ok(j) => self.load_job = Some(j),
            Err(e) => self.error(e),
        }
    }

    /// Take finished job results. Called from `logic()`; tests call it too.
    pub fn poll_jobs(&mut self) {
        if let Some(first) = self.load_job.as_ref().and_then(Job::take_partial::<Study>) {
            let name = first.name.clone();
            if let Some(t) = self.open_started {
                self.info(format!(
                    "{name}: {:.2} s from opening",
                    t.elapsed().as_secs_f64()
                ));
            }
            if !self.previewing {
                self.before_preview = self.study.take();
            }
            self.set_study(first);
            self.previewing = true;
        }
        if let Some(r) = self.scan_job.as_ref().and_then(Job::poll) {
            self.scan_job = None;
            match r {
                Ok(report) => self.finish_scan(report),
                Err(e) => self.error(e),
            }
        }
        if let Some(r) = self.load_job.as_ref().and_then(Job::poll) {
            self.load_job = None;
            match r {
                Ok(s) => {
                    // After a first-slice preview, stay on the slice shown.
                    let keep = self
                        .previewing
                        .then_some((self.state.crosshair_mm, self.state.clone()));
                    self.previewing = false;
                    self.before_preview = None;
                    let msg = match self.open_started.take() {
                        Some(t) => format!(
                            "Loaded {}: {:.2} s from opening to first slice ({:.2} s decoding)",
                            s.name,
                            t.elapsed().as_secs_f64(),
                            s.load_s
                        ),
                        None => format!("Loaded {} in {:.2} s", s.name, s.load_s),
                    };
                    self.set_study(s);
                    if let Some((crosshair, state)) = keep {
                        self.state = ViewerState {
                            crosshair_mm: crosshair,
                            ..state
                        };
                    }
                    self.info(msg);
                }
                Err(e) => self.error(format!(
                    "loading failed (the current study stays open): {e}"
                )),
            }
        }
    }

    fn finish_scan(&mut self, report: ScanReport) {
        let Some((path, _)) = self.scan.take() else {
            return;
        };
        let loadable: Vec<usize> = report
            .series
            .iter()
            .enumerate()
            .filter(|(_, s)| s.layout.is_ok())
            .map(|(i, _)| i)
            .collect();
        if report.series.is_empty() {
            self.error(format!(
                "no image series in {} ({} objects, {} unreadable files); the current study stays open",
                path.display(),
                report.objects.len(),
                report.failures.len()
            ));
        } else {
            self.recent.remember(path.clone());
            self.info(format!(
                "{} series found in {}",
                report.series.len(),
                path.display()
            ));
        }
        let auto = (loadable.len() == 1).then(|| loadable[0]);
        self.scan = Some((path, report));
        if let Some(i) = auto {
            self.start_load(i);
        }
    }
}

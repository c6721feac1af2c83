//! Background jobs: named threads running long work (scan, load, exports)
//! off the UI thread, with progress, cancellation and a result to poll.
//!
//! No egui here: the UI polls [`Job::poll`] in its `logic()` and asks for a
//! repaint through the `on_progress` hook, so the UI never blocks.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex};

/// Shared progress and cancel flag of one job.
#[derive(Default)]
pub struct JobControl {
    done: AtomicUsize,
    total: AtomicUsize,
    cancel: AtomicBool,
    note: Mutex<String>,
    on_progress: Mutex<Option<Box<dyn Fn() + Send>>>,
    partial: Mutex<Option<Box<dyn std::any::Any + Send>>>,
}

impl JobControl {
    /// Report progress: `done` of `total` steps.
    pub fn set_progress(&self, done: usize, total: usize) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
        self.notify();
    }

    /// A short note on the current step (e.g. "decoding").
    pub fn set_note(&self, note: &str) {
        if let Ok(mut n) = self.note.lock() {
            note.clone_into(&mut n);
        }
        self.notify();
    }

    fn notify(&self) {
        if let Ok(f) = self.on_progress.lock()
            && let Some(f) = f.as_ref()
        {
            f();
        }
    }

    /// Publish an early, partial result (e.g. a first slice to show while
    /// the whole volume loads); the UI takes it with [`Job::take_partial`].
    pub fn set_partial<P: Send + 'static>(&self, partial: P) {
        if let Ok(mut p) = self.partial.lock() {
            *p = Some(Box::new(partial));
        }
        self.notify();
    }

    /// True once cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The cancel flag, for APIs that poll an `AtomicBool`.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }
}

/// What a job's work returns on failure: any error, its source chain kept
/// (`?` converts typed errors and plain messages alike).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a job ended without its result: the error its work returned (with
/// its sources), a panic, or a worker that vanished. Shown as one line with
/// the whole chain (`outer: inner: root`).
#[derive(Debug)]
pub struct JobError(BoxError);

impl JobError {
    /// A job error from any error or message.
    pub fn new(e: impl Into<BoxError>) -> Self {
        Self(e.into())
    }

    /// The underlying error, for its source chain.
    pub fn error(&self) -> &(dyn std::error::Error + 'static) {
        self.0.as_ref()
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&error_chain(self.error()))
    }
}

impl PartialEq for JobError {
    /// Two job errors are equal when they read the same (tests compare them).
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// Identity of a job, unique in the process (the viewer cancels one job
/// by it while others go on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JobId(pub u64);

impl JobId {
    fn next() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed) as u64)
    }
}

/// A running (or finished) background job producing `T`.
pub struct Job<T> {
    /// Human-readable name, e.g. "Loading chest-ct".
    pub name: String,
    /// Its identity.
    pub id: JobId,
    control: Arc<JobControl>,
    result: Receiver<Result<T, JobError>>,
}

impl<T: Send + 'static> Job<T> {
    /// Start `work` on a named thread. `on_progress` is called (from the
    /// worker) whenever progress changes and when the job ends; the UI uses
    /// it to request a repaint.
    pub fn spawn(
        name: impl Into<String>,
        on_progress: impl Fn() + Send + 'static,
        work: impl FnOnce(&JobControl) -> Result<T, BoxError> + Send + 'static,
    ) -> Result<Self, String> {
        let name = name.into();
        let control = Arc::new(JobControl {
            on_progress: Mutex::new(Some(Box::new(on_progress))),
            ..Default::default()
        });
        let (tx, rx) = sync_channel(1);
        let worker_control = Arc::clone(&control);
        // The span names the job by its first word ("Opening", "Segmenting"):
        // the rest may name a folder, and folders may carry patient names.
        let span = tracing::info_span!(
            "job",
            kind = name.split_whitespace().next().unwrap_or("job")
        );
        std::thread::Builder::new()
            .name(format!("job: {name}"))
            .spawn(move || {
                let _entered = span.entered();
                // A panic anywhere in the work (a third-party decoder, a bug)
                // ends this job with its message, never the viewer.
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    work(&worker_control).map_err(JobError)
                }))
                .unwrap_or_else(|payload| {
                    tracing::error!("the job panicked");
                    Err(JobError::new(format!(
                        "internal error: {}",
                        crate::dicom::codec::panic_message(payload.as_ref())
                    )))
                });
                match &r {
                    Ok(_) => tracing::debug!("job done"),
                    Err(e) if worker_control.is_cancelled() => {
                        tracing::debug!(reason = %e, "job cancelled");
                    }
                    Err(_) => tracing::warn!("job failed"),
                }
                tx.send(r).ok();
                worker_control.notify();
            })
            .map_err(|e| format!("cannot start job {name:?}: {e}"))?;
        Ok(Self {
            name,
            id: JobId::next(),
            control,
            result: rx,
        })
    }
}

impl<T> Job<T> {
    /// The result once the job has finished (`None` while running). A job
    /// whose thread died without a result reports an error.
    pub fn poll(&self) -> Option<Result<T, JobError>> {
        match self.result.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(JobError::new(format!(
                "{} stopped unexpectedly",
                self.name
            )))),
        }
    }

    /// Fraction done in `0..=1`, `None` when the total is unknown.
    pub fn fraction(&self) -> Option<f32> {
        let total = self.control.total.load(Ordering::Relaxed);
        (total > 0).then(|| self.control.done.load(Ordering::Relaxed) as f32 / total as f32)
    }

    /// The current step's note.
    pub fn note(&self) -> String {
        self.control
            .note
            .lock()
            .map(|n| n.clone())
            .unwrap_or_default()
    }

    /// The partial result published since the last call, if it is a `P`.
    pub fn take_partial<P: 'static>(&self) -> Option<P> {
        let boxed = self.control.partial.lock().ok()?.take()?;
        boxed.downcast::<P>().ok().map(|b| *b)
    }

    /// Ask the job to stop; it ends with an error soon after.
    pub fn cancel(&self) {
        self.control.cancel.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait<T: Send + 'static>(job: &Job<T>) -> Result<T, JobError> {
        loop {
            if let Some(r) = job.poll() {
                return r;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    #[test]
    fn a_job_reports_progress_and_its_result() {
        let pings = Arc::new(AtomicUsize::new(0));
        let p = Arc::clone(&pings);
        let job = Job::spawn(
            "sum",
            move || {
                p.fetch_add(1, Ordering::Relaxed);
            },
            |c| {
                c.set_progress(1, 2);
                c.set_note("adding");
                Ok(2 + 2)
            },
        )
        .unwrap();
        assert_eq!(wait(&job), Ok(4));
        assert!(pings.load(Ordering::Relaxed) >= 2);
        assert_eq!(job.fraction(), Some(0.5));
    }

    #[test]
    fn a_job_can_be_cancelled() {
        let job = Job::spawn(
            "spin",
            || {},
            |c| {
                while !c.is_cancelled() {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err::<(), _>("cancelled".into())
            },
        )
        .unwrap();
        job.cancel();
        assert_eq!(wait(&job), Err(JobError::new("cancelled")));
    }
}

/// An error and its sources as one line (`outer: inner: root`), what the
/// viewer's status bar shows. Sources already quoted by a message are not
/// repeated.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line
}

#[cfg(test)]
mod chain_tests {
    #[test]
    fn the_os_reason_reaches_the_line() {
        let e = crate::io::IoError::io(
            "opening",
            std::path::Path::new("/x/ct.nii"),
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(
            super::error_chain(&e),
            "I/O error while opening \"/x/ct.nii\": permission denied"
        );
    }

    /// A typed error returned by a job keeps its sources across the job
    /// boundary: the OS reason reaches the line the viewer shows.
    #[test]
    fn a_jobs_typed_error_keeps_its_chain() {
        let job = super::Job::spawn(
            "write",
            || {},
            |_| -> Result<(), super::BoxError> {
                Err(crate::io::IoError::io(
                    "writing",
                    std::path::Path::new("/x/labels.nii.gz"),
                    std::io::Error::from(std::io::ErrorKind::StorageFull),
                ))?
            },
        )
        .unwrap();
        let e = loop {
            if let Some(r) = job.poll() {
                break r.expect_err("the job failed");
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        };
        assert!(e.error().source().is_some(), "the source is kept");
        assert!(e.to_string().contains("no storage space"), "{e}");
    }
}

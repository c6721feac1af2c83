//! Job holders for the features: a [`JobSlot`] runs one job of a kind at a
//! time (a second start is refused with a message), a [`JobList`] any
//! number at once (file writes). Each job keeps its own progress, cancel
//! and typed result; several features' jobs run side by side.

use super::context::JobStatus;
use crate::jobs::{BoxError, Job, JobControl, JobError, JobId};

fn status<T>(j: &Job<T>) -> JobStatus {
    JobStatus {
        id: j.id,
        name: j.name.clone(),
        fraction: j.fraction(),
        note: j.note(),
    }
}

/// At most one running job producing `T`.
pub struct JobSlot<T> {
    job: Option<Job<T>>,
}

impl<T> Default for JobSlot<T> {
    fn default() -> Self {
        Self { job: None }
    }
}

impl<T: Send + 'static> JobSlot<T> {
    /// Start `work`, unless a job of this slot is still running.
    pub fn start(
        &mut self,
        name: impl Into<String>,
        waker: impl Fn() + Send + 'static,
        work: impl FnOnce(&JobControl) -> Result<T, BoxError> + Send + 'static,
    ) -> Result<(), String> {
        if let Some(j) = &self.job {
            return Err(format!(
                "{} is still running; wait for it or cancel it",
                j.name
            ));
        }
        self.job = Some(Job::spawn(name, waker, work)?);
        Ok(())
    }

    /// Start `work` in place of the running job, which is cancelled (its
    /// result is dropped).
    pub fn restart(
        &mut self,
        name: impl Into<String>,
        waker: impl Fn() + Send + 'static,
        work: impl FnOnce(&JobControl) -> Result<T, BoxError> + Send + 'static,
    ) -> Result<(), String> {
        self.cancel_all();
        self.job = None;
        self.start(name, waker, work)
    }

    /// The result once the job has finished; the slot is free again.
    pub fn poll(&mut self) -> Option<Result<T, JobError>> {
        let r = self.job.as_ref()?.poll()?;
        self.job = None;
        Some(r)
    }

    /// A partial result the running job published, if it is a `P`.
    pub fn take_partial<P: 'static>(&self) -> Option<P> {
        self.job.as_ref()?.take_partial()
    }

    /// The running job, if any.
    pub fn running(&self) -> Option<&Job<T>> {
        self.job.as_ref()
    }
}

impl<T> JobSlot<T> {
    /// Whether a job is running.
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// Cancel the job if it is `id`.
    pub fn cancel(&self, id: JobId) {
        if let Some(j) = self.job.as_ref().filter(|j| j.id == id) {
            j.cancel();
        }
    }

    /// Cancel the running job.
    pub fn cancel_all(&self) {
        if let Some(j) = &self.job {
            j.cancel();
        }
    }

    /// Add the running job to the status list.
    pub fn statuses(&self, out: &mut Vec<JobStatus>) {
        out.extend(self.job.as_ref().map(status));
    }
}

/// Any number of running jobs producing `T`.
pub struct JobList<T> {
    jobs: Vec<Job<T>>,
}

impl<T> Default for JobList<T> {
    fn default() -> Self {
        Self { jobs: Vec::new() }
    }
}

impl<T: Send + 'static> JobList<T> {
    /// Start one more job.
    pub fn start(
        &mut self,
        name: impl Into<String>,
        waker: impl Fn() + Send + 'static,
        work: impl FnOnce(&JobControl) -> Result<T, BoxError> + Send + 'static,
    ) -> Result<(), String> {
        self.jobs.push(Job::spawn(name, waker, work)?);
        Ok(())
    }

    /// The results of the jobs that have finished, in start order.
    pub fn poll(&mut self) -> Vec<Result<T, JobError>> {
        let mut done = Vec::new();
        self.jobs.retain(|j| match j.poll() {
            Some(r) => {
                done.push(r);
                false
            }
            None => true,
        });
        done
    }
}

impl<T> JobList<T> {
    /// Whether any job is running.
    pub fn is_busy(&self) -> bool {
        !self.jobs.is_empty()
    }

    /// Cancel job `id`.
    pub fn cancel(&self, id: JobId) {
        for j in self.jobs.iter().filter(|j| j.id == id) {
            j.cancel();
        }
    }

    /// Cancel every job.
    pub fn cancel_all(&self) {
        self.jobs.iter().for_each(Job::cancel);
    }

    /// Add the running jobs to the status list.
    pub fn statuses(&self, out: &mut Vec<JobStatus>) {
        out.extend(self.jobs.iter().map(status));
    }
}

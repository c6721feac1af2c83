//! Taking finished jobs' results into the model: each feature's job hands
//! back its own typed result, which the handler applies (a segmentation,
//! an analysis, a registration, surfaces, an export's message).

use super::app::App;

impl App {
    /// Take every finished feature job's result. Called from `logic()`.
    pub(super) fn poll_tasks(&mut self) {
        if let Some(r) = self.seg.job.poll() {
            match r {
                Ok(opened) => self.take_segmentation(opened),
                Err(e) => self.error(e.to_string()),
            }
        }
        if let Some(r) = self.analysis.job.poll() {
            match r {
                Ok(done) => self.take_analysis(done),
                Err(e) => self.error(e.to_string()),
            }
        }
        if let Some(r) = self.registration.job.poll() {
            match r {
                Ok(done) => self.take_registration(done),
                Err(e) => self.error(e.to_string()),
            }
        }
        if let Some(r) = self.scene3d.job.poll() {
            match r {
                Ok(s) if self.scene3d.volume_id == Some(s.volume_id) => {
                    let triangles: usize = s.meshes.iter().map(|(m, _)| m.triangles.len()).sum();
                    self.scene3d.meshes = s.meshes;
                    self.info(format!("3D: {triangles} triangles"));
                }
                Ok(_) => {}
                Err(e) => self.error(e.to_string()),
            }
        }
        for r in self.exports.poll() {
            match r {
                Ok(msg) => self.info(msg),
                Err(e) => self.error(e.to_string()),
            }
        }
    }
}

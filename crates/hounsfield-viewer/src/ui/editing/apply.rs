//! The command handler's part of editing: the only code that changes a
//! segmentation's voxels, names and colours in the viewer.

use std::sync::Arc;

use glam::DVec3;

use super::{EditCommand, Tool, drops_edits};
use crate::mpr::ViewAxis;
use crate::seg::Segmentation;
use crate::seg::edit::{
    self, BrushMode, BrushParams, BrushShape, Edit, EditError, FillParams, FillScope,
};
use crate::ui::app::App;
use crate::ui::command::Command;

/// The step between dabs of a stroke: half the radius, at least a voxel.
fn dab_step_mm(radius_mm: f64, spacing_min_mm: f64) -> f64 {
    (radius_mm * 0.5).max(spacing_min_mm).max(1e-3)
}

/// The study's segmentation for editing (an empty one on the study's grid
/// when there is none), shared with no job (copied if it is).
pub(super) fn editable(study: &mut Option<crate::study::Study>) -> Option<&mut Segmentation> {
    let s = study.as_mut()?;
    let seg = s.segmentation.get_or_insert_with(|| {
        Arc::new(Segmentation {
            geometry: s.volume.geometry,
            segments: Vec::new(),
            source: "edited".into(),
        })
    });
    Some(Arc::make_mut(seg))
}

impl App {
    /// Editing, the unsaved-edits answer and quitting.
    pub(in crate::ui) fn apply_editing_command(&mut self, c: Command) {
        match c {
            Command::Edit(e) => self.apply_edit(e),
            Command::ConfirmEdits(discard) => {
                if let Some(c) = self.editing.confirm.take()
                    && discard
                {
                    self.editing.saved();
                    self.apply(c);
                }
            }
            Command::Quit => {
                if let Some(ctx) = self.repaint_context() {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
            _ => {}
        }
    }

    /// Apply an editing command: the only place that changes a
    /// segmentation's voxels, names and colours in the viewer.
    pub(in crate::ui) fn apply_edit(&mut self, c: EditCommand) {
        let r = match c {
            EditCommand::Settings(s) => {
                self.editing.settings = s;
                Ok(())
            }
            EditCommand::Select(n) => {
                self.editing.active = Some(n);
                Ok(())
            }
            EditCommand::Dab(axis, p) => self.dab(axis, p),
            EditCommand::EndStroke => {
                self.editing.stroke = None;
                Ok(())
            }
            EditCommand::Fill(axis, p) => self.fill(axis, p),
            EditCommand::Interpolate(axis) => self.interpolate(axis),
            EditCommand::Undo | EditCommand::Redo => self.undo_redo(c == EditCommand::Undo),
            EditCommand::NewSegment => self.new_segment().map(|_| ()),
            EditCommand::Rename(n, name) => self.commit_with(|seg| edit::rename(seg, n, &name)),
            EditCommand::Recolour(n, rgb) => self.commit_with(|seg| edit::recolour(seg, n, rgb)),
            EditCommand::Delete(n) => self.commit_with(|seg| edit::delete_segment(seg, n)),
            EditCommand::Effect(_)
            | EditCommand::PreviewEffect
            | EditCommand::ApplyEffect
            | EditCommand::DropPreview => {
                self.apply_effect_command(&c);
                Ok(())
            }
        };
        if let Err(e) = r {
            self.error(format!("edit: {}", crate::jobs::error_chain(&e)));
        }
    }

    /// Something changed: overlays and statistics follow.
    pub(super) fn changed(&mut self) {
        self.editing.revision += 1;
        self.editing.stats_stale = true;
        self.state.show_labels = true;
        if let Some(seg) = self.study.as_ref().and_then(|s| s.segmentation.as_deref()) {
            let n = seg.segments.len();
            self.state
                .overlay
                .visible
                .resize(n.max(self.state.overlay.visible.len()), true);
            if self
                .editing
                .active
                .is_none_or(|a| seg.index_of(a).is_none())
            {
                self.editing.active = seg.segments.last().map(|s| s.number);
            }
        }
    }

    fn commit_with(
        &mut self,
        make: impl FnOnce(&Segmentation) -> Result<Edit, EditError>,
    ) -> Result<(), EditError> {
        let Some(seg) = editable(&mut self.study) else {
            return Ok(());
        };
        let e = make(seg)?;
        self.editing.history.commit(seg, e)?;
        self.changed();
        Ok(())
    }

    /// A new empty segment, made active; returns its number.
    fn new_segment(&mut self) -> Result<Option<u16>, EditError> {
        let Some(seg) = editable(&mut self.study) else {
            return Ok(None);
        };
        let name = format!("Segment {}", seg.segments.len() + 1);
        let e = edit::new_segment(seg, &name)?;
        self.editing.history.commit(seg, e)?;
        let number = seg.segments.last().map(|s| s.number);
        self.editing.active = number;
        self.changed();
        Ok(number)
    }

    /// The segment to edit: the active one, else the last, else a new one.
    fn target_segment(&mut self) -> Result<Option<u16>, EditError> {
        let Some(seg) = self.study.as_ref().and_then(|s| s.segmentation.as_deref()) else {
            return self.new_segment();
        };
        if let Some(a) = self.editing.active.filter(|&a| seg.index_of(a).is_some()) {
            return Ok(Some(a));
        }
        match seg.segments.last() {
            Some(s) => {
                self.editing.active = Some(s.number);
                Ok(Some(s.number))
            }
            None => self.new_segment(),
        }
    }

    fn dab(&mut self, axis: ViewAxis, point_mm: DVec3) -> Result<(), EditError> {
        let settings = self.editing.settings;
        let mode = match settings.tool {
            Tool::Brush => BrushMode::Paint,
            Tool::Eraser => BrushMode::Erase,
            Tool::Navigate | Tool::Fill => return Ok(()),
        };
        let Some(number) = self.target_segment()? else {
            return Ok(());
        };
        let Some(volume) = self.study.as_ref().map(|s| Arc::clone(&s.volume)) else {
            return Ok(());
        };
        let radius_mm = f64::from(settings.radius_mm);
        let spacing = volume.geometry.spacing_mm.min_element();
        // The dabs from the last one to this point, half a radius apart.
        let (mut has_step, points) = match self.editing.stroke {
            Some((a, last, has_step)) if a == axis => {
                let d = point_mm - last;
                let n = (d.length() / dab_step_mm(radius_mm, spacing))
                    .ceil()
                    .max(1.0) as usize;
                let pts: Vec<DVec3> = (1..=n).map(|k| last + d * (k as f64 / n as f64)).collect();
                (has_step, pts)
            }
            _ => (false, vec![point_mm]),
        };
        let mut params = BrushParams {
            centre_in_world: point_mm,
            radius_mm,
            shape: if settings.sphere {
                BrushShape::Sphere
            } else {
                BrushShape::Disc(axis)
            },
            mode,
            hu_range: settings.limit_hu.then_some(settings.range_hu),
        };
        let Some(seg) = editable(&mut self.study) else {
            return Ok(());
        };
        let mut changed = false;
        for p in points {
            params.centre_in_world = p;
            let change = edit::brush(seg, number, Some(&volume), &params)?;
            if change.is_empty() {
                continue;
            }
            changed = true;
            // The stroke's first change opens its undo step; the others
            // join it.
            if has_step {
                change.set(seg, change.value)?;
                self.editing.history.merge_into_last(change);
            } else {
                self.editing
                    .history
                    .commit(seg, Edit::of(mode.description(), change))?;
                has_step = true;
            }
        }
        self.editing.stroke = Some((axis, point_mm, has_step));
        if changed {
            self.changed();
        }
        Ok(())
    }

    fn fill(&mut self, axis: ViewAxis, point_mm: DVec3) -> Result<(), EditError> {
        let settings = self.editing.settings;
        let Some(number) = self.target_segment()? else {
            return Ok(());
        };
        let Some(volume) = self.study.as_ref().map(|s| Arc::clone(&s.volume)) else {
            return Ok(());
        };
        let v = volume.geometry.voxel_of_world(point_mm).round();
        if v.min_element() < 0.0 {
            return Ok(());
        }
        let params = FillParams {
            seed_zyx: [v.z as usize, v.y as usize, v.x as usize],
            hu_range: settings.range_hu,
            scope: if settings.fill_3d {
                FillScope::Volume
            } else {
                FillScope::Plane(axis)
            },
        };
        let Some(seg) = editable(&mut self.study) else {
            return Ok(());
        };
        let change = edit::flood_fill(seg, number, &volume, &params)?;
        let voxels = change.voxel_count();
        self.editing.history.commit(seg, Edit::of("fill", change))?;
        self.changed();
        self.info(format!("fill: {voxels} voxels"));
        Ok(())
    }

    fn interpolate(&mut self, axis: ViewAxis) -> Result<(), EditError> {
        let Some(number) = self.target_segment()? else {
            return Ok(());
        };
        let Some(seg) = editable(&mut self.study) else {
            return Ok(());
        };
        let change = edit::interpolate(seg, number, axis)?;
        let voxels = change.voxel_count();
        self.editing
            .history
            .commit(seg, Edit::of("interpolate", change))?;
        self.changed();
        self.info(format!(
            "interpolated {voxels} voxels between the {} slices",
            axis.name()
        ));
        Ok(())
    }

    fn undo_redo(&mut self, undo: bool) -> Result<(), EditError> {
        self.editing.stroke = None;
        let history = &mut self.editing.history;
        let Some(seg) = self
            .study
            .as_mut()
            .and_then(|s| s.segmentation.as_mut())
            .map(Arc::make_mut)
        else {
            return Ok(());
        };
        let done = if undo {
            history.undo(seg)?
        } else {
            history.redo(seg)?
        };
        if let Some(what) = done {
            self.changed();
            self.info(format!("{} {what}", if undo { "undid" } else { "redid" }));
        }
        Ok(())
    }

    /// Keeps the statistics of an edited segmentation current (one job at a
    /// time; a newer revision starts another when it ends).
    pub(in crate::ui) fn poll_edit_stats(&mut self) {
        self.poll_effect();
        if let Some(r) = self.editing.stats_job.poll() {
            match r {
                Ok((rev, st)) if rev == self.editing.revision => {
                    if let Some(s) = self.study.as_mut() {
                        s.seg_stats = st;
                    }
                }
                Ok(_) => {}
                Err(e) => self.error(e.to_string()),
            }
        }
        if !self.editing.stats_stale
            || self.editing.stats_job.is_busy()
            || self.editing.stroke.is_some()
        {
            return;
        }
        let Some(s) = &self.study else { return };
        let Some(seg) = s.segmentation.clone() else {
            return;
        };
        let volume = Arc::clone(&s.volume);
        let rev = self.editing.revision;
        self.editing.stats_stale = false;
        let waker = self.waker();
        let r = self
            .editing
            .stats_job
            .start("Segment statistics", waker, move |_| {
                Ok((rev, crate::seg::stats::statistics(&volume, &seg)))
            });
        self.started(r);
    }

    /// Runs `c`, unless it would drop unsaved edits: then asks first.
    pub(in crate::ui) fn guard_edits(&mut self, c: Command) -> Option<Command> {
        if self.editing.unsaved() && drops_edits(&c) {
            self.editing.confirm = Some(c);
            return None;
        }
        Some(c)
    }
}

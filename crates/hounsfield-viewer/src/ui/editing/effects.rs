//! Segment effects in the editor (threshold, morphology in mm, margins,
//! hollow, islands, hole filling, logic, smoothing): computed by
//! [`crate::seg::effects`] in a background job with progress and cancel,
//! shown first as a preview (an outline in the views), then applied as one
//! undo step; the segment statistics follow as after any edit.

use std::sync::Arc;

use ndarray::Array3;

use super::EditCommand;
use crate::jobs::BoxError;
use crate::seg::edit::{self, Edit};
use crate::seg::{Mask, Segment, Segmentation};
use crate::ui::app::App;
use crate::ui::command::Command;
use crate::ui::context::ViewerContext;
use crate::volume::Volume;

/// Which effect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EffectKind {
    /// The voxels in a HU range (inside the active segment, if chosen) as
    /// a new segment.
    #[default]
    Threshold,
    /// Erosion by a ball (or disc) of the radius.
    Erode,
    /// Dilation by a ball (or disc).
    Dilate,
    /// Erosion then dilation.
    Open,
    /// Dilation then erosion.
    Close,
    /// Grow (positive) or shrink (negative) by a distance.
    Margin,
    /// A shell of the thickness inside the boundary.
    Hollow,
    /// Keep the largest islands.
    KeepLargest,
    /// Remove islands under a volume.
    RemoveSmall,
    /// One new segment per island.
    Split,
    /// Fill holes (per slice or in 3D).
    FillHoles,
    /// Union with another segment.
    Union,
    /// Intersection with another segment.
    Intersect,
    /// Subtract another segment.
    Subtract,
    /// Everything that is not the segment.
    Invert,
    /// Smoothing: median, or closing then opening.
    Smooth,
}

impl EffectKind {
    /// Every effect, for the selector.
    pub const ALL: [Self; 16] = [
        Self::Threshold,
        Self::Erode,
        Self::Dilate,
        Self::Open,
        Self::Close,
        Self::Margin,
        Self::Hollow,
        Self::KeepLargest,
        Self::RemoveSmall,
        Self::Split,
        Self::FillHoles,
        Self::Union,
        Self::Intersect,
        Self::Subtract,
        Self::Invert,
        Self::Smooth,
    ];

    /// Its name in the panel and in the undo history.
    pub fn name(self) -> &'static str {
        match self {
            Self::Threshold => "threshold",
            Self::Erode => "erode",
            Self::Dilate => "dilate",
            Self::Open => "open",
            Self::Close => "close",
            Self::Margin => "margin",
            Self::Hollow => "hollow",
            Self::KeepLargest => "keep largest islands",
            Self::RemoveSmall => "remove small islands",
            Self::Split => "split islands",
            Self::FillHoles => "fill holes",
            Self::Union => "union",
            Self::Intersect => "intersect",
            Self::Subtract => "subtract",
            Self::Invert => "invert",
            Self::Smooth => "smooth",
        }
    }

    fn uses_radius(self) -> bool {
        matches!(
            self,
            Self::Erode
                | Self::Dilate
                | Self::Open
                | Self::Close
                | Self::Margin
                | Self::Hollow
                | Self::Smooth
        )
    }

    fn uses_other(self) -> bool {
        matches!(self, Self::Union | Self::Intersect | Self::Subtract)
    }
}

/// An effect and its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EffectParams {
    /// Which effect.
    pub kind: EffectKind,
    /// Radius, distance or thickness in mm (margin: negative shrinks).
    pub radius_mm: f32,
    /// Morphology with a disc in the slice plane; hole filling per slice.
    pub in_plane: bool,
    /// Islands kept by "keep largest".
    pub count: usize,
    /// Islands under this volume are removed (ml).
    pub min_ml: f32,
    /// The threshold's HU range (inclusive).
    pub range_hu: (f32, f32),
    /// Threshold only inside the active segment.
    pub inside_active: bool,
    /// The other segment of a logical operation (number).
    pub other: Option<u16>,
    /// Median smoothing (else closing then opening).
    pub median: bool,
}

impl Default for EffectParams {
    fn default() -> Self {
        Self {
            kind: EffectKind::Threshold,
            radius_mm: 3.0,
            in_plane: false,
            count: 1,
            min_ml: 1.0,
            range_hu: (300.0, 3000.0),
            inside_active: false,
            other: None,
            median: false,
        }
    }
}

/// A computed effect: what it was computed from and the masks it makes.
#[derive(Debug)]
pub struct EffectResult {
    /// The effect.
    pub params: EffectParams,
    /// The segment it changes (`None`: it makes new segments).
    pub target: Option<u16>,
    /// The segmentation revision it was computed on.
    pub revision: u64,
    /// The new mask of the target, or the new segments' names and masks.
    pub masks: Vec<(String, Array3<bool>)>,
    /// The preview drawn in the views (the masks as one outlined segment).
    pub preview: Arc<Segmentation>,
    /// What it did, for the status bar ("dilate: 1234 → 2345 voxels").
    pub note: String,
}

/// The effects' state: parameters, the job and the preview.
#[derive(Default)]
pub struct Effects {
    /// The chosen effect.
    pub params: EffectParams,
    /// The computation in the background.
    pub job: crate::ui::tasks::JobSlot<EffectResult>,
    /// Apply the result as soon as the job ends (else show it as a preview).
    apply_when_done: bool,
    /// The last computed result, shown as a preview until applied or dropped.
    pub preview: Option<EffectResult>,
}

impl Effects {
    /// The preview to draw, if it is still current.
    pub fn preview(&self, revision: u64) -> Option<&Arc<Segmentation>> {
        self.preview
            .as_ref()
            .filter(|r| r.revision == revision)
            .map(|r| &r.preview)
    }
}

/// Named full-grid masks an effect makes, and its note.
type Computed = (Vec<(String, Array3<bool>)>, String);

/// Runs an effect on the full-grid masks (the library does the work).
fn compute(
    params: &EffectParams,
    seg: &Segmentation,
    target: Option<u16>,
    volume: &Volume,
) -> Result<Computed, BoxError> {
    let mask_of = |n: u16| -> Result<Array3<bool>, BoxError> {
        let i = seg
            .index_of(n)
            .ok_or_else(|| format!("no segment number {n}"))?;
        Ok(seg.segments[i].mask.to_full())
    };
    let spacing = seg.geometry.spacing_zyx_mm();
    let count = |m: &Array3<bool>| m.iter().filter(|&&b| b).count();
    let target_mask = target.map(mask_of).transpose()?;
    let before = target_mask.as_ref().map_or(0, count);
    let masks: Vec<(String, Array3<bool>)> = match params.kind {
        EffectKind::Threshold => {
            let inside = if params.inside_active {
                target_mask.as_ref()
            } else {
                None
            };
            let (lo, hi) = params.range_hu;
            vec![(
                format!("Threshold {lo:.0}..{hi:.0} HU"),
                crate::seg::effects::threshold(volume, lo, hi, inside.map(|m| m.view()))?,
            )]
        }
        kind => {
            let m = target_mask.ok_or("choose a segment to apply the effect to")?;
            let r = f64::from(params.radius_mm);
            use crate::seg::effects as fx;
            let out = match kind {
                EffectKind::Erode | EffectKind::Dilate | EffectKind::Open | EffectKind::Close => {
                    let op = match kind {
                        EffectKind::Erode => fx::MorphOp::Erode,
                        EffectKind::Dilate => fx::MorphOp::Dilate,
                        EffectKind::Open => fx::MorphOp::Open,
                        _ => fx::MorphOp::Close,
                    };
                    fx::morphology(m.view(), spacing, op, r, params.in_plane)?
                }
                EffectKind::Margin => fx::margin(m.view(), spacing, r)?,
                EffectKind::Hollow => fx::hollow(m.view(), spacing, r)?,
                EffectKind::KeepLargest => {
                    fx::keep_largest(m.view(), params.count.max(1), fx::Neighbours::default())
                }
                EffectKind::RemoveSmall => fx::remove_smaller(
                    m.view(),
                    spacing,
                    f64::from(params.min_ml),
                    fx::Neighbours::default(),
                )?,
                EffectKind::Split => {
                    let name = target
                        .and_then(|n| seg.index_of(n))
                        .map_or("Island", |i| seg.segments[i].label.as_str());
                    let islands = fx::split(m.view(), fx::Neighbours::default());
                    let note = format!("split into {} islands", islands.len());
                    let out = islands
                        .into_iter()
                        .enumerate()
                        .map(|(k, m)| (format!("{name} island {}", k + 1), m.to_full()))
                        .collect();
                    return Ok((out, note));
                }
                EffectKind::FillHoles => fx::fill_holes(m.view(), params.in_plane),
                EffectKind::Union | EffectKind::Intersect | EffectKind::Subtract => {
                    let other = params
                        .other
                        .ok_or("choose the other segment of the operation")?;
                    let o = mask_of(other)?;
                    match kind {
                        EffectKind::Union => fx::union(m.view(), o.view())?,
                        EffectKind::Intersect => fx::intersect(m.view(), o.view())?,
                        _ => fx::subtract(m.view(), o.view())?,
                    }
                }
                EffectKind::Invert => fx::invert(m.view()),
                EffectKind::Smooth => {
                    let method = if params.median {
                        fx::SmoothMethod::Median
                    } else {
                        fx::SmoothMethod::ClosingOpening
                    };
                    fx::smooth(m.view(), spacing, r, method)?.0
                }
                EffectKind::Threshold => unreachable!("handled above"),
            };
            vec![(String::new(), out)]
        }
    };
    let after: usize = masks.iter().map(|(_, m)| count(m)).sum();
    let ml = |n: usize| n as f64 * seg.geometry.spacing_mm.element_product() / 1000.0;
    let note = format!(
        "{}: {before} -> {after} voxels ({:.1} -> {:.1} ml)",
        params.kind.name(),
        ml(before),
        ml(after)
    );
    Ok((masks, note))
}

/// The preview segmentation: the result masks as one yellow outline.
fn preview_of(seg: &Segmentation, masks: &[(String, Array3<bool>)]) -> Segmentation {
    let mut union = Array3::from_elem(seg.geometry.dims, false);
    for (_, m) in masks {
        ndarray::Zip::from(&mut union)
            .and(m)
            .for_each(|u, &v| *u |= v);
    }
    let mut s = Segment::named(1, "preview", Mask::from_full(union.view()));
    s.colour_rgb = [255, 230, 0];
    Segmentation {
        geometry: seg.geometry,
        segments: vec![s],
        source: "preview".into(),
    }
}

impl App {
    /// Effect commands: parameters, preview, apply, drop the preview.
    pub(in crate::ui) fn apply_effect_command(&mut self, c: &EditCommand) {
        match c {
            EditCommand::Effect(p) => {
                self.editing.effects.params = *p;
            }
            EditCommand::PreviewEffect => self.start_effect(false),
            EditCommand::ApplyEffect => {
                let current = self.editing.effects.preview.as_ref().is_some_and(|r| {
                    r.revision == self.editing.revision && r.params == self.editing.effects.params
                });
                if current {
                    if let Some(r) = self.editing.effects.preview.take() {
                        self.commit_effect(r);
                    }
                } else {
                    self.start_effect(true);
                }
            }
            EditCommand::DropPreview => self.editing.effects.preview = None,
            _ => {}
        }
    }

    fn start_effect(&mut self, apply: bool) {
        let Some(s) = &self.study else { return };
        let seg = s.segmentation.clone().unwrap_or_else(|| {
            Arc::new(Segmentation {
                geometry: s.volume.geometry,
                segments: Vec::new(),
                source: "edited".into(),
            })
        });
        let volume = Arc::clone(&s.volume);
        let params = self.editing.effects.params;
        let target = self
            .editing
            .active
            .filter(|&a| seg.index_of(a).is_some())
            .or_else(|| seg.segments.last().map(|s| s.number));
        let target = if params.kind == EffectKind::Threshold && !params.inside_active {
            None
        } else {
            target
        };
        let revision = self.editing.revision;
        self.editing.effects.apply_when_done = apply;
        let waker = self.waker();
        let r = self.editing.effects.job.restart(
            format!("Effect: {}", params.kind.name()),
            waker,
            move |control| {
                control.set_note("computing");
                let (masks, note) = compute(&params, &seg, target, &volume)?;
                if control.is_cancelled() {
                    return Err("cancelled".into());
                }
                let preview = Arc::new(preview_of(&seg, &masks));
                let target = match params.kind {
                    EffectKind::Threshold | EffectKind::Split => None,
                    _ => target,
                };
                Ok(EffectResult {
                    params,
                    target,
                    revision,
                    masks,
                    preview,
                    note,
                })
            },
        );
        self.started(r);
    }

    /// Takes a finished effect: applies it, or keeps it as the preview.
    pub(in crate::ui) fn poll_effect(&mut self) {
        let Some(r) = self.editing.effects.job.poll() else {
            return;
        };
        match r {
            Ok(result) if result.revision == self.editing.revision => {
                if self.editing.effects.apply_when_done {
                    self.commit_effect(result);
                } else {
                    self.info(format!("preview: {}", result.note));
                    self.editing.effects.preview = Some(result);
                }
            }
            Ok(_) => self.error("the segmentation changed while the effect ran; run it again"),
            Err(e) => self.error(format!("effect: {e}")),
        }
    }

    /// Applies a computed effect as one undo step.
    fn commit_effect(&mut self, r: EffectResult) {
        let done = (|| -> Result<(), edit::EditError> {
            let Some(seg) = super::apply::editable(&mut self.study) else {
                return Ok(());
            };
            let name = r.params.kind.name();
            let mut step = Edit::new(name);
            match r.target {
                Some(n) => {
                    let (_, mask) = r
                        .masks
                        .first()
                        .ok_or(edit::EditError::NoSegment { number: n })?;
                    let e = edit::replace_mask(seg, n, mask.view(), name)?;
                    e.apply(seg)?;
                    step.changes.extend(e.changes);
                }
                None => {
                    for (label, mask) in &r.masks {
                        let e = edit::new_segment(seg, label)?;
                        e.apply(seg)?;
                        step.changes.extend(e.changes);
                        let n = seg.segments.last().map_or(0, |s| s.number);
                        let e = edit::replace_mask(seg, n, mask.view(), name)?;
                        e.apply(seg)?;
                        step.changes.extend(e.changes);
                    }
                }
            }
            self.editing.history.push(step);
            Ok(())
        })();
        match done {
            Ok(()) => {
                self.changed();
                self.info(r.note);
            }
            Err(e) => self.error(format!("effect: {}", crate::jobs::error_chain(&e))),
        }
    }
}

/// The Effects part of the editing section.
pub fn section(ctx: &ViewerContext, effects: &Effects, ui: &mut egui::Ui) {
    egui::CollapsingHeader::new("Effects")
        .default_open(false)
        .show(ui, |ui| {
            let mut p = effects.params;
            egui::ComboBox::from_label("effect")
                .selected_text(p.kind.name())
                .show_ui(ui, |ui| {
                    for k in EffectKind::ALL {
                        ui.selectable_value(&mut p.kind, k, k.name());
                    }
                });
            parameters(ctx, &mut p, ui);
            if p != effects.params {
                ctx.send(Command::Edit(EditCommand::Effect(p)));
            }
            ui.horizontal(|ui| {
                let busy = effects.job.is_busy();
                if ui
                    .add_enabled(!busy, egui::Button::new("Preview"))
                    .clicked()
                {
                    ctx.send(Command::Edit(EditCommand::PreviewEffect));
                }
                if ui.add_enabled(!busy, egui::Button::new("Apply")).clicked() {
                    ctx.send(Command::Edit(EditCommand::ApplyEffect));
                }
                if effects.preview.is_some() && ui.button("Drop preview").clicked() {
                    ctx.send(Command::Edit(EditCommand::DropPreview));
                }
            });
            if let Some(r) = &effects.preview {
                ui.label(egui::RichText::new(format!("preview: {}", r.note)).weak());
            }
        });
}

/// The chosen effect's parameters.
fn parameters(ctx: &ViewerContext, p: &mut EffectParams, ui: &mut egui::Ui) {
    if p.kind == EffectKind::Threshold {
        ui.horizontal(|ui| {
            ui.add(
                egui::DragValue::new(&mut p.range_hu.0)
                    .speed(5.0)
                    .suffix(" HU"),
            );
            ui.label("to");
            ui.add(
                egui::DragValue::new(&mut p.range_hu.1)
                    .speed(5.0)
                    .suffix(" HU"),
            );
        });
        ui.checkbox(&mut p.inside_active, "only inside the active segment");
    }
    if p.kind.uses_radius() {
        let text = match p.kind {
            EffectKind::Margin => "distance (negative shrinks)",
            EffectKind::Hollow => "thickness",
            _ => "radius",
        };
        let range = if p.kind == EffectKind::Margin {
            -30.0..=30.0
        } else {
            0.5..=30.0
        };
        ui.add(
            egui::Slider::new(&mut p.radius_mm, range)
                .text(text)
                .suffix(" mm"),
        );
    }
    if matches!(
        p.kind,
        EffectKind::Erode | EffectKind::Dilate | EffectKind::Open | EffectKind::Close
    ) {
        ui.checkbox(&mut p.in_plane, "in the slice plane (disc)");
    }
    if p.kind == EffectKind::FillHoles {
        ui.checkbox(&mut p.in_plane, "per slice (else in 3D)");
    }
    if p.kind == EffectKind::Smooth {
        ui.checkbox(&mut p.median, "median (else closing then opening)");
    }
    if p.kind == EffectKind::KeepLargest {
        ui.add(egui::Slider::new(&mut p.count, 1..=20).text("islands"));
    }
    if p.kind == EffectKind::RemoveSmall {
        ui.add(
            egui::Slider::new(&mut p.min_ml, 0.01..=100.0)
                .logarithmic(true)
                .text("under")
                .suffix(" ml"),
        );
    }
    if p.kind.uses_other() {
        let segments = ctx
            .segmentation()
            .map_or(&[][..], |s| s.segments.as_slice());
        let text = p
            .other
            .and_then(|n| segments.iter().find(|s| s.number == n))
            .map_or_else(|| "(choose)".to_owned(), |s| s.label.clone());
        egui::ComboBox::from_label("with")
            .selected_text(text)
            .show_ui(ui, |ui| {
                for s in segments {
                    ui.selectable_value(&mut p.other, Some(s.number), &s.label);
                }
            });
    }
}

//! Drawing of the editing feature: the side-panel section, the "unsaved
//! edits" question, and the views' pointer input and brush outline.

use egui::{Color32, RichText};

use super::{EditCommand, Editing, Tool};
use crate::mpr::{SlicePlane, ViewAxis};
use crate::seg::Segment;
use crate::ui::command::{Command, SaveTarget};
use crate::ui::context::ViewerContext;
use crate::ui::views::Placement;

/// The "unsaved edits" question, while a command waits for it.
pub fn confirm_window(ctx: &ViewerContext, pending: Option<&Command>, egui_ctx: &egui::Context) {
    if pending.is_none() {
        return;
    }
    egui::Modal::new(egui::Id::unique("unsaved-edits")).show(egui_ctx, |ui| {
        ui.heading("Unsaved segmentation edits");
        ui.label(
            "The segmentation has edits that are not saved. Save them first, or discard them?",
        );
        ui.horizontal(|ui| {
            if ui.button("Save as DICOM-SEG…").clicked() {
                ctx.send(Command::Ask(SaveTarget::DicomSeg));
                ctx.send(Command::ConfirmEdits(false));
            }
            if ui.button("Discard edits").clicked() {
                ctx.send(Command::ConfirmEdits(true));
            }
            if ui.button("Keep editing").clicked() {
                ctx.send(Command::ConfirmEdits(false));
            }
        });
    });
}

/// The editing section of the side panel.
pub fn section(ctx: &ViewerContext, editing: &Editing, ui: &mut egui::Ui) {
    let Some(study) = ctx.study else { return };
    let ev = ctx.edit;
    egui::CollapsingHeader::new("Edit segmentation")
        .default_open(false)
        .show(ui, |ui| {
            let mut s = ev.settings;
            ui.horizontal(|ui| {
                for t in Tool::ALL {
                    ui.selectable_value(&mut s.tool, t, t.name());
                }
            });
            ui.horizontal(|ui| {
                ui.add(
                    egui::Slider::new(&mut s.radius_mm, 0.5..=50.0)
                        .text("radius")
                        .suffix(" mm")
                        .logarithmic(true),
                );
                ui.checkbox(&mut s.sphere, "3D (sphere)");
            });
            ui.horizontal(|ui| {
                ui.checkbox(&mut s.limit_hu, "Brush only");
                ui.add(
                    egui::DragValue::new(&mut s.range_hu.0)
                        .speed(5.0)
                        .suffix(" HU"),
                );
                ui.label("to");
                ui.add(
                    egui::DragValue::new(&mut s.range_hu.1)
                        .speed(5.0)
                        .suffix(" HU"),
                );
            });
            ui.checkbox(&mut s.fill_3d, "Fill in 3D (else in the view's plane)");
            if s.range_hu.0 > s.range_hu.1 {
                s.range_hu = (s.range_hu.1, s.range_hu.0);
            }
            if s != ev.settings {
                ctx.send(Command::Edit(EditCommand::Settings(s)));
            }
            segment_row(ctx, study, ui);
            super::effects::section(ctx, &editing.effects, ui);
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(ev.undo_steps > 0, egui::Button::new("Undo"))
                    .on_hover_text("Ctrl+Z")
                    .clicked()
                {
                    ctx.send(Command::Edit(EditCommand::Undo));
                }
                if ui
                    .add_enabled(ev.redo_steps > 0, egui::Button::new("Redo"))
                    .on_hover_text("Ctrl+Y or Ctrl+Shift+Z")
                    .clicked()
                {
                    ctx.send(Command::Edit(EditCommand::Redo));
                }
                ui.label(
                    RichText::new(format!(
                        "{} steps, {:.1} KB",
                        ev.undo_steps,
                        ev.history_bytes as f64 / 1024.0
                    ))
                    .weak(),
                );
            });
            if ui
                .button(format!(
                    "Interpolate between {} slices",
                    ctx.state.active.name()
                ))
                .on_hover_text("Fill the slices between edited slices of the active view")
                .clicked()
            {
                ctx.send(Command::Edit(EditCommand::Interpolate(ctx.state.active)));
            }
            if ev.unsaved {
                ui.label(
                    RichText::new("Unsaved edits (save them with File, Export …)")
                        .color(Color32::YELLOW),
                );
            }
        });
}

/// The active segment: choose, new, rename, recolour, delete.
fn segment_row(ctx: &ViewerContext, study: &crate::study::Study, ui: &mut egui::Ui) {
    let ev = ctx.edit;
    let segments: &[Segment] = study
        .segmentation
        .as_deref()
        .map_or(&[], |s| s.segments.as_slice());
    let active = ev
        .active
        .and_then(|a| segments.iter().find(|s| s.number == a))
        .or_else(|| segments.last());
    ui.horizontal(|ui| {
        let text = active.map_or_else(
            || "(none)".to_owned(),
            |s| format!("{} {}", s.number, s.label),
        );
        egui::ComboBox::from_label("active")
            .selected_text(text)
            .show_ui(ui, |ui| {
                for s in segments {
                    if ui
                        .selectable_label(
                            Some(s.number) == active.map(|a| a.number),
                            format!("{} {}", s.number, s.label),
                        )
                        .clicked()
                    {
                        ctx.send(Command::Edit(EditCommand::Select(s.number)));
                    }
                }
            });
        if ui.button("New").clicked() {
            ctx.send(Command::Edit(EditCommand::NewSegment));
        }
    });
    let Some(a) = active else { return };
    ui.horizontal(|ui| {
        let mut rgb = a.colour_rgb;
        if ui.color_edit_button_srgb(&mut rgb).changed() {
            ctx.send(Command::Edit(EditCommand::Recolour(a.number, rgb)));
        }
        // The name being typed lives in egui's memory until it is sent.
        let id = ui.scope_id().with(("rename-segment", a.number));
        let mut name: String = ui.data(|d| d.get_temp(id)).unwrap_or_default();
        let r = ui.add(
            egui::TextEdit::singleline(&mut name)
                .desired_width(120.0)
                .hint_text(&a.label),
        );
        if r.lost_focus() && !name.trim().is_empty() {
            ctx.send(Command::Edit(EditCommand::Rename(
                a.number,
                name.trim().to_owned(),
            )));
            name.clear();
        }
        ui.data_mut(|d| d.insert_temp(id, name));
        if ui.button("Delete").clicked() {
            ctx.send(Command::Edit(EditCommand::Delete(a.number)));
        }
    });
}

/// Primary-button input of an editing tool: brush and eraser dabs while the
/// button is down (the stroke ends when it goes up, see [`draw_views`]), a
/// fill on click.
pub fn view_input(
    ui: &egui::Ui,
    response: &egui::Response,
    axis: ViewAxis,
    ctx: &ViewerContext,
    plane: &SlicePlane,
    place: &Placement,
    commands: &mut Vec<Command>,
) {
    let Some(pos) = response
        .interact_pointer_pos()
        .or_else(|| response.hover_pos())
    else {
        return;
    };
    if !place.image.contains(pos) {
        return;
    }
    let (px, py) = place.pixel_of_screen(plane, pos);
    let point = plane.world_of_pixel(px, py);
    match ctx.edit.settings.tool {
        Tool::Brush | Tool::Eraser => {
            let down = ui.input(|i| i.pointer.primary_down());
            if down && response.is_pointer_button_down_on() {
                commands.push(Command::Edit(EditCommand::Dab(axis, point)));
            }
        }
        Tool::Fill => {
            if response.clicked() {
                commands.push(Command::Edit(EditCommand::Fill(axis, point)));
            }
        }
        Tool::Navigate => {}
    }
}

/// The brush outline under the pointer: a circle of the radius in the
/// view's plane, for the brush and the eraser.
pub fn brush_outline(
    painter: &egui::Painter,
    response: &egui::Response,
    ctx: &ViewerContext,
    place: &Placement,
) {
    if !matches!(ctx.edit.settings.tool, Tool::Brush | Tool::Eraser) {
        return;
    }
    if let Some(pos) = response.hover_pos() {
        let r = ctx.edit.settings.radius_mm * place.points_per_mm;
        painter.circle_stroke(
            pos,
            r,
            egui::Stroke::new(1.0, Color32::from_rgb(255, 220, 0)),
        );
    }
}

//! Moving around the study: the crosshair kept inside the volume, slice
//! scrolling, and the keyboard (arrows and Page Up/Down scroll the active
//! view, Escape leaves the maximised view, Home resets, Ctrl+Z / Ctrl+Y /
//! Ctrl+Shift+Z undo and redo segmentation edits).

use glam::DVec3;

use super::app::App;
use super::command::Command;
use crate::mpr::{self, ViewAxis};

impl App {
    pub(super) fn clamp_to_volume(&self, p: DVec3) -> DVec3 {
        let Some(s) = &self.study else { return p };
        let g = &s.volume.geometry;
        let v = g.voxel_of_world(p);
        let max = DVec3::new(
            (g.dims[2] - 1) as f64,
            (g.dims[1] - 1) as f64,
            (g.dims[0] - 1) as f64,
        );
        g.world_of_voxel(v.clamp(DVec3::ZERO, max))
    }

    pub(super) fn scroll(&mut self, axis: ViewAxis, n: i32) {
        let Some(s) = &self.study else { return };
        let step = mpr::slice_step_mm(&s.volume.geometry, axis);
        let p = self.state.crosshair_mm + axis.scroll_dir() * step * f64::from(n);
        self.state.crosshair_mm = self.clamp_to_volume(p);
        self.state.active = axis;
    }

    pub(super) fn keyboard(&mut self, ctx: &egui::Context) {
        let axis = self.state.active;
        let (up, down, pgup, pgdn, esc, reset) = ctx.input(|i| {
            (
                i.key_pressed(egui::Key::ArrowUp) || i.key_pressed(egui::Key::ArrowRight),
                i.key_pressed(egui::Key::ArrowDown) || i.key_pressed(egui::Key::ArrowLeft),
                i.key_pressed(egui::Key::PageUp),
                i.key_pressed(egui::Key::PageDown),
                i.key_pressed(egui::Key::Escape),
                i.key_pressed(egui::Key::Home),
            )
        });
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let (undo, redo) = ctx.input_mut(|i| {
            let z = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::Z);
            let shift_z = egui::KeyboardShortcut::new(
                egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
                egui::Key::Z,
            );
            let y = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::Y);
            // The longer shortcut first: Ctrl+Shift+Z also matches Ctrl+Z.
            let redo = i.consume_shortcut(&shift_z) || i.consume_shortcut(&y);
            (i.consume_shortcut(&z), redo)
        });
        if undo {
            self.push(Command::Edit(super::editing::EditCommand::Undo));
        }
        if redo {
            self.push(Command::Edit(super::editing::EditCommand::Redo));
        }
        for (pressed, n) in [(up, 1), (down, -1), (pgup, 10), (pgdn, -10)] {
            if pressed {
                self.push(Command::ScrollSlice(axis, n));
            }
        }
        if esc {
            self.state.maximized = None;
        }
        if reset {
            self.push(Command::Reset);
        }
    }
}

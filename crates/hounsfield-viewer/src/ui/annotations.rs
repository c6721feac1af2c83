//! What is drawn over a view's image: the crosshair lines in the colours of
//! the other views' planes, orientation letters, the scale and the corner
//! text (hidden identifiers unless the info overlay is on).

use egui::{Color32, FontId, Pos2, Rect, Stroke, Vec2};

use super::state::{ViewerState, view_index};
use super::views::{Placement, axis_colour};
use crate::mpr::{self, SlicePlane, ViewAxis};
use crate::study::Study;

/// The crosshair lines, each in the colour of the view whose plane it is.
fn draw_crosshair(
    painter: &egui::Painter,
    rect: Rect,
    axis: ViewAxis,
    state: &ViewerState,
    plane: &SlicePlane,
    place: &Placement,
) {
    let p = plane.pixel_of_world(state.crosshair_mm);
    let c = place.screen_of_pixel(plane, p.x, p.y);
    let (vertical, horizontal) = match axis {
        ViewAxis::Axial => (ViewAxis::Sagittal, ViewAxis::Coronal),
        ViewAxis::Coronal => (ViewAxis::Sagittal, ViewAxis::Axial),
        ViewAxis::Sagittal => (ViewAxis::Coronal, ViewAxis::Axial),
    };
    let img = place.image.intersect(rect);
    painter.line_segment(
        [Pos2::new(c.x, img.top()), Pos2::new(c.x, img.bottom())],
        Stroke::new(1.0, axis_colour(vertical)),
    );
    painter.line_segment(
        [Pos2::new(img.left(), c.y), Pos2::new(img.right(), c.y)],
        Stroke::new(1.0, axis_colour(horizontal)),
    );
}

pub(super) fn draw_annotations(
    painter: &egui::Painter,
    rect: Rect,
    axis: ViewAxis,
    study: &Study,
    state: &ViewerState,
    plane: &SlicePlane,
    place: &Placement,
) {
    let text = Color32::from_gray(230);
    let font = FontId::proportional(13.0);
    if state.show_crosshair {
        draw_crosshair(painter, rect, axis, state, plane, place);
    }
    let [l, r, t, b] = plane.edge_letters();
    let big = FontId::proportional(16.0);
    let ltr = Color32::from_rgb(255, 230, 120);
    painter.text(
        Pos2::new(rect.left() + 6.0, rect.center().y),
        egui::Align2::LEFT_CENTER,
        l,
        big.clone(),
        ltr,
    );
    painter.text(
        Pos2::new(rect.right() - 6.0, rect.center().y),
        egui::Align2::RIGHT_CENTER,
        r,
        big.clone(),
        ltr,
    );
    painter.text(
        Pos2::new(rect.center().x, rect.top() + 4.0),
        egui::Align2::CENTER_TOP,
        t,
        big.clone(),
        ltr,
    );
    painter.text(
        Pos2::new(rect.center().x, rect.bottom() - 4.0),
        egui::Align2::CENTER_BOTTOM,
        b,
        big,
        ltr,
    );

    let (idx, count, pos_mm) =
        mpr::slice_position(&study.volume.geometry, axis, state.crosshair_mm);
    painter.text(
        rect.left_top() + Vec2::new(6.0, 4.0),
        egui::Align2::LEFT_TOP,
        match state.views[view_index(axis)].mode {
            super::state::ViewMode::Slice => {
                format!("{}  {}/{}  {:.1} mm", axis.name(), idx + 1, count, pos_mm)
            }
            m if state.slab_mm > 0.0 => format!(
                "{} {}  slab {:.0} mm at {:.1} mm",
                axis.name(),
                m.name(),
                state.slab_mm,
                pos_mm
            ),
            m => format!("{} {}  whole volume", axis.name(), m.name()),
        },
        font.clone(),
        axis_colour(axis),
    );
    painter.text(
        rect.left_bottom() + Vec2::new(6.0, -4.0),
        egui::Align2::LEFT_BOTTOM,
        format!(
            "W {:.0}  L {:.0}",
            state.window_width_hu, state.window_centre_hu
        ),
        font.clone(),
        text,
    );
    if state.show_info_overlay && axis == ViewAxis::Axial {
        let mut lines = Vec::new();
        if let Some(m) = &study.metadata {
            lines.push(m.patient_name.clone().unwrap_or_else(|| "(no name)".into()));
            lines.push(format!("ID {}", m.patient_id.as_deref().unwrap_or("-")));
            lines.push(format!(
                "{} {}",
                m.modality.as_deref().unwrap_or("-"),
                m.study_date.as_deref().unwrap_or("")
            ));
        } else {
            lines.push(study.name.clone());
        }
        let [nz, ny, nx] = study.volume.shape();
        let sp = study.volume.geometry.spacing_zyx_mm();
        lines.push(format!("{nx}x{ny}x{nz}"));
        lines.push(format!("{:.3} x {:.3} x {:.3} mm", sp[2], sp[1], sp[0]));
        painter.text(
            rect.right_top() + Vec2::new(-6.0, 4.0),
            egui::Align2::RIGHT_TOP,
            lines.join("\n"),
            font,
            text,
        );
    }
}

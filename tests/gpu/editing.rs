//! Segmentation editing driven through the viewer (`egui_kittest`): the
//! tool chosen in the panel, a brush click and a stroke in the axial view,
//! the eraser, a fill, interpolation between edited slices, undo and redo,
//! the "unsaved edits" question, and the edits saved in every format and
//! read back identically. Expected voxels are computed here by brute force
//! over the grid from the world point under the pointer.

use egui::{Event, Modifiers, PointerButton, Pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use glam::DVec3;
use hounsfield::mpr::ViewAxis;
use hounsfield::seg::Segmentation;
use hounsfield::ui::App;
use hounsfield::ui::command::Command;
use hounsfield::ui::editing::{EditCommand, EditSettings, Tool};
use hounsfield::ui::picker::FixedPicker;
use hounsfield::ui::views::Placement;
use ndarray::Array3;

use crate::common;

fn demo() -> (Harness<'static, App>, tempfile::TempDir) {
    let (app, config) = crate::ui::app_with(FixedPicker::default());
    let mut h = crate::ui::harness(app);
    h.run_steps(3);
    (h, config)
}

/// Steps until no job runs (the status bar's job rows change the layout
/// of the views), then two more frames.
fn settle(h: &mut Harness<'_, App>) {
    for _ in 0..500 {
        h.run_steps(1);
        if h.state().running_jobs().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.run_steps(2);
}

/// The world point under a screen position of the axial view (after the
/// layout has settled).
fn world_at(h: &mut Harness<'_, App>, pos: Pos2) -> DVec3 {
    settle(h);
    let app = h.state();
    let plane = app.view_planes()[0].expect("axial view drawn");
    let rect = app.view_rects()[0];
    let vs = app.state.views[0];
    let place = Placement::new(&plane, rect, vs.zoom, vs.pan);
    let (px, py) = place.pixel_of_screen(&plane, pos);
    plane.world_of_pixel(px, py)
}

/// The axial disc of `radius_mm` around `centre` on its nearest slice, by
/// brute force over the grid.
fn disc(seg: &Segmentation, centre: DVec3, radius_mm: f64) -> Array3<bool> {
    let g = seg.geometry;
    let v = g.voxel_of_world(centre);
    let z0 = v.z.round() as usize;
    let on_slice = g.world_of_voxel(DVec3::new(v.x, v.y, z0 as f64));
    Array3::from_shape_fn(g.dims, |(z, r, c)| {
        z == z0
            && (g.world_of_voxel(DVec3::new(c as f64, r as f64, z as f64)) - on_slice).length()
                <= radius_mm
    })
}

/// The segmentation shown.
fn segmentation(h: &Harness<'_, App>) -> std::sync::Arc<Segmentation> {
    h.state()
        .study
        .as_ref()
        .and_then(|s| s.segmentation.clone())
        .expect("a segmentation")
}

fn mask_of(app: &App, number: u16) -> Array3<bool> {
    let seg = app
        .study
        .as_ref()
        .and_then(|s| s.segmentation.as_deref())
        .expect("a segmentation");
    let i = seg.index_of(number).expect("segment exists");
    seg.segments[i].mask.to_full()
}

fn press(h: &mut Harness<'_, App>, pos: Pos2, pressed: bool) {
    h.event(Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers: Modifiers::NONE,
    });
}

fn click(h: &mut Harness<'_, App>, pos: Pos2) {
    settle(h);
    h.hover_at(pos);
    h.run_steps(1);
    press(h, pos, true);
    h.run_steps(1);
    press(h, pos, false);
    h.run_steps(2);
}

fn settings(h: &mut Harness<'_, App>, f: impl FnOnce(&mut EditSettings)) {
    let mut s = h.state().editing.settings;
    f(&mut s);
    h.state_mut().push(Command::Edit(EditCommand::Settings(s)));
    h.run_steps(1);
}

#[test]
#[allow(clippy::too_many_lines)] // one editing session, step by step
fn paint_erase_fill_interpolate_undo_redo_in_the_viewer() {
    let (mut h, _cfg) = demo();
    // The panel: open the section, pick the brush, make a new segment.
    h.get_by_label("Edit segmentation").click();
    h.run_steps(2);
    h.get_by_label("Brush").click();
    h.run_steps(2);
    assert_eq!(h.state().editing.settings.tool, Tool::Brush);
    let before_segments = h
        .state()
        .study
        .as_ref()
        .unwrap()
        .segmentation
        .as_ref()
        .unwrap()
        .segments
        .len();
    h.get_by_label("New").click();
    h.run_steps(2);
    let seg = segmentation(&h);
    assert_eq!(seg.segments.len(), before_segments + 1);
    let number = h.state().editing.active.expect("the new segment is active");
    settings(&mut h, |s| s.radius_mm = 6.0);

    // One click: exactly the disc around the point under the pointer.
    let centre = h.state().view_rects()[0].center();
    let p0 = centre + vec2(-25.0, 10.0);
    let w0 = world_at(&mut h, p0);
    click(&mut h, p0);
    let want = disc(&seg, w0, 6.0);
    let got = mask_of(h.state(), number);
    assert!(want.iter().any(|&b| b));
    assert_eq!(got, want, "a brush click paints exactly the disc");
    assert_eq!(h.state().editing.history.undo_len(), 2); // new segment + the click

    // A stroke: one undo step, covering both ends.
    let p1 = centre + vec2(25.0, 10.0);
    let w1 = world_at(&mut h, p1);
    h.hover_at(p0);
    press(&mut h, p0, true);
    h.run_steps(1);
    for k in 1..=5 {
        h.hover_at(p0 + (p1 - p0) * (k as f32 / 5.0));
        h.run_steps(1);
    }
    press(&mut h, p1, false);
    h.run_steps(2);
    assert_eq!(h.state().editing.history.undo_len(), 3);
    let stroke = mask_of(h.state(), number);
    let end = disc(&seg, w1, 6.0);
    assert!(
        ndarray::Zip::from(&stroke)
            .and(&end)
            .and(&want)
            .all(|&s, &e, &w| s || !(e || w)),
        "the stroke covers the discs at both ends"
    );
    let mid = disc(&seg, (w0 + w1) * 0.5, 6.0);
    assert!(
        ndarray::Zip::from(&stroke).and(&mid).all(|&s, &m| s || !m),
        "and between"
    );

    // Undo, redo (keyboard), exact.
    h.state_mut().push(Command::Edit(EditCommand::Undo));
    h.run_steps(1);
    assert_eq!(mask_of(h.state(), number), want, "undo restores the click");
    h.event(Event::Key {
        key: egui::Key::Y,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: Modifiers::COMMAND,
    });
    h.run_steps(2);
    assert_eq!(
        mask_of(h.state(), number),
        stroke,
        "Ctrl+Y redoes the stroke"
    );
    settle(&mut h);
    h.hover_at(p1);
    h.run_steps(2);
    h.snapshot("editing");

    // The eraser removes exactly the disc at a point.
    settings(&mut h, |s| s.tool = Tool::Eraser);
    click(&mut h, p1);
    let erased = mask_of(h.state(), number);
    let expected = ndarray::Zip::from(&stroke)
        .and(&end)
        .map_collect(|&s, &e| s && !e);
    assert_eq!(erased, expected, "the eraser clears exactly its disc");

    // Interpolation: the same disc on two axial slices 4 apart fills the 3
    // slices between with that disc.
    settings(&mut h, |s| s.tool = Tool::Brush);
    let number2 = {
        h.state_mut().push(Command::Edit(EditCommand::NewSegment));
        h.run_steps(1);
        h.state().editing.active.unwrap()
    };
    let a = centre + vec2(0.0, -30.0);
    let wa = world_at(&mut h, a);
    click(&mut h, a);
    h.state_mut().push(Command::ScrollSlice(ViewAxis::Axial, 4));
    h.run_steps(2);
    let wb = world_at(&mut h, a);
    click(&mut h, a);
    h.state_mut()
        .push(Command::Edit(EditCommand::Interpolate(ViewAxis::Axial)));
    h.run_steps(1);
    let m = mask_of(h.state(), number2);
    let step = wb - wa;
    let mut all = disc(&seg, wa, 6.0);
    for k in 1..=4 {
        let d = disc(&seg, wa + step * (f64::from(k) / 4.0), 6.0);
        ndarray::Zip::from(&mut all)
            .and(&d)
            .for_each(|x, &y| *x |= y);
    }
    assert_eq!(
        m, all,
        "interpolation repeats the disc on the slices between"
    );

    // Fill: a 2D fill from the click in a HU range paints the connected
    // voxels of that slice in range.
    settings(&mut h, |s| {
        s.tool = Tool::Fill;
        s.range_hu = (-2000.0, 5000.0);
    });
    let number3 = {
        h.state_mut().push(Command::Edit(EditCommand::NewSegment));
        h.run_steps(1);
        h.state().editing.active.unwrap()
    };
    click(&mut h, p0);
    let filled = mask_of(h.state(), number3);
    let g = seg.geometry;
    let z0 = g.voxel_of_world(world_at(&mut h, p0)).z.round() as usize;
    let n_slice = g.dims[1] * g.dims[2];
    assert_eq!(
        filled.iter().filter(|&&b| b).count(),
        n_slice,
        "a fill over every HU fills its whole slice"
    );
    assert!(filled.index_axis(ndarray::Axis(0), z0).iter().all(|&b| b));

    // Unsaved edits: opening another study asks first; "Keep editing" keeps them.
    assert!(h.state().editing.unsaved());
    h.state_mut().push(Command::OpenDemo);
    h.run_steps(2);
    assert!(h.state().editing.confirm.is_some());
    h.get_by_label("Keep editing").click();
    h.run_steps(2);
    assert!(h.state().editing.confirm.is_none());
    assert_eq!(
        mask_of(h.state(), number3),
        filled,
        "the edits are still there"
    );

    // Saved in every format, read back identically.
    let dir = common::tempdir();
    let edited = segmentation(&h);
    let volume = std::sync::Arc::clone(&h.state().study.as_ref().unwrap().volume);
    let grid = h.state().study.as_ref().unwrap().grid.clone();
    let files = ["e.nii.gz", "e.nrrd", "e-seg.dcm", "e-rt.dcm"].map(|f| dir.path().join(f));
    h.state_mut().push(Command::ExportLabels(files[0].clone()));
    h.state_mut().push(Command::ExportLabels(files[1].clone()));
    h.state_mut()
        .push(Command::ExportDicomSeg(files[2].clone()));
    h.state_mut()
        .push(Command::ExportRtStruct(files[3].clone()));
    for _ in 0..600 {
        h.run_steps(1);
        if files.iter().all(|f| f.is_file()) && !h.state().task_running() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        !h.state().editing.unsaved(),
        "saving clears the unsaved mark"
    );
    let labels = edited.to_label_map();
    for f in &files {
        let back = hounsfield::study::open_segmentation(f, &volume.geometry, grid.as_ref())
            .unwrap_or_else(|e| panic!("{f:?}: {e}"));
        let name = f.file_name().unwrap().to_string_lossy();
        if name.ends_with("-seg.dcm") || name.ends_with("-rt.dcm") {
            // Every non-empty segment, voxel for voxel, with its name.
            let non_empty: Vec<_> = edited
                .segments
                .iter()
                .filter(|s| !s.mask.is_empty())
                .collect();
            for s in non_empty {
                let b = back
                    .segments
                    .iter()
                    .find(|b| b.label == s.label)
                    .unwrap_or_else(|| panic!("{name}: {} missing", s.label));
                assert_eq!(b.mask.to_full(), s.mask.to_full(), "{name}: {}", s.label);
            }
        } else {
            assert_eq!(back.to_label_map(), labels, "{name}: the label map");
        }
    }
    // Now nothing is unsaved: a new study opens without asking.
    h.state_mut().push(Command::OpenDemo);
    h.run_steps(2);
    assert!(h.state().editing.confirm.is_none());
    assert_eq!(h.state().editing.history.undo_len(), 0);
}

/// UI-thread time of the frames of brush strokes on the real chest CT (512
/// × 512 × 141) with its views and overlays redrawn each frame, next to the
/// cost of one dab alone. A measurement, not a check: run it by name,
///
/// `scripts/test --release --test gpu -- --ignored --nocapture brush_stroke_frame_times`
#[test]
#[ignore = "a measurement, not a check: run it by name"]
fn brush_stroke_frame_times() {
    use std::time::Instant;
    let Some(dir) = common::data_dir("chest-ct") else {
        return;
    };
    let (mut h, _cfg) = demo();
    h.state_mut().push(Command::OpenPath(dir));
    for _ in 0..3000 {
        h.run_steps(1);
        let a = h.state();
        if a.study.as_ref().is_some_and(|s| s.name != "Demo phantom") && !a.is_loading() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    settings(&mut h, |s| {
        s.tool = Tool::Brush;
        s.radius_mm = 8.0;
    });
    h.run_steps(3);
    let centre = h.state().view_rects()[0].center();
    let mut frames_ms = Vec::new();
    for stroke in 0..6 {
        let y = -60.0 + 20.0 * stroke as f32;
        let start = centre + vec2(-80.0, y);
        h.hover_at(start);
        press(&mut h, start, true);
        for k in 0..40 {
            h.hover_at(start + vec2(4.0 * k as f32, 0.0));
            let t = Instant::now();
            h.run_steps(1);
            frames_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        press(&mut h, start + vec2(160.0, 0.0), false);
        h.run_steps(2);
    }
    assert_eq!(h.state().editing.history.undo_len(), 7); // the new segment + 6 strokes
    frames_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| frames_ms[((frames_ms.len() - 1) as f64 * p).round() as usize];
    let study = h.state().study.as_ref().unwrap();
    let seg = study.segmentation.as_deref().unwrap();
    let number = h.state().editing.active.unwrap();
    let params = hounsfield::seg::edit::BrushParams {
        centre_in_world: study
            .volume
            .geometry
            .world_of_voxel(DVec3::new(40.0, 40.0, 10.0)),
        radius_mm: 8.0,
        shape: hounsfield::seg::edit::BrushShape::Disc(ViewAxis::Axial),
        ..Default::default()
    };
    let t = Instant::now();
    for _ in 0..100 {
        let c = hounsfield::seg::edit::brush(seg, number, None, &params).unwrap();
        assert!(c.voxel_count() > 0);
    }
    let dab_ms = t.elapsed().as_secs_f64() * 1e3 / 100.0;
    println!(
        "chest-ct, 6 brush strokes of 40 frames (radius 8 mm), UI-thread ms per frame: \
         median {:.2}, p95 {:.2}, max {:.2}; one dab computed alone {dab_ms:.3} ms; history {} bytes",
        pct(0.5),
        pct(0.95),
        pct(1.0),
        h.state().editing.history.bytes()
    );
}

/// Segment effects in the viewer: a dilation previewed (the preview is
/// drawn, the segment unchanged), then applied as one undo step equal to the
/// library's result; a threshold into a new segment; undo restores.
#[test]
fn effects_preview_apply_and_undo_in_the_viewer() {
    use hounsfield::seg::effects::{self, MorphOp};
    use hounsfield::ui::editing::effects::{EffectKind, EffectParams};
    let (mut h, _cfg) = demo();
    let before = segmentation(&h);
    let tumour = before
        .segments
        .iter()
        .find(|s| s.label == "tumour")
        .expect("the phantom's tumour")
        .number;
    h.state_mut()
        .push(Command::Edit(EditCommand::Select(tumour)));
    let dilate = EffectParams {
        kind: EffectKind::Dilate,
        radius_mm: 4.0,
        ..EffectParams::default()
    };
    h.state_mut()
        .push(Command::Edit(EditCommand::Effect(dilate)));
    h.state_mut()
        .push(Command::Edit(EditCommand::PreviewEffect));
    settle(&mut h);
    assert!(
        h.state().editing.effects.preview.is_some(),
        "the preview is computed"
    );
    assert_eq!(
        *segmentation(&h),
        *before,
        "a preview does not change the segmentation"
    );
    h.get_by_label("Edit segmentation").click();
    h.run_steps(2);
    h.get_by_label("Effects").click();
    h.run_steps(3);
    h.snapshot("effect_preview");
    h.state_mut().push(Command::Edit(EditCommand::ApplyEffect));
    settle(&mut h);
    let spacing = before.geometry.spacing_zyx_mm();
    let want = effects::morphology(
        mask_of_seg(&before, tumour).view(),
        spacing,
        MorphOp::Dilate,
        4.0,
        false,
    )
    .unwrap();
    assert_eq!(mask_of(h.state(), tumour), want, "the applied dilation");
    assert_eq!(h.state().editing.history.undo_len(), 1);

    // Threshold into a new segment (no preview first: computed, then applied).
    let threshold = EffectParams {
        kind: EffectKind::Threshold,
        range_hu: (200.0, 3000.0),
        ..EffectParams::default()
    };
    h.state_mut()
        .push(Command::Edit(EditCommand::Effect(threshold)));
    h.state_mut().push(Command::Edit(EditCommand::ApplyEffect));
    settle(&mut h);
    let seg = segmentation(&h);
    let new = seg.segments.last().expect("a new segment");
    assert!(new.label.starts_with("Threshold"), "{}", new.label);
    let volume = std::sync::Arc::clone(&h.state().study.as_ref().unwrap().volume);
    let want = effects::threshold(&volume, 200.0, 3000.0, None).unwrap();
    assert_eq!(new.mask.to_full(), want, "the threshold segment");
    assert_eq!(h.state().editing.history.undo_len(), 2);

    // Two undos give the segmentation back exactly.
    h.state_mut().push(Command::Edit(EditCommand::Undo));
    h.state_mut().push(Command::Edit(EditCommand::Undo));
    h.run_steps(2);
    assert_eq!(*segmentation(&h), *before, "undo restores the segmentation");
}

fn mask_of_seg(seg: &Segmentation, number: u16) -> Array3<bool> {
    seg.segments[seg.index_of(number).expect("segment")]
        .mask
        .to_full()
}

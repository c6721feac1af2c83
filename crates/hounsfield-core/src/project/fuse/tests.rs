use glam::{DMat3, DVec3};
use ndarray::Array3;

use super::*;
use crate::project::rotate::mm_per_px;

const LIVER: u16 = 1;
const TUMOUR: u16 = 2;

/// A liver box with a small tumour inside, on `direction`, centred on the
/// world origin; CT values −100 / 150 / 250 HU. Label values 6 (liver) and 7
/// (tumour) become segments 0 and 1.
fn case(direction: DMat3) -> (Volume, Segmentation, DVec3) {
    let dims = [12, 24, 28];
    let mut g = Geometry::identity(dims);
    g.spacing_mm = DVec3::new(1.0, 1.0, 2.0);
    g.direction = direction;
    let c = g.centre_mm();
    g.origin_mm -= c;
    let tumour = DVec3::new(4.0, -2.0, 3.0);
    let label = |p: DVec3| -> u16 {
        if p.distance(tumour) <= 2.6 {
            7
        } else if p.x.abs() <= 9.0 && p.y.abs() <= 8.0 && p.z.abs() <= 8.0 {
            6
        } else {
            0
        }
    };
    let labels = Array3::from_shape_fn(dims, |(k, j, i)| {
        label(g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64)))
    });
    let hu = labels.mapv(|l| match l {
        6 => 150,
        7 => 250,
        _ => -100,
    });
    let seg = Segmentation::from_label_map(
        labels.view(),
        g,
        &[(6, "liver".into()), (7, "tumour".into())],
        "test",
    )
    .unwrap();
    (Volume::from_i16(hu, g), seg, tumour)
}

#[test]
fn ranks_put_lesions_on_top_and_skip_hidden_segments() {
    let (_, seg, _) = case(DMat3::IDENTITY);
    let (ranks, order) = priority_ranks(&seg, &[]);
    assert_eq!(order, vec![0, 1]);
    assert_eq!(ranks.iter().copied().max(), Some(2));
    let (ranks, order) = priority_ranks(&seg, &[true, false]);
    assert_eq!(order, vec![0]);
    assert_eq!(ranks.iter().copied().max(), Some(1));
}

#[test]
fn axis_projection_shows_the_tumour_through_the_liver() {
    for direction in [
        DMat3::IDENTITY,
        DMat3::from_rotation_z(0.5) * DMat3::from_rotation_x(0.15),
    ] {
        let (_, seg, tumour) = case(direction);
        for axis in ViewAxis::ALL {
            let img = project_labels(&seg, axis, None, &[]);
            let plane = super::super::projection_plane(&seg.geometry, axis);
            let at = |p: DVec3| {
                let q = plane.pixel_of_world(p).round();
                img.data[q.y as usize * img.width + q.x as usize]
            };
            assert_eq!(at(tumour), TUMOUR, "{axis:?} {direction:?}");
            assert_eq!(at(DVec3::new(-6.0, 5.0, -5.0)), LIVER, "{axis:?}");
            assert_eq!(img.data[0], 0, "{axis:?}: corner");
            // Hiding the tumour shows the liver behind it.
            let hidden = project_labels(&seg, axis, None, &[true, false]);
            let q = plane.pixel_of_world(tumour).round();
            assert_eq!(hidden.data[q.y as usize * img.width + q.x as usize], LIVER);
        }
    }
}

#[test]
fn a_slab_beside_the_tumour_shows_only_the_liver() {
    let (_, seg, tumour) = case(DMat3::IDENTITY);
    let slab = Slab {
        centre_mm: DVec3::new(0.0, 5.0, 0.0),
        thickness_mm: 4.0,
    };
    let img = project_labels(&seg, ViewAxis::Coronal, Some(&slab), &[]);
    let plane = super::super::projection_plane(&seg.geometry, ViewAxis::Coronal);
    let q = plane.pixel_of_world(tumour).round();
    assert_eq!(img.data[q.y as usize * img.width + q.x as usize], LIVER);
}

#[test]
fn rotating_frames_carry_labels_and_blend_colours() {
    let (vol, seg, tumour) = case(DMat3::IDENTITY);
    let p = RotatingMipParams {
        step_deg: 90.0,
        size: 64,
        ..RotatingMipParams::default()
    };
    let f = rotating_mip_fused(&vol, Some(&seg), &p, &FuseParams::default(), None, None).unwrap();
    assert_eq!((f.grey.len(), f.labels.len()), (4, 4));
    assert!(f.has_overlay());
    let mmpx = mm_per_px(&vol.geometry, p.size);
    let centre = vol.geometry.centre_mm();
    let off = tumour - centre;
    let row = (32.0 - off.z / mmpx - 0.5).round() as usize;
    for (frame, s) in [(0, off.x), (1, off.y), (2, -off.x), (3, -off.y)] {
        let col = (32.0 + s / mmpx - 0.5).round() as usize;
        assert_eq!(f.labels[frame][row * 64 + col], TUMOUR, "frame {frame}");
        assert!(f.labels[frame].contains(&LIVER));
        assert_eq!(f.labels[frame][0], 0);
        let rgb = f.rgb(frame).unwrap();
        let px = &rgb[(row * 64 + col) * 3..][..3];
        assert!(px[0] > px[1] + 40 && px[0] > px[2] + 40, "{px:?} not red");
        assert_eq!(&rgb[..3], &[0, 0, 0]);
    }
    // Without a segmentation: the plain frames, no labels.
    let plain = rotating_mip_fused(&vol, None, &p, &FuseParams::default(), None, None).unwrap();
    assert!(plain.labels.is_empty() && !plain.has_overlay());
    assert_eq!(plain.grey, f.grey);
}

#[test]
fn mismatched_grids_and_bad_opacity_are_refused() {
    let (vol, seg, _) = case(DMat3::IDENTITY);
    let (other, _, _) = case(DMat3::from_rotation_z(0.3));
    let p = RotatingMipParams {
        size: 32,
        ..RotatingMipParams::default()
    };
    let r = rotating_mip_fused(&other, Some(&seg), &p, &FuseParams::default(), None, None);
    assert!(matches!(r, Err(FuseError::GridMismatch { .. })));
    let bad = FuseParams {
        opacity: 1.5,
        ..FuseParams::default()
    };
    let r = rotating_mip_fused(&vol, Some(&seg), &p, &bad, None, None);
    assert!(matches!(r, Err(FuseError::BadOpacity(_))));
}

#[test]
fn blending_mixes_grey_and_colour() {
    assert_eq!(blend(100, [200, 0, 50], 0.5), [150, 50, 75]);
    assert_eq!(blend(100, [200, 0, 50], 0.0), [100, 100, 100]);
    let rgb = blend_rgb(&[10, 20], &[0, 1], &[[250, 0, 0]], 1.0);
    assert_eq!(rgb, vec![10, 10, 10, 250, 0, 0]);
    assert_eq!(blend_rgb(&[7], &[], &[], 0.5), vec![7, 7, 7]);
}

/// Each frame gets its angle in the top-left corner (text differs between
/// frames, nothing outside the corner changes) and no overlay under it.
#[test]
fn frames_are_labelled_with_their_angle() {
    let n = 96;
    let mut f = FusedFrames {
        size: n,
        grey: vec![vec![128u8; n * n]; 3],
        labels: vec![vec![1u16; n * n]; 3],
        colours: vec![[255, 0, 0]],
        opacity: 0.5,
    };
    let before = f.clone();
    f.label_angles(30.0);
    let corner = |g: &[u8]| -> Vec<u8> {
        (0..20)
            .flat_map(|y| g[y * n..y * n + 40].to_vec())
            .collect()
    };
    for k in 0..3 {
        assert!(
            corner(&f.grey[k]).iter().any(|&v| v > 200),
            "frame {k}: light text"
        );
        assert!(corner(&f.grey[k]).contains(&0), "frame {k}: dark box");
        assert_eq!(f.labels[k][0], 0, "no overlay under the label");
        assert_eq!(f.grey[k][n * n - 1], before.grey[k][n * n - 1]);
        assert_eq!(f.labels[k][n * n - 1], 1);
    }
    assert_ne!(corner(&f.grey[0]), corner(&f.grey[1]), "0° and 30° differ");
}

//! `hounsfield mesh`: marching-cubes surface of a series at a HU level (or of
//! one segment of a segmentation) written as STL, PLY or OBJ.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Args;

use super::{SeriesInput, load_input, parse_spacing, timing};
use crate::mesh::write::{MeshFormat, write_mesh};
use crate::mesh::{self, LabelMesh, McParams, Mesh};
use crate::volume::resample::{ResampleParams, resample};

/// Arguments of `mesh`.
#[derive(Debug, Args)]
pub struct MeshArgs {
    /// The series to mesh.
    #[command(flatten)]
    pub source: SeriesInput,
    /// Isosurface level in HU (350 for bone).
    #[arg(long, default_value_t = 350.0, allow_negative_numbers = true)]
    pub level: f32,
    /// Resample to this spacing first: `1` or `x,y,z` in mm (trilinear).
    #[arg(long)]
    pub resample: Option<String>,
    /// Voxel stride of the cubes (1 = every voxel).
    #[arg(long, default_value_t = 1)]
    pub step: usize,
    /// A segmentation (DICOM-SEG, NIfTI/NRRD label map) on the series: mesh
    /// one of its segments instead of a HU level.
    #[arg(long)]
    pub seg: Option<PathBuf>,
    /// Segment number to mesh with `--seg` (default: the only segment).
    #[arg(long)]
    pub label: Option<u16>,
    /// Smooth the segment mask ([1, 2, 1] / 4 per axis) before meshing.
    #[arg(long)]
    pub smooth: bool,
    /// Output file: `.stl`, `.ply` (with the segment colour) or `.obj`.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `mesh`.
pub fn run_mesh(a: &MeshArgs) -> anyhow::Result<()> {
    MeshFormat::of_path(&a.out)?;
    if a.step == 0 {
        bail!("--step must be at least 1");
    }
    let loaded = load_input(&a.source)?;
    let t = Instant::now();
    let (mesh, colour, what) = if let Some(seg_path) = &a.seg {
        if a.resample.is_some() {
            bail!("--resample does not apply to --seg (the mask lives on the series grid)");
        }
        let seg =
            crate::study::open_segmentation(seg_path, &loaded.volume.geometry, Some(&loaded.grid))
                .with_context(|| format!("opening {seg_path:?}"))?;
        let numbers: Vec<u16> = seg.segments.iter().map(|s| s.number).collect();
        let segment = match a.label {
            Some(n) => seg.segments.iter().find(|s| s.number == n),
            None if seg.segments.len() == 1 => seg.segments.first(),
            None => bail!("the segmentation has segments {numbers:?}: choose one with --label"),
        }
        .with_context(|| format!("no segment {:?} (segments: {numbers:?})", a.label))?;
        let lm = LabelMesh::of_segment(segment, &seg.geometry, a.step, a.smooth)?;
        let what = format!("segment {} {:?}", lm.number, lm.label);
        (lm.mesh, Some(lm.colour_rgb), what)
    } else {
        let params = McParams {
            level_hu: a.level,
            step: a.step,
        };
        let mesh = match &a.resample {
            Some(s) => {
                let rp = ResampleParams {
                    spacing_mm: parse_spacing(s)?,
                    ..ResampleParams::default()
                };
                let resampled = resample(&loaded.volume, &rp)?;
                let t_mc = Instant::now();
                let m = mesh::marching_cubes(&resampled, &params)?;
                if super::timing_enabled() {
                    eprintln!(
                        "internal: resample_s={:.4} mc_s={:.4}",
                        t_mc.duration_since(t).as_secs_f64(),
                        t_mc.elapsed().as_secs_f64()
                    );
                }
                m
            }
            None => mesh::marching_cubes(&loaded.volume, &params)?,
        };
        (mesh, None, format!("level {} HU", a.level))
    };
    let op_s = t.elapsed().as_secs_f64();
    write_mesh(&a.out, &mesh, colour)?;
    timing(loaded.load_s, op_s);
    report(&mesh, &what, op_s);
    eprintln!("wrote {:?}", a.out);
    Ok(())
}

fn report(m: &Mesh, what: &str, op_s: f64) {
    println!(
        "{what}: {} vertices, {} triangles, area {:.1} mm², volume {:.1} mm³ ({:.2} ml), closed {}, consistently oriented {}, {:.3} s",
        m.vertices_mm.len(),
        m.triangles.len(),
        mesh::surface_area_mm2(m),
        mesh::enclosed_volume_mm3(m),
        mesh::enclosed_volume_mm3(m) / 1000.0,
        mesh::is_closed(m),
        mesh::is_consistently_oriented(m),
        op_s
    );
}

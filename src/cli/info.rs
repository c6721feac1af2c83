//! `hounsfield info`: geometry, voxel size, metadata, HU statistics and the
//! validation report of one series, as text or JSON.

use super::{InfoArgs, load_input};
use crate::dicom::{self, SeriesMetadata, ValidationReport};
use crate::volume::Volume;
use crate::volume::ops;

/// The JSON form of `info`.
fn info_json(
    v: &Volume,
    stats: &ops::HuStats,
    meta: Option<&SeriesMetadata>,
    transfer_syntax_uid: Option<&str>,
    report: Option<&ValidationReport>,
) -> serde_json::Value {
    let g = &v.geometry;
    let w = g.world_from_voxel();
    serde_json::json!({
        "shape_zyx": v.shape(),
        "spacing_zyx_mm": g.spacing_zyx_mm(),
        "origin_lps_mm": g.origin_mm.to_array(),
        "direction_columns_lps": [g.direction.x_axis.to_array(), g.direction.y_axis.to_array(), g.direction.z_axis.to_array()],
        "world_from_voxel_rows": [
            [w.matrix3.x_axis.x, w.matrix3.y_axis.x, w.matrix3.z_axis.x, w.translation.x],
            [w.matrix3.x_axis.y, w.matrix3.y_axis.y, w.matrix3.z_axis.y, w.translation.y],
            [w.matrix3.x_axis.z, w.matrix3.y_axis.z, w.matrix3.z_axis.z, w.translation.z],
            [0.0, 0.0, 0.0, 1.0]],
        "orientation": g.orientation_code(),
        "shear_deg": g.shear_deg(),
        "voxel_type": if v.voxels.as_i16().is_some() { "int16" } else { "float32" },
        "padding_declared": v.has_padding(),
        "hu": stats,
        "metadata": meta,
        "transfer_syntax": transfer_syntax_uid.map(dicom::transfer_syntax::name),
        "report": report,
    })
}

pub fn run_info(a: &InfoArgs) -> anyhow::Result<()> {
    let l = load_input(&a.source)?;
    let v = &l.volume;
    let g = &v.geometry;
    let stats = ops::stats(v);
    let meta = l.metadata;
    if a.json {
        let meta = meta.map(|m| if a.show_identifiers { m } else { m.redacted() });
        let json = info_json(
            &l.volume,
            &stats,
            meta.as_ref(),
            l.transfer_syntax_uid.as_deref(),
            l.report.as_ref(),
        );
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let [nz, ny, nx] = v.shape();
    let sp = g.spacing_zyx_mm();
    println!("shape (z,row,col):   {nz} x {ny} x {nx}");
    println!(
        "spacing (z,row,col): {:.5}, {:.5}, {:.5} mm",
        sp[0], sp[1], sp[2]
    );
    println!(
        "voxel size:          {:.4} x {:.4} x {:.4} mm = {:.4} mm³",
        sp[2],
        sp[1],
        sp[0],
        sp[0] * sp[1] * sp[2]
    );
    let o = g.origin_mm;
    println!("origin (LPS):        {:.3}, {:.3}, {:.3} mm", o.x, o.y, o.z);
    let d = g.direction;
    println!(
        "direction (col|row|slice): [{:.4} {:.4} {:.4}] [{:.4} {:.4} {:.4}] [{:.4} {:.4} {:.4}]",
        d.x_axis.x,
        d.x_axis.y,
        d.x_axis.z,
        d.y_axis.x,
        d.y_axis.y,
        d.y_axis.z,
        d.z_axis.x,
        d.z_axis.y,
        d.z_axis.z
    );
    println!(
        "orientation:         {} (shear {:.2}°)",
        g.orientation_code(),
        g.shear_deg()
    );
    let e = g.extent_mm();
    println!(
        "extent:              {:.1} x {:.1} x {:.1} mm",
        e.x, e.y, e.z
    );
    println!(
        "HU:                  min {:.1}  max {:.1}  mean {:.4}  std {:.2}  ({})",
        stats.min_hu,
        stats.max_hu,
        stats.mean_hu,
        stats.std_hu,
        if v.voxels.as_i16().is_some() {
            "int16"
        } else {
            "float32"
        }
    );
    println!(
        "padding declared:    {}",
        if v.has_padding() { "yes" } else { "no" }
    );
    let w = crate::volume::window::auto_window(v, 1.0, 99.0);
    println!(
        "auto window p1-p99:  centre {:.0} HU, width {:.0} HU",
        w.centre_hu, w.width_hu
    );
    if let Some(ts) = &l.transfer_syntax_uid {
        println!(
            "transfer syntax:     {} ({ts})",
            dicom::transfer_syntax::name(ts)
        );
    }
    if let Some(m) = &meta {
        print_metadata(m, a.show_identifiers);
    }
    if let Some(r) = &l.report {
        println!("validation:          {}", r.badge());
        for i in &r.issues {
            println!("  [{:?}] {}", i.severity, i.message);
        }
    }
    Ok(())
}

fn print_metadata(m: &SeriesMetadata, show_identifiers: bool) {
    let s = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    if show_identifiers {
        println!("patient name:        {}", s(&m.patient_name));
        println!("patient ID:          {}", s(&m.patient_id));
        println!("birth date:          {}", s(&m.patient_birth_date));
    } else if m.has_identifiers() {
        println!("patient identifiers: present (hidden; --show-identifiers to print)");
    }
    println!(
        "sex / age:           {} / {}",
        s(&m.patient_sex),
        s(&m.patient_age)
    );
    println!("identity removed:    {}", s(&m.patient_identity_removed));
    println!("study date:          {}", s(&m.study_date));
    println!(
        "study / series:      {} / {}",
        s(&m.study_description),
        s(&m.series_description)
    );
    println!("modality:            {}", s(&m.modality));
    println!(
        "equipment:           {} {}",
        s(&m.manufacturer),
        s(&m.model)
    );
    println!(
        "KVP:                 {}",
        m.kvp.map_or_else(|| "-".into(), |k| format!("{k}"))
    );
    println!(
        "body part / position: {} / {}",
        s(&m.body_part),
        s(&m.patient_position)
    );
}

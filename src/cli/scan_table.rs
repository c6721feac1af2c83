//! `hounsfield scan`: the series/object table and its JSON form.

use serde_json::json;

use super::ScanArgs;
use crate::dicom::{self, ScanReport, SeriesInfo};
use crate::study::summarize_volume_file;

/// Run `scan` and print the table (or JSON).
pub fn run_scan(a: &ScanArgs) -> anyhow::Result<()> {
    let t = std::time::Instant::now();
    let report = dicom::scan::scan(&a.paths);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&report))?);
    } else {
        print_table(&report, a.all_failures);
    }
    eprintln!(
        "scanned in {:.2} s: {} series, {} objects, {} volume files, {} unreadable",
        t.elapsed().as_secs_f64(),
        report.series.len(),
        report.objects.len(),
        report.volume_files.len(),
        report.failures.len()
    );
    Ok(())
}

fn series_json(i: usize, s: &SeriesInfo) -> serde_json::Value {
    let first = &s.instances[0];
    let mut v = json!({
        "index": i,
        "series_uid": if s.has_uid { Some(&s.key) } else { None },
        "key": s.key,
        "series_number": first.series_number,
        "modality": s.metadata.modality,
        "description": s.metadata.series_description,
        "files": s.instances.len(),
        "frames": s.frame_count(),
        "rows": first.rows,
        "cols": first.cols,
        "transfer_syntax": dicom::transfer_syntax::name(s.transfer_syntax_uid()),
        "transfer_syntax_uid": s.transfer_syntax_uid(),
        "folders": s.folders(),
    });
    match &s.layout {
        Ok(l) => {
            let g = &l.geometry;
            v["shape_zyx"] = json!(g.dims);
            v["spacing_zyx_mm"] = json!(g.spacing_zyx_mm());
            v["orientation"] = json!(g.orientation_code());
            v["validation"] = json!(l.report.badge());
            v["issues"] = json!(l.report.issues);
        }
        Err(e) => {
            v["validation"] = json!("error");
            v["error"] = json!(e);
        }
    }
    v
}

fn to_json(r: &ScanReport) -> serde_json::Value {
    json!({
        "series": r.series.iter().enumerate().map(|(i, s)| series_json(i, s)).collect::<Vec<_>>(),
        "objects": r.objects,
        "volumes": r.volume_files.iter().map(|p| volume_json(p)).collect::<Vec<_>>(),
        "failures": r.failures,
    })
}

/// A NIfTI/NRRD/NPY file's grid and kind ("label map": integer values,
/// none negative, at most 256 distinct; else "volume").
fn volume_json(path: &std::path::Path) -> serde_json::Value {
    match summarize_volume_file(path) {
        Ok(v) => json!({
            "path": v.path, "kind": v.kind.label(), "shape_zyx": v.shape_zyx,
            "spacing_zyx_mm": v.spacing_zyx_mm, "labels": v.labels,
        }),
        Err(e) => json!({ "path": path, "error": format!("{e:#}") }),
    }
}

fn print_table(r: &ScanReport, all_failures: bool) {
    if r.series.is_empty() {
        println!("no image series");
    } else {
        println!(
            "{:>4}  {:>5}  {:<4} {:<28} {:>6}  {:<9} {:<24} {:<4} {:<26} {:<5}",
            "#",
            "num",
            "mod",
            "description",
            "slices",
            "matrix",
            "spacing z,row,col (mm)",
            "ori",
            "transfer syntax",
            "check"
        );
    }
    for (i, s) in r.series.iter().enumerate() {
        let first = &s.instances[0];
        let desc: String = s
            .metadata
            .series_description
            .clone()
            .unwrap_or_default()
            .chars()
            .take(28)
            .collect();
        let (slices, spacing, ori, badge) = match &s.layout {
            Ok(l) => {
                let sp = l.geometry.spacing_zyx_mm();
                (
                    l.geometry.dims[0].to_string(),
                    format!("{:.4}, {:.4}, {:.4}", sp[0], sp[1], sp[2]),
                    l.geometry.orientation_code(),
                    l.report.badge(),
                )
            }
            Err(_) => (s.frame_count().to_string(), "-".into(), "-".into(), "error"),
        };
        let ts: String = dicom::transfer_syntax::name(s.transfer_syntax_uid())
            .chars()
            .take(26)
            .collect();
        println!(
            "{:>4}  {:>5}  {:<4} {:<28} {:>6}  {:<9} {:<24} {:<4} {:<26} {:<5}",
            format!("#{i}"),
            first
                .series_number
                .map_or_else(|| "-".into(), |n| n.to_string()),
            s.metadata.modality.as_deref().unwrap_or("-"),
            desc,
            slices,
            format!("{}x{}", first.cols, first.rows),
            spacing,
            ori,
            ts,
            badge
        );
        match s.folders().as_slice() {
            [] => {}
            [one] => println!("        in {}", one.display()),
            [first, rest @ ..] => println!(
                "        in {} (+{} more folders)",
                first.display(),
                rest.len()
            ),
        }
        match &s.layout {
            Ok(l) => {
                for issue in &l.report.issues {
                    println!("        [{:?}] {}", issue.severity, issue.message);
                }
            }
            Err(e) => println!("        [Error] {e}"),
        }
    }
    print_objects_and_failures(r, all_failures);
}

fn print_objects_and_failures(r: &ScanReport, all_failures: bool) {
    if !r.volume_files.is_empty() {
        println!("\nvolumes and label maps:");
        for p in &r.volume_files {
            match summarize_volume_file(p) {
                Ok(v) => println!(
                    "  {:<10} {}x{}x{} (z,row,col), {:.3}x{:.3}x{:.3} mm{}  {}",
                    v.kind.label(),
                    v.shape_zyx[0],
                    v.shape_zyx[1],
                    v.shape_zyx[2],
                    v.spacing_zyx_mm[0],
                    v.spacing_zyx_mm[1],
                    v.spacing_zyx_mm[2],
                    if v.labels.is_empty() {
                        String::new()
                    } else {
                        format!(", labels {:?}", v.labels)
                    },
                    p.display()
                ),
                Err(e) => println!("  unreadable {e}"),
            }
        }
    }
    if !r.objects.is_empty() {
        println!("\nnon-image objects:");
        for o in &r.objects {
            println!(
                "  {:<10} {:<30} {}",
                o.kind.label(),
                o.description
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .take(30)
                    .collect::<String>(),
                o.path.display()
            );
        }
    }
    if !r.failures.is_empty() {
        println!("\nunreadable files: {}", r.failures.len());
        let n = if all_failures { r.failures.len() } else { 10 };
        for f in r.failures.iter().take(n) {
            println!("  {}", f.reason);
        }
        if r.failures.len() > n {
            println!("  ... (--all-failures lists every one)");
        }
    }
}

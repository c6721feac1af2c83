//! `hounsfield survey`: one row per series under folders, the fields that
//! differ across series, identifying-data and shifted-histogram flags;
//! optional CSV, JSON and histogram PNG outputs. Patient names, IDs and
//! birth dates are never printed (only whether they are present).

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::dicom;
use crate::survey::{self, Survey, SurveyParams, SurveyRow};

/// Arguments of `survey`.
#[derive(Debug, clap::Args)]
pub struct SurveyArgs {
    /// Folders (or files, DICOMDIRs) to survey.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Write the table as CSV here.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write the whole survey (rows, inconsistencies, histograms) as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Draw every series' HU histogram into this PNG.
    #[arg(long)]
    pub histograms: Option<PathBuf>,
    /// The same figure as SVG.
    #[arg(long, conflicts_with = "no_histograms")]
    pub histograms_svg: Option<PathBuf>,
    /// Headers only: do not decode pixels (no histograms, percentiles or
    /// shift flags).
    #[arg(long, conflicts_with = "histograms")]
    pub no_histograms: bool,
    /// Winsorising percentiles of the histograms, `LOW,HIGH` in percent.
    #[arg(long, default_value = "1,99")]
    pub winsor: String,
    /// Flag a series whose quartiles are shifted by more than this (HU).
    #[arg(long, default_value_t = 12.0)]
    pub shift_threshold: f64,
    /// Do not decode series with more voxels than this.
    #[arg(long, default_value_t = 1 << 28)]
    pub max_voxels: u64,
}

fn parse_winsor(s: &str) -> anyhow::Result<(f64, f64)> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let [lo, hi] = parts.as_slice() else {
        bail!("--winsor wants LOW,HIGH (e.g. 1,99), got {s:?}");
    };
    let lo: f64 = lo.parse().context("--winsor LOW")?;
    let hi: f64 = hi.parse().context("--winsor HIGH")?;
    if !(0.0..=100.0).contains(&lo) || !(0.0..=100.0).contains(&hi) || lo >= hi {
        bail!("--winsor needs 0 <= LOW < HIGH <= 100, got {s:?}");
    }
    Ok((lo, hi))
}

/// Run `survey`.
pub fn run_survey(a: &SurveyArgs) -> anyhow::Result<()> {
    let params = SurveyParams {
        with_histograms: !a.no_histograms,
        winsor_percentiles: parse_winsor(&a.winsor)?,
        max_voxels: a.max_voxels,
        shift_threshold_hu: a.shift_threshold,
        ..SurveyParams::default()
    };
    for d in &a.dirs {
        if !d.exists() {
            bail!("no such file or folder: {d:?}");
        }
    }
    let t0 = Instant::now();
    let report = dicom::scan(&a.dirs);
    let t_scan = t0.elapsed();
    let tty = std::io::stderr().is_terminal();
    let progress = |done: usize, total: usize| {
        eprint!("\rsurvey: decoded {done}/{total} series");
        if done == total {
            eprintln!();
        }
    };
    let s = survey::survey_with_progress(
        &report,
        &params,
        tty.then_some(&progress as &(dyn Fn(usize, usize) + Sync)),
    );

    print!("{}", table(&s));
    print!("{}", sections(&s));
    println!(
        "{} series, {} other objects, {} unreadable files; headers {:.2} s, total {:.2} s",
        s.rows.len(),
        report.objects.len(),
        report.failures.len(),
        t_scan.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );

    if let Some(p) = &a.csv {
        let text = survey::csv::to_csv(&s);
        crate::io::write_atomic(p, |w| w.write_all(text.as_bytes()))
            .with_context(|| format!("writing {p:?}"))?;
        println!("wrote {p:?}");
    }
    if let Some(p) = &a.json {
        let text = survey::to_json(&s);
        crate::io::write_atomic(p, |w| w.write_all(text.as_bytes()))
            .with_context(|| format!("writing {p:?}"))?;
        println!("wrote {p:?}");
    }
    let chart = survey::plot::histograms_chart(&s);
    for p in [&a.histograms, &a.histograms_svg].into_iter().flatten() {
        crate::figure::write(&chart, p, 1100, 540).with_context(|| format!("writing {p:?}"))?;
        println!("wrote {p:?}");
    }
    Ok(())
}

/// Cut `s` to `n` characters (with `~` marking the cut); control
/// characters (hostile headers) become `?`.
fn cut(s: &str, n: usize) -> String {
    let clean = |c: char| if c.is_control() { '?' } else { c };
    if s.chars().count() <= n {
        s.chars().map(clean).collect()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).map(clean).collect();
        t.push('~');
        t
    }
}

fn opt(v: Option<&String>) -> &str {
    v.map_or("-", String::as_str)
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |x| format!("{x:.decimals$}"))
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The aligned table: one line per row (text cut to fit).
pub fn table(s: &Survey) -> String {
    let header = [
        "#",
        "SERIES",
        "PIR",
        "NAME",
        "ID",
        "DOB",
        "SEX",
        "AGE",
        "KVP",
        "MANUFACTURER",
        "MODEL",
        "MOD",
        "BODY",
        "N",
        "MATRIX",
        "PIXEL MM",
        "DZ MM",
        "THICK",
        "ORI",
        "SLOPE",
        "ICPT",
        "POS",
        "TRANSFER",
        "CHECK",
        "P1",
        "P50",
        "P99",
        "FLAGS",
    ];
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for r in &s.rows {
        lines.push(row_cells(s, r));
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn row_cells(s: &Survey, r: &SurveyRow) -> Vec<String> {
    let p = |k: usize| num(r.percentiles_hu.map(|p| p[k]), 0);
    let mut flags = Vec::new();
    if r.identifying {
        flags.push("IDENTIFYING".to_owned());
    }
    if r.shifted {
        flags.push(format!("SHIFT{:+.0}", r.shift_hu.unwrap_or(0.0)));
    }
    if s.inconsistencies
        .iter()
        .any(|i| i.odd_rows.contains(&r.index))
    {
        flags.push("ODD".to_owned());
    }
    vec![
        r.index.to_string(),
        cut(&r.short_label(), 24),
        cut(opt(r.patient_identity_removed.as_ref()), 5),
        yes_no(r.has_patient_name).to_owned(),
        yes_no(r.has_patient_id).to_owned(),
        yes_no(r.birth_date.is_some()).to_owned(),
        cut(opt(r.sex.as_ref()), 3),
        cut(opt(r.age.as_ref()), 5),
        num(r.kvp, 0),
        cut(opt(r.manufacturer.as_ref()), 12),
        cut(opt(r.model.as_ref()), 12),
        cut(opt(r.modality.as_ref()), 4),
        cut(opt(r.body_part.as_ref()), 8),
        r.slices.to_string(),
        format!("{}x{}", r.matrix[0], r.matrix[1]),
        r.pixel_spacing_mm
            .map_or_else(|| "-".to_owned(), |[a, b]| format!("{a:.3}/{b:.3}")),
        num(r.slice_spacing_mm, 3),
        num(r.slice_thickness_mm, 2),
        cut(opt(r.orientation.as_ref()), 3),
        num(r.rescale_slope, 2),
        num(r.rescale_intercept, 0),
        cut(opt(r.patient_position.as_ref()), 5),
        cut(&r.transfer_syntax, 18),
        r.badge.clone(),
        p(0),
        p(2),
        p(4),
        flags.join(","),
    ]
}

/// Odd values listed per inconsistent field (then `N more values`).
const MAX_ODD_VALUES: usize = 6;

/// The "Inconsistent fields" and "Flagged rows" sections.
pub fn sections(s: &Survey) -> String {
    let mut out = String::new();
    if s.inconsistencies.is_empty() {
        out.push_str("\nInconsistent fields: none\n");
    } else {
        out.push_str("\nInconsistent fields:\n");
        for inc in &s.inconsistencies {
            let n_major = inc
                .values
                .iter()
                .find(|(v, _)| *v == inc.majority)
                .map_or(0, |(_, rows)| rows.len());
            let n_odd_values = inc.values.len() - 1;
            let mut odd: Vec<String> = inc
                .values
                .iter()
                .filter(|(v, _)| *v != inc.majority)
                .take(MAX_ODD_VALUES)
                .map(|(v, rows)| {
                    let ids: Vec<String> = rows.iter().take(10).map(|i| format!("#{i}")).collect();
                    let more = if rows.len() > 10 { " ..." } else { "" };
                    format!("{} ({}{more})", cut(v, 40), ids.join(" "))
                })
                .collect();
            if n_odd_values > MAX_ODD_VALUES {
                odd.push(format!("{} more values", n_odd_values - MAX_ODD_VALUES));
            }
            writeln!(
                out,
                "  {}: majority {} ({n_major} series); odd rows {}: {}",
                inc.field,
                cut(&inc.majority, 40),
                inc.odd_rows.len(),
                odd.join("; ")
            )
            .ok();
        }
    }
    let flagged: Vec<&SurveyRow> = s.rows.iter().filter(|r| r.flagged()).collect();
    if flagged.is_empty() {
        out.push_str("Flagged rows: none\n");
    } else {
        out.push_str("Flagged rows:\n");
        for r in flagged {
            let mut why = Vec::new();
            if r.identifying {
                let mut what = Vec::new();
                if r.has_patient_name {
                    what.push("patient name");
                }
                if r.birth_date.is_some() {
                    what.push("birth date");
                }
                why.push(format!(
                    "identifying data ({}) with PatientIdentityRemoved {}",
                    what.join(", "),
                    r.patient_identity_removed.as_deref().unwrap_or("absent")
                ));
            }
            if r.shifted {
                why.push(format!(
                    "HU distribution shifted by {:+.1} HU from the other series",
                    r.shift_hu.unwrap_or(0.0)
                ));
            }
            writeln!(
                out,
                "  #{} {}: {}",
                r.index,
                cut(&r.short_label(), 40),
                why.join("; ")
            )
            .ok();
        }
    }
    if !s.structure_sets.is_empty() {
        out.push_str("Structure sets:\n");
        for set in &s.structure_sets {
            let series = set.series_row.map_or_else(
                || "series not scanned".to_owned(),
                |i| format!("series #{i}"),
            );
            match &set.error {
                Some(e) => writeln!(out, "  {}: {}", cut(&set.path, 60), cut(e, 120)).ok(),
                None => writeln!(
                    out,
                    "  {} ({series}): {} ROIs: {}",
                    cut(&set.path, 60),
                    set.roi_names.len(),
                    set.roi_names
                        .iter()
                        .map(|n| cut(n, 32))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .ok(),
            };
        }
    }
    out
}

//! Evaluation of a U-Net on labelled cases: per-slice and per-volume Dice, Jaccard and accuracy
//! (CSV text), and the coursework's figures as images — per-slice Dice histograms (linear and
//! log counts), box plots per case and per metric, montages of the best, typical and worst
//! slices.
//!
//! Conventions: a slice where neither the label nor the prediction has lung scores 1 on every
//! metric (and is counted in the CSV), but the histograms, box plots and montages use only the
//! slices whose *label* has lung — empty slices would pile up at 1 and hide the distribution.
//! Accuracy counts every pixel of the slice, so it is high whatever the lung's size.

use std::fmt::Write as _;
use std::sync::atomic::AtomicBool;

use hounsfield_unet::metrics::Confusion;
use image::RgbImage;
use ndarray::{Array3, Axis};

use super::cases::{CaseRow, load_case};
use super::montage::slice_sheet;
use super::{UnetLungParams, UnetModel, UnetRunError, segment_lungs_unet};
use crate::figure::{Chart, box_plots, score_histogram};
use crate::segment::Control;
use crate::volume::Volume;

/// Scores of one slice.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceScore {
    /// Case id.
    pub case: String,
    /// Slice index `z`.
    pub z: usize,
    /// Pixel counts.
    pub confusion: Confusion,
}

/// Scores of one volume.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeScore {
    /// Case id.
    pub case: String,
    /// Slices.
    pub slices: usize,
    /// Slices whose label has lung.
    pub lung_slices: usize,
    /// Voxel counts over the volume.
    pub confusion: Confusion,
    /// Volume of one voxel in ml.
    pub voxel_ml: f64,
    /// Inference and post-processing time, in seconds.
    pub seconds: f64,
}

/// One evaluated case, with what the montages need.
#[derive(Clone, Debug)]
pub struct CaseEval {
    /// Per-slice scores in `z` order.
    pub slices: Vec<SliceScore>,
    /// The volume's scores.
    pub volume: VolumeScore,
    /// The CT.
    pub ct: Volume,
    /// The label's lung mask (1 = lung).
    pub truth: Array3<u8>,
    /// The prediction (1 = lung).
    pub predicted: Array3<u8>,
}

/// Loads a case, segments it with `model` and scores the prediction against its label.
pub fn evaluate_case(
    row: &CaseRow,
    model: &UnetModel,
    params: &UnetLungParams,
    cancel: &AtomicBool,
) -> Result<CaseEval, UnetRunError> {
    let loaded = load_case(row)?;
    let control = Control {
        progress: None,
        cancel: Some(cancel),
    };
    let mask = segment_lungs_unet(&loaded.volume, model, params, &control)?;
    let slices: Vec<SliceScore> = mask
        .labels
        .axis_iter(Axis(0))
        .zip(loaded.lung.axis_iter(Axis(0)))
        .enumerate()
        .map(|(z, (predicted, truth))| SliceScore {
            case: row.case.clone(),
            z,
            confusion: Confusion::of(predicted, truth),
        })
        .collect();
    let voxel_ml = crate::seg::stats::voxel_volume_ml(&loaded.volume);
    let volume = VolumeScore {
        case: row.case.clone(),
        slices: slices.len(),
        lung_slices: slices.iter().filter(|s| !s.confusion.truth_empty()).count(),
        confusion: slices.iter().map(|s| s.confusion).sum(),
        voxel_ml,
        seconds: mask.seconds,
    };
    Ok(CaseEval {
        slices,
        volume,
        ct: loaded.volume,
        truth: loaded.lung,
        predicted: mask.labels,
    })
}

/// `slices.csv`: one row per slice.
pub fn slices_csv(cases: &[CaseEval]) -> String {
    let mut out =
        String::from("case,slice,truth_px,predicted_px,tp,fp,fn,tn,dice,jaccard,accuracy\n");
    for s in cases.iter().flat_map(|c| &c.slices) {
        let c = &s.confusion;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{:.6},{:.6},{:.6}",
            s.case,
            s.z,
            c.truth_count(),
            c.predicted_count(),
            c.true_positive,
            c.false_positive,
            c.false_negative,
            c.true_negative,
            c.dice(),
            c.jaccard(),
            c.accuracy()
        );
    }
    out
}

/// `volumes.csv`: one row per case.
pub fn volumes_csv(cases: &[CaseEval]) -> String {
    let mut out = String::from(
        "case,slices,lung_slices,truth_ml,predicted_ml,dice,jaccard,accuracy,\
         mean_slice_dice,seconds\n",
    );
    for case in cases {
        let v = &case.volume;
        let c = &v.confusion;
        let _ = writeln!(
            out,
            "{},{},{},{:.2},{:.2},{:.6},{:.6},{:.6},{:.6},{:.3}",
            v.case,
            v.slices,
            v.lung_slices,
            c.truth_count() as f64 * v.voxel_ml,
            c.predicted_count() as f64 * v.voxel_ml,
            c.dice(),
            c.jaccard(),
            c.accuracy(),
            mean(&lung_slice_values(
                std::slice::from_ref(case),
                Confusion::dice
            )),
            v.seconds
        );
    }
    out
}

/// A metric of every slice whose label has lung, over `cases`.
pub fn lung_slice_values(cases: &[CaseEval], metric: fn(&Confusion) -> f64) -> Vec<f64> {
    cases
        .iter()
        .flat_map(|c| &c.slices)
        .filter(|s| !s.confusion.truth_empty())
        .map(|s| metric(&s.confusion))
        .collect()
}

/// Mean (NaN for none).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// One figure of an evaluation.
pub enum EvalFigure {
    /// A plot (written as PNG and SVG).
    Chart(Chart),
    /// A montage of slices (PNG).
    Image(RgbImage),
}

/// The figures, named by file stem: Dice histograms (linear, log), box plots (per case, per
/// metric) and montages of the `n` best, typical (nearest the median) and worst slices by Dice.
pub fn figures(cases: &[CaseEval], n: usize) -> Vec<(String, EvalFigure)> {
    let dice = lung_slice_values(cases, Confusion::dice);
    let hist = |log| {
        EvalFigure::Chart(score_histogram(
            &dice,
            40,
            log,
            "Per-slice Dice of the lung slices",
            "Dice",
            "slices",
        ))
    };
    let mut out = vec![
        ("dice_hist_linear".to_owned(), hist(false)),
        ("dice_hist_log".to_owned(), hist(true)),
    ];
    let low = |values: &[f64]| {
        let min = values.iter().copied().fold(1.0f64, f64::min);
        ((min * 10.0).floor() / 10.0).clamp(0.0, 0.9)
    };
    let mut per_case: Vec<(String, Vec<f64>)> = cases
        .iter()
        .map(|c| {
            (
                c.volume.case.clone(),
                lung_slice_values(std::slice::from_ref(c), Confusion::dice),
            )
        })
        .collect();
    if cases.len() > 1 {
        per_case.push(("all".to_owned(), dice.clone()));
    }
    out.push((
        "dice_box_cases".to_owned(),
        EvalFigure::Chart(box_plots(
            &per_case,
            low(&dice),
            "Per-slice Dice by case",
            "Dice",
        )),
    ));
    let metrics = vec![
        ("Dice".to_owned(), dice.clone()),
        (
            "Jaccard".to_owned(),
            lung_slice_values(cases, Confusion::jaccard),
        ),
        (
            "accuracy".to_owned(),
            lung_slice_values(cases, Confusion::accuracy),
        ),
    ];
    let all: Vec<f64> = metrics
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    out.push((
        "metrics_box".to_owned(),
        EvalFigure::Chart(box_plots(
            &metrics,
            low(&all),
            "Per-slice metrics of the lung slices",
            "score (0–1)",
        )),
    ));
    for (name, title, picks) in pick_slices(cases, n) {
        out.push((name, EvalFigure::Image(slice_sheet(cases, &picks, title))));
    }
    out
}

/// `(file name, title, [(case index, z)])` for the best, typical and worst lung slices.
#[allow(clippy::type_complexity)]
fn pick_slices(cases: &[CaseEval], n: usize) -> Vec<(String, &'static str, Vec<(usize, usize)>)> {
    let mut scored: Vec<(f64, usize, usize)> = cases
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.slices
                .iter()
                .filter(|s| !s.confusion.truth_empty())
                .map(move |s| (s.confusion.dice(), i, s.z))
        })
        .collect();
    if scored.is_empty() || n == 0 {
        return Vec::new();
    }
    // Ascending Dice, ties by case and slice: deterministic.
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let n = n.min(scored.len());
    let at = |range: std::ops::Range<usize>| -> Vec<(usize, usize)> {
        scored[range].iter().map(|&(_, i, z)| (i, z)).collect()
    };
    let mut best = at(scored.len() - n..scored.len());
    best.reverse();
    let middle = (scored.len() - n) / 2;
    vec![
        ("slices_best".to_owned(), "Best", best),
        (
            "slices_typical".to_owned(),
            "Typical",
            at(middle..middle + n),
        ),
        ("slices_worst".to_owned(), "Worst", at(0..n)),
    ]
}

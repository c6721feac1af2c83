//! `cases.csv`: which series and labels a U-Net is trained or evaluated on, and loading one case
//! onto the CT grid.
//!
//! One header line, then one case per line; columns by header name, in any order:
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `case` | yes | patient (or case) id; rows with the same id stay on one side of the split |
//! | `series` | yes | DICOM folder, file or DICOMDIR, or a NIfTI/NRRD volume, relative to the CSV |
//! | `label` | yes | DICOM-SEG, RTSTRUCT, NIfTI or NRRD label map (e.g. written by `segment lungs`), relative to the CSV |
//! | `rois` | no | for an RTSTRUCT label: the ROI names that are lung, `;`-separated (e.g. `Lung_L;Lung_R`); empty = every ROI |
//! | `sex` (or `stratum`) | no | stratum of the split; empty = the series' PatientSex, if any |
//! | `lung_labels` | no | label values that are lung, space-separated (e.g. `2 3`); empty = every non-zero label |
//! | `select` | no | which series of `series` (SeriesInstanceUID prefix, SeriesNumber or `#N`) |
//!
//! Lines that are blank or start with `#` are skipped. Fields are not quoted: paths with commas
//! are not supported.

use std::path::{Path, PathBuf};

use ndarray::Array3;

use super::UnetRunError;
use crate::dicom::seg::ReferenceGrid;
use crate::dicom::{self, LoadControl};
use crate::volume::Volume;

/// One row of `cases.csv`, paths resolved against the CSV's folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRow {
    /// Patient or case id.
    pub case: String,
    /// The CT: DICOM folder/file/DICOMDIR or NIfTI/NRRD.
    pub series: PathBuf,
    /// Series selector within `series`.
    pub select: Option<String>,
    /// The label: DICOM-SEG, RTSTRUCT, NIfTI or NRRD.
    pub label: PathBuf,
    /// ROI names of an RTSTRUCT label to use (`None`: every ROI).
    pub rois: Option<Vec<String>>,
    /// Stratum for the split (from the CSV; filled from PatientSex on load when empty).
    pub stratum: Option<String>,
    /// Label values counted as lung (`None`: every non-zero value).
    pub lung_labels: Option<Vec<u16>>,
}

/// Parses the text of a `cases.csv` whose folder is `base`.
pub fn parse_cases(text: &str, base: &Path) -> Result<Vec<CaseRow>, UnetRunError> {
    let bad = |line: usize, message: String| UnetRunError::Cases { line, message };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let Some((header_line, header)) = lines.next() else {
        return Err(bad(1, "no header line".to_owned()));
    };
    let names: Vec<String> = header
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let column = |name: &str| names.iter().position(|n| n == name);
    let (Some(case_col), Some(series_col), Some(label_col)) =
        (column("case"), column("series"), column("label"))
    else {
        return Err(bad(
            header_line,
            format!("the header needs case, series and label columns, found {names:?}"),
        ));
    };
    let stratum_col = column("sex").or_else(|| column("stratum"));
    let lung_col = column("lung_labels");
    let select_col = column("select");
    let rois_col = column("rois");
    let mut rows = Vec::new();
    for (line, text) in lines {
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        if fields.len() > names.len() {
            return Err(bad(
                line,
                format!("{} fields, the header has {}", fields.len(), names.len()),
            ));
        }
        let field = |col: Option<usize>| {
            col.and_then(|c| fields.get(c))
                .copied()
                .filter(|f| !f.is_empty())
        };
        let required = |col: usize, what: &str| {
            field(Some(col)).ok_or_else(|| bad(line, format!("empty {what}")))
        };
        let lung_labels = field(lung_col)
            .map(|f| {
                f.split_whitespace()
                    .map(|v| {
                        v.parse::<u16>()
                            .map_err(|_| bad(line, format!("lung_labels: {v:?} is not a label")))
                    })
                    .collect::<Result<Vec<u16>, _>>()
            })
            .transpose()?;
        rows.push(CaseRow {
            case: required(case_col, "case")?.to_owned(),
            series: base.join(required(series_col, "series")?),
            select: field(select_col).map(str::to_owned),
            label: base.join(required(label_col, "label")?),
            rois: field(rois_col).map(|f| {
                f.split(';')
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty())
                    .collect()
            }),
            stratum: field(stratum_col).map(str::to_ascii_uppercase),
            lung_labels,
        });
    }
    if rows.is_empty() {
        return Err(bad(header_line, "no cases".to_owned()));
    }
    Ok(rows)
}

/// Reads and parses a `cases.csv` file.
pub fn read_cases(path: &Path) -> Result<Vec<CaseRow>, UnetRunError> {
    let text = std::fs::read_to_string(path).map_err(|source| UnetRunError::Read {
        source,
        path: path.to_path_buf(),
    })?;
    parse_cases(&text, path.parent().unwrap_or(Path::new(".")))
}

/// A loaded case: the CT and its lung mask on the CT grid.
#[derive(Clone, Debug)]
pub struct LoadedCase {
    /// The CT.
    pub volume: Volume,
    /// The CT grid with its DICOM identities (bare for NIfTI/NRRD input).
    pub grid: ReferenceGrid,
    /// 1 = lung, `[z, row, col]` on the CT grid.
    pub lung: Array3<u8>,
    /// The row's stratum, or the series' PatientSex when the row has none.
    pub stratum: Option<String>,
}

/// Loads a CT (DICOM or NIfTI/NRRD) with its grid and, for DICOM, its PatientSex.
pub fn load_series(
    path: &Path,
    select: Option<&str>,
) -> Result<(Volume, ReferenceGrid, Option<String>), UnetRunError> {
    if path.is_file() && crate::study::is_label_map_file(path) {
        let image = crate::study::read_label_map_file(path)?;
        let volume = image.into_volume();
        let grid = ReferenceGrid::bare(volume.geometry);
        return Ok((volume, grid, None));
    }
    let report = dicom::scan(&[path.to_path_buf()]);
    let info = dicom::select_series(&report, select, path)?;
    let loaded = dicom::load_info(info, &dicom::Limits::default(), &LoadControl::default())?;
    let grid = ReferenceGrid::from_series(info)
        .unwrap_or_else(|| ReferenceGrid::bare(loaded.volume.geometry));
    Ok((loaded.volume, grid, loaded.metadata.patient_sex))
}

/// Loads a case: the series, and its label placed on the CT grid, reduced to lung / not lung.
pub fn load_case(row: &CaseRow) -> Result<LoadedCase, UnetRunError> {
    let (volume, grid, sex) = load_series(&row.series, row.select.as_deref())?;
    let seg = crate::study::open_segmentation_detailed(
        &row.label,
        &volume.geometry,
        Some(&grid),
        row.rois.as_deref(),
    )?
    .segmentation;
    let labels = seg.to_label_map();
    let lung = labels.mapv(|v| {
        u8::from(match &row.lung_labels {
            Some(values) => values.contains(&v),
            None => v > 0,
        })
    });
    let stratum = row.stratum.clone().or_else(|| {
        sex.map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
    });
    Ok(LoadedCase {
        volume,
        grid,
        lung,
        stratum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns_by_name_and_resolves_paths() {
        let text = "\
# training cases
case,series,label,sex,lung_labels
chest, ct/chest , labels/chest.nii.gz,f,
phantom1,phantom1,phantom1-labels.nii.gz,,2 3

";
        let rows = parse_cases(text, Path::new("/data")).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].case, "chest");
        assert_eq!(rows[0].series, Path::new("/data/ct/chest"));
        assert_eq!(rows[0].label, Path::new("/data/labels/chest.nii.gz"));
        assert_eq!(rows[0].stratum.as_deref(), Some("F"));
        assert_eq!(rows[0].lung_labels, None);
        assert_eq!(rows[1].stratum, None);
        assert_eq!(rows[1].lung_labels, Some(vec![2, 3]));
        let reordered = parse_cases("label,case,series\nl.nrrd,a,s\n", Path::new("")).unwrap();
        assert_eq!(reordered[0].case, "a");
        assert_eq!(reordered[0].rois, None);
        let rt = parse_cases(
            "case,series,label,rois\nc,ct,rs.dcm, Lung_L ; Lung_R\n",
            Path::new(""),
        )
        .unwrap();
        assert_eq!(
            rt[0].rois,
            Some(vec!["Lung_L".to_owned(), "Lung_R".to_owned()])
        );
        assert_eq!(reordered[0].label, Path::new("l.nrrd"));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let base = Path::new(".");
        assert!(parse_cases("", base).is_err());
        assert!(parse_cases("case,series\na,b\n", base).is_err());
        assert!(parse_cases("case,series,label\n", base).is_err());
        assert!(parse_cases("case,series,label\na,,c\n", base).is_err());
        assert!(parse_cases("case,series,label\na,b,c,d\n", base).is_err());
        let err = parse_cases("case,series,label,lung_labels\na,b,c,x\n", base).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}

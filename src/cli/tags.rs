//! `hounsfield tags`: every element of one DICOM file as an aligned table
//! (tag, VR, keyword, value), sequences indented, patient identifiers hidden
//! unless `--show-identifiers`.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;

use crate::dicom::tags::{TagRow, dump_tags};

/// Arguments of `tags`.
#[derive(Debug, Args)]
pub struct TagsArgs {
    /// A DICOM file.
    pub file: PathBuf,
    /// Cut values longer than this many characters (0: no limit).
    #[arg(long, default_value_t = 80)]
    pub max_chars: usize,
    /// Print patient identifiers (names, IDs, birth date, address...)
    /// instead of `<hidden>`.
    #[arg(long)]
    pub show_identifiers: bool,
}

/// Run `tags`: the table on stdout, a note on stderr when values were hidden.
pub fn run_tags(a: &TagsArgs) -> anyhow::Result<()> {
    let rows = dump_tags(&a.file, a.max_chars)?;
    print!("{}", format_table(&rows, a.show_identifiers));
    let hidden = rows
        .iter()
        .filter(|r| r.shown_value(a.show_identifiers) != r.value)
        .count();
    if hidden > 0 {
        eprintln!("{hidden} identifying values hidden (--show-identifiers to print them)");
    }
    Ok(())
}

/// The rows as text: two spaces of indent per depth, then tag, VR, keyword
/// and value in aligned columns; one line per row, no trailing spaces.
pub fn format_table(rows: &[TagRow], show_identifiers: bool) -> String {
    let tag_w = rows
        .iter()
        .map(|r| 2 * r.depth + r.tag.chars().count())
        .max()
        .unwrap_or(0);
    let vr_w = rows.iter().map(|r| r.vr.chars().count()).max().unwrap_or(0);
    let kw_w = rows
        .iter()
        .map(|r| r.keyword.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for r in rows {
        let tag = format!("{}{}", "  ".repeat(r.depth), r.tag);
        let line = format!(
            "{tag:<tag_w$} {:<vr_w$} {:<kw_w$} {}",
            r.vr,
            r.keyword,
            r.shown_value(show_identifiers)
        );
        writeln!(out, "{}", line.trim_end()).ok();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(depth: usize, tag: &str, vr: &str, keyword: &str, value: &str, id: bool) -> TagRow {
        TagRow {
            depth,
            tag: tag.into(),
            vr: vr.into(),
            keyword: keyword.into(),
            value: value.into(),
            identifying: id,
        }
    }

    #[test]
    fn table_is_aligned_indented_and_hides_identifiers() {
        let rows = [
            row(0, "(0008,0060)", "CS", "Modality", "CT", false),
            row(0, "(0010,0010)", "PN", "PatientName", "Doe^Jane", true),
            row(0, "(0010,0020)", "LO", "PatientID", "", true),
            row(
                0,
                "(0008,1140)",
                "SQ",
                "ReferencedImageSequence",
                "<1 item>",
                false,
            ),
            row(1, "(FFFE,E000)", "", "Item", "1 of 1", false),
            row(
                1,
                "(0008,1155)",
                "UI",
                "ReferencedSOPInstanceUID",
                "1.2.3",
                false,
            ),
        ];
        let t = format_table(&rows, false);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[0], "(0008,0060)   CS Modality                 CT");
        assert_eq!(
            lines[1],
            "(0010,0010)   PN PatientName              <hidden>"
        );
        // An empty identifying value stays empty (nothing to hide).
        assert_eq!(lines[2], "(0010,0020)   LO PatientID");
        assert_eq!(lines[5], "  (0008,1155) UI ReferencedSOPInstanceUID 1.2.3");
        assert!(!t.contains("Doe"));
        assert!(format_table(&rows, true).contains("Doe^Jane"));
        assert_eq!(format_table(&[], false), "");
    }
}

//! File dialogs behind a trait, so tests inject paths instead of opening
//! dialogs. The real one is rfd's XDG desktop portal (no GTK).

use std::path::PathBuf;

/// Asks the user for paths.
pub trait FilePicker {
    /// A folder to open.
    fn pick_folder(&self) -> Option<PathBuf>;
    /// A file name to save to.
    fn save_file(&self, default_name: &str, extension: &str) -> Option<PathBuf>;
    /// An existing file to open (`extensions` filter the list, without dots).
    fn pick_file(&self, title: &str, extensions: &[&str]) -> Option<PathBuf>;
}

/// The desktop's file dialogs (XDG portal, zenity fallback).
pub struct RfdPicker;

impl FilePicker for RfdPicker {
    fn pick_folder(&self) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title("Open a DICOM folder")
            .pick_folder()
    }
    fn save_file(&self, default_name: &str, extension: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_file_name(default_name)
            .add_filter(extension, &[extension])
            .save_file()
    }
    fn pick_file(&self, title: &str, extensions: &[&str]) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(title)
            .add_filter("supported", extensions)
            .add_filter("all files", &["*"])
            .pick_file()
    }
}

/// Returns fixed answers (tests, scripted runs).
#[derive(Default, Clone)]
pub struct FixedPicker {
    /// Answer to `pick_folder`.
    pub folder: Option<PathBuf>,
    /// Folder where `save_file` puts files (under the default name).
    pub save_dir: Option<PathBuf>,
    /// Answer to `pick_file`.
    pub file: Option<PathBuf>,
}

impl FilePicker for FixedPicker {
    fn pick_folder(&self) -> Option<PathBuf> {
        self.folder.clone()
    }
    fn save_file(&self, default_name: &str, _extension: &str) -> Option<PathBuf> {
        self.save_dir.as_ref().map(|d| d.join(default_name))
    }
    fn pick_file(&self, _title: &str, _extensions: &[&str]) -> Option<PathBuf> {
        self.file.clone()
    }
}

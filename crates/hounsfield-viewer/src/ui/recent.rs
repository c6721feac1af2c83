//! Recently opened studies, remembered in
//! `$XDG_CONFIG_HOME/hounsfield/recent.json` (or `~/.config/...`).
//! `HOUNSFIELD_CONFIG_DIR` overrides the folder (tests).

use std::path::PathBuf;

const MAX_RECENT: usize = 10;

/// The list, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recent {
    /// Paths, newest first, without duplicates.
    pub paths: Vec<PathBuf>,
    file: Option<PathBuf>,
}

fn config_file(dir: Option<PathBuf>) -> Option<PathBuf> {
    let dir = dir
        .or_else(|| std::env::var_os("HOUNSFIELD_CONFIG_DIR").map(PathBuf::from))
        .or_else(|| {
            std::env::var_os("XDG_CONFIG_HOME").map(|d| PathBuf::from(d).join("hounsfield"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/hounsfield"))
        })?;
    Some(dir.join("recent.json"))
}

impl Recent {
    /// Read the list from `dir` (default: the user's config folder); empty
    /// when missing or unreadable.
    pub fn load(dir: Option<PathBuf>) -> Self {
        let file = config_file(dir);
        let paths = file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice::<Vec<PathBuf>>(&b).ok())
            .unwrap_or_default();
        Self { paths, file }
    }

    /// Put `path` first and save (errors are ignored: the list is a convenience).
    pub fn remember(&mut self, path: PathBuf) {
        self.paths.retain(|p| p != &path);
        self.paths.insert(0, path);
        self.paths.truncate(MAX_RECENT);
        if let Some(f) = &self.file {
            if let Some(dir) = f.parent() {
                std::fs::create_dir_all(dir).ok();
            }
            if let Ok(json) = serde_json::to_vec_pretty(&self.paths) {
                crate::io::write_atomic(f, |w| w.write_all(&json)).ok();
            }
        }
    }
}

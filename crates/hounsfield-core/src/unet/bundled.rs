//! The lung model shipped with hounsfield (`assets/unet-lungs.mpk`, built
//! into the binary), trained by `hounsfield unet train` on the project's data
//! (see `crates/hounsfield-unet/README.md` for the command and the data).

use super::{UnetModel, UnetRunError};

/// The bundled model file's bytes.
pub const BUNDLED_MODEL: &[u8] = include_bytes!("../../../../assets/unet-lungs.mpk");

/// The bundled model on the CPU.
pub fn bundled_model() -> Result<UnetModel, UnetRunError> {
    Ok(UnetModel::from_bytes(
        BUNDLED_MODEL,
        &hounsfield_unet::cpu_device(),
    )?)
}

/// The model in `path`, or the bundled one when `path` is `None`.
pub fn model_or_bundled(path: Option<&std::path::Path>) -> Result<UnetModel, UnetRunError> {
    match path {
        Some(p) => Ok(UnetModel::load(p, &hounsfield_unet::cpu_device())?),
        None => bundled_model(),
    }
}

//! Inference: a volume of HU slices → per-voxel lung probabilities on the same grid.
//!
//! Slices are preprocessed in parallel (rayon), run through the network in batches, and the
//! probabilities resized back to each slice's size (bilinear). Progress is reported after every
//! batch; the cancel flag is checked before every batch.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use ndarray::{Array2, Array3, ArrayView3, Axis, Zip};
use rayon::prelude::*;

use crate::UnetError;
use crate::model::Unet;
use crate::preprocess::{preprocess_slice, probabilities_to_slice};
use crate::store::UnetModel;

/// Slices per forward pass.
pub const DEFAULT_BATCH: usize = 8;

/// Probabilities `[z, row, col]` in [0, 1] for HU `slices` `[z, row, col]`, batched over slices.
/// `progress(done, total)` is called after every batch (counts of slices).
pub fn predict_volume(
    model: &UnetModel,
    slices: ArrayView3<f32>,
    progress: &mut dyn FnMut(usize, usize),
    cancel: &AtomicBool,
) -> Result<Array3<f32>, UnetError> {
    let (depth, rows, cols) = slices.dim();
    if rows == 0 || cols == 0 {
        return Err(UnetError::Input("empty slices".to_owned()));
    }
    let size = model.config.input_size;
    let net = model.net.valid();
    let device = model.device.clone().inner();
    let mut out = Array3::<f32>::zeros((depth, rows, cols));
    let mut done = 0;
    for (chunk_in, mut chunk_out) in slices
        .axis_chunks_iter(Axis(0), DEFAULT_BATCH)
        .zip(out.axis_chunks_iter_mut(Axis(0), DEFAULT_BATCH))
    {
        if cancel.load(Ordering::Relaxed) {
            return Err(UnetError::Cancelled);
        }
        let inputs: Vec<Array2<f32>> = chunk_in
            .axis_iter(Axis(0))
            .into_par_iter()
            .map(|hu| preprocess_slice(hu, size))
            .collect();
        let probabilities = forward_batch(&net, &inputs, size, &device)?;
        Zip::from(chunk_out.axis_iter_mut(Axis(0)))
            .and(probabilities.axis_iter(Axis(0)))
            .par_for_each(|mut slice_out, prob| {
                slice_out.assign(&probabilities_to_slice(prob, rows, cols));
            });
        done += chunk_in.len_of(Axis(0));
        progress(done, depth);
    }
    Ok(out)
}

/// Probabilities `[n, size, size]` for already preprocessed inputs `[n, size, size]`, with the
/// network's inference behaviour (batch-norm running statistics, no dropout) on the plain form
/// of `device`.
pub fn predict_inputs(
    net: &Unet,
    inputs: ArrayView3<f32>,
    batch: usize,
    device: &Device,
) -> Result<Array3<f32>, UnetError> {
    let (n, size, _) = inputs.dim();
    let net = net.valid();
    let device = device.clone().inner();
    let mut out = Array3::<f32>::zeros((n, size, size));
    for (chunk_in, mut chunk_out) in inputs
        .axis_chunks_iter(Axis(0), batch.max(1))
        .zip(out.axis_chunks_iter_mut(Axis(0), batch.max(1)))
    {
        let slices: Vec<Array2<f32>> = chunk_in.axis_iter(Axis(0)).map(|s| s.to_owned()).collect();
        chunk_out.assign(&forward_batch(&net, &slices, size, &device)?);
    }
    Ok(out)
}

/// Foreground mask (1) where the probability is at least `threshold`.
pub fn threshold(probabilities: ArrayView3<f32>, threshold: f32) -> Array3<u8> {
    probabilities.mapv(|p| u8::from(p >= threshold))
}

fn forward_batch(
    net: &Unet,
    inputs: &[Array2<f32>],
    size: usize,
    device: &Device,
) -> Result<Array3<f32>, UnetError> {
    let n = inputs.len();
    let mut data = Vec::with_capacity(n * size * size);
    for input in inputs {
        if input.dim() != (size, size) {
            return Err(UnetError::Input(format!(
                "input of {:?}, expected {size}²",
                input.dim()
            )));
        }
        data.extend(input.iter().copied());
    }
    let x = Tensor::<4>::from_data(TensorData::new(data, [n, 1, size, size]), device);
    let values = net
        .forward(x)
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|err| UnetError::Tensor(format!("{err:?}")))?;
    Array3::from_shape_vec((n, size, size), values)
        .map_err(|err| UnetError::Tensor(err.to_string()))
}

//! The coursework's 2D UNet as a burn module.
//!
//! Going down: a double convolution (3×3 conv, batch norm, ReLU, twice) per level, then 2×2
//! max-pool and dropout. Coming up: a 2×2 transposed convolution (stride 2), concatenation with
//! the skip of the same level, a double convolution. A 1×1 convolution makes one logit per pixel;
//! [`Unet::forward`] applies the sigmoid. Weights are drawn from the crate's own seeded
//! [`Rng`] (He-normal), so a [`UnetConfig`] fixes the initial network on any device and thread.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig2d};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};

use crate::config::UnetConfig;
use crate::rng::Rng;

/// Two 3×3 convolutions, each followed by batch norm and ReLU.
#[derive(Module, Debug)]
pub struct DoubleConv {
    conv1: Conv2d,
    norm1: BatchNorm,
    conv2: Conv2d,
    norm2: BatchNorm,
}

impl DoubleConv {
    fn new(channels_in: usize, channels_out: usize, rng: &mut Rng, device: &Device) -> Self {
        Self {
            conv1: conv3x3(channels_in, channels_out, rng, device),
            norm1: BatchNormConfig::new(channels_out).init(device),
            conv2: conv3x3(channels_out, channels_out, rng, device),
            norm2: BatchNormConfig::new(channels_out).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = relu(self.norm1.forward(self.conv1.forward(x)));
        relu(self.norm2.forward(self.conv2.forward(x)))
    }
}

/// Up-sampling by a 2×2 transposed convolution, then a double convolution over the
/// concatenation with the skip connection.
#[derive(Module, Debug)]
pub struct UpBlock {
    up: ConvTranspose2d,
    conv: DoubleConv,
}

/// The UNet. Input `[batch, 1, size, size]` in [0, 1]; output one value per pixel.
#[derive(Module, Debug)]
pub struct Unet {
    /// `depth + 1` double convolutions, full resolution first.
    down: Vec<DoubleConv>,
    /// `depth` up blocks, deepest first.
    up: Vec<UpBlock>,
    head: Conv2d,
    pool: MaxPool2d,
    dropout: f64,
}

impl Unet {
    /// A freshly initialised network on `device` (weights drawn from `config.seed`). The config
    /// must have passed [`UnetConfig::validate`].
    pub fn new(config: &UnetConfig, device: &Device) -> Self {
        let mut rng = Rng::new(config.seed);
        let mut down = Vec::with_capacity(config.depth + 1);
        down.push(DoubleConv::new(1, config.width(0), &mut rng, device));
        for level in 1..=config.depth {
            down.push(DoubleConv::new(
                config.width(level - 1),
                config.width(level),
                &mut rng,
                device,
            ));
        }
        let mut up = Vec::with_capacity(config.depth);
        for level in (0..config.depth).rev() {
            let (wide, narrow) = (config.width(level + 1), config.width(level));
            up.push(UpBlock {
                up: up2x2(wide, narrow, &mut rng, device),
                conv: DoubleConv::new(2 * narrow, narrow, &mut rng, device),
            });
        }
        let head = conv_init(
            Conv2dConfig::new([config.width(0), 1], [1, 1]),
            (1.0 / config.width(0) as f64).sqrt(),
            &mut rng,
            device,
        );
        Self {
            down,
            up,
            head,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            dropout: config.dropout,
        }
    }

    /// Logits `[batch, 1, h, w]`. With `dropout_rng`, dropout is applied after every max-pool
    /// (training); batch norm trains when the tensors are on an autodiff device.
    pub fn forward_logits(&self, x: Tensor<4>, mut dropout_rng: Option<&mut Rng>) -> Tensor<4> {
        let mut skips = Vec::with_capacity(self.up.len());
        let mut x = self.down[0].forward(x);
        for block in &self.down[1..] {
            skips.push(x.clone());
            x = self.pool.forward(x);
            if let Some(rng) = dropout_rng.as_deref_mut() {
                x = dropout(x, self.dropout, rng);
            }
            x = block.forward(x);
        }
        for block in &self.up {
            let Some(skip) = skips.pop() else { break };
            x = block.up.forward(x);
            x = block.conv.forward(Tensor::cat(vec![skip, x], 1));
        }
        self.head.forward(x)
    }

    /// Foreground probabilities `[batch, 1, h, w]` (sigmoid of the logits, no dropout).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        sigmoid(self.forward_logits(x, None))
    }
}

/// Inverted dropout with a mask drawn on the host from `rng`.
fn dropout(x: Tensor<4>, p: f64, rng: &mut Rng) -> Tensor<4> {
    if p <= 0.0 {
        return x;
    }
    let dims = x.dims();
    let keep = 1.0 - p;
    let scale = (1.0 / keep) as f32;
    let n = dims.iter().product::<usize>();
    let mask: Vec<f32> = (0..n)
        .map(|_| if rng.next_f64() < keep { scale } else { 0.0 })
        .collect();
    let mask = Tensor::<4>::from_data(TensorData::new(mask, dims), &x.device());
    x * mask
}

fn normal_data(shape: [usize; 4], std: f64, rng: &mut Rng) -> TensorData {
    let n = shape.iter().product::<usize>();
    let values: Vec<f32> = (0..n).map(|_| (rng.normal() * std) as f32).collect();
    TensorData::new(values, shape)
}

fn conv_init(config: Conv2dConfig, std: f64, rng: &mut Rng, device: &Device) -> Conv2d {
    let mut conv = config.with_initializer(Initializer::Zeros).init(device);
    let shape = conv.weight.dims();
    conv.weight = Param::from_data(normal_data(shape, std, rng), device);
    conv
}

fn conv3x3(channels_in: usize, channels_out: usize, rng: &mut Rng, device: &Device) -> Conv2d {
    let config = Conv2dConfig::new([channels_in, channels_out], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(false);
    conv_init(config, (2.0 / (9 * channels_in) as f64).sqrt(), rng, device)
}

fn up2x2(
    channels_in: usize,
    channels_out: usize,
    rng: &mut Rng,
    device: &Device,
) -> ConvTranspose2d {
    let mut up = ConvTranspose2dConfig::new([channels_in, channels_out], [2, 2])
        .with_stride([2, 2])
        .with_initializer(Initializer::Zeros)
        .init(device);
    let shape = up.weight.dims();
    let std = (1.0 / channels_in as f64).sqrt();
    up.weight = Param::from_data(normal_data(shape, std, rng), device);
    up
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> UnetConfig {
        UnetConfig {
            depth: 2,
            base_width: 4,
            input_size: 16,
            seed: 11,
            ..UnetConfig::default()
        }
    }

    #[test]
    fn shapes_and_probability_range() {
        let device = Device::flex();
        let net = Unet::new(&tiny(), &device);
        let x = Tensor::<4>::from_data(
            TensorData::new(
                (0..512).map(|i| (i % 7) as f32 / 7.0).collect(),
                [2, 1, 16, 16],
            ),
            &device,
        );
        let y = net.forward(x);
        assert_eq!(y.dims(), [2, 1, 16, 16]);
        let values = y.into_data().try_into_vec::<f32>().unwrap();
        assert!(values.iter().all(|p| (0.0..=1.0).contains(p)));
    }

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let device = Device::flex();
        let x = Tensor::<4>::from_data(
            TensorData::new(
                (0..256).map(|i| (i % 5) as f32 / 5.0).collect(),
                [1, 1, 16, 16],
            ),
            &device,
        );
        let run = |config: &UnetConfig| {
            Unet::new(config, &device)
                .forward(x.clone())
                .into_data()
                .try_into_vec::<f32>()
                .unwrap()
        };
        assert_eq!(run(&tiny()), run(&tiny()));
        let other = UnetConfig { seed: 12, ..tiny() };
        assert_ne!(run(&tiny()), run(&other));
    }

    #[test]
    fn parameter_count_of_the_default_network() {
        let net = Unet::new(&UnetConfig::default(), &Device::flex());
        // depth 4, width 16: about 1.9 M parameters (7.5 MB as f32).
        let n = net.num_params();
        assert!((1_800_000..2_000_000).contains(&n), "{n}");
    }
}

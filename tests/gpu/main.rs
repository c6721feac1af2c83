//! Integration tests that need a GPU adapter (Mesa's lavapipe on CI, pinned
//! with `WGPU_BACKEND=vulkan` by `scripts/test`) or a window (Xvfb), in one
//! test binary: GPU renders against their CPU references, the viewer through
//! `egui_kittest` with snapshots, and the real window's smoke test.
//!
//! Run one group with `cargo test --test gpu -- ui::`.

#[path = "../common/mod.rs"]
mod common;

mod editing;
mod render;
mod ui;
mod window_smoke;

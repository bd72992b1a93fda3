//! comfydock: declarative, reproducible ComfyUI environments.
//!
//! Layers, lowest first (docs/architecture.md has the table): `fsx`, `clock` and `progress`
//! (durable files, time, progress reporting); `git`, `python` (the uv driver), `store`
//! (content-addressed trees, downloads, archives, git mirrors); `manifest` (desired state on
//! disk), `workspace`, `registry` (Comfy Registry client and mirror) and `models` (model index);
//! `workflow` (what a workflow file needs; pure);
//! then the reconcile loop: `resolve` → `observe` → `plan` → `apply`, tied together by
//! `reconcile`; `ops`, the operations both edges call, with typed reports. Only `cli` prints or
//! prompts (clippy's `print_stdout`/`print_stderr` are denied everywhere else); every other
//! module returns values and typed errors.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod apply;
pub mod cec;
#[allow(clippy::print_stdout, clippy::print_stderr)] // the one edge that prints
pub mod cli;
pub mod clock;
pub mod fsx;
pub mod git;
pub mod manifest;
pub mod models;
pub mod observe;
pub mod ops;
pub mod pack_scan;
pub mod panel;
pub mod plan;
pub mod pool;
pub mod portability;
pub mod process;
pub mod progress;
pub mod python;
pub mod reconcile;
pub mod registry;
pub mod resolve;
pub mod runtime;
pub mod shell;
pub mod store;
pub mod types;
pub mod web;
pub mod workflow;
pub mod workspace;

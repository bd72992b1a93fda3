//! comfydock: declarative, reproducible ComfyUI environments.
//!
//! Layers, lowest first (docs/architecture.md has the table): `fsx`, `clock` and `progress`
//! (durable files, time, progress reporting); `git`, `python` (the uv driver), `store`
//! (content-addressed trees, downloads, archives, git mirrors); `manifest` (desired state on
//! disk), `workspace`, `registry` (Comfy Registry client and mirror) and `models` (model index);
//! `workflow` (what a workflow file needs; pure);
//! then the reconcile loop: `resolve` → `observe` → `plan` → `apply`, tied together by
//! `reconcile`. Only `cli` prints or prompts; every other module returns values and typed errors.

pub mod apply;
pub mod cec;
pub mod cli;
pub mod clock;
pub mod fsx;
pub mod git;
pub mod manifest;
pub mod models;
pub mod observe;
pub mod pack_scan;
pub mod plan;
pub mod portability;
pub mod process;
pub mod progress;
pub mod python;
pub mod reconcile;
pub mod registry;
pub mod resolve;
pub mod store;
pub mod types;
pub mod workflow;
pub mod workspace;

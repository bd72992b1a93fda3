//! comfydock: declarative, reproducible ComfyUI environments.
//!
//! Layers, lowest first: `fsx` (durable file operations), `git`, `python` (the uv driver),
//! `manifest` (the desired state on disk), `workspace` (where environments live and how they
//! are made). Only `cli` prints or prompts; every other module returns values and typed errors.

pub mod apply;
pub mod cli;
pub mod clock;
pub mod fsx;
pub mod git;
pub mod manifest;
pub mod models;
pub mod observe;
pub mod plan;
pub mod progress;
pub mod python;
pub mod reconcile;
pub mod registry;
pub mod resolve;
pub mod store;
pub mod workspace;

//! The one integration-test binary: a module per capability, all on `tests/support`.

#[path = "../support/mod.rs"]
mod support;

mod adopt;
mod cec_rules;
mod cli;
mod comfy_test;
mod drift;
mod env_models;
mod environments;
mod fixtures;
mod gc;
mod gitops;
mod install_scripts;
mod manifest_brief;
mod model_tree;
mod models;
mod pack_identity;
mod panel;
mod portability;
mod properties;
mod python;
mod real_use;
mod reconcile;
mod registry;
mod registry_cache;
mod registry_index;
mod registry_manager;
mod registry_mappings;
mod registry_mirror;
mod registry_nodes;
mod schemas;
mod serve;
mod snapshots_comfyui;
mod snapshots_models;
mod snapshots_nodes;
mod snapshots_plan;
mod snapshots_python;
mod snapshots_status;
mod snapshots_workflow;
mod store_remote;
mod trust;
mod workflow;
mod workflow_tracking;

//! The one integration-test binary: a module per capability, all on `tests/support`.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod environments;
mod fixtures;
mod python;
mod reconcile;

//! The command-line tree. Only parsing lives here; each command group has its own handler file.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "comfydock",
    version,
    about = "Declarative, reproducible ComfyUI environments",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The workspace folder (default: $COMFYDOCK_HOME, else ~/.comfydock_workspace)
    #[arg(long, global = true, value_name = "DIR")]
    pub workspace: Option<PathBuf>,

    /// The environment to act on (default: the one the current directory is in, else the active one)
    #[arg(short = 'e', long = "env", global = true, value_name = "NAME")]
    pub env: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a workspace (harmless when it exists)
    Init,
    /// Create an environment: ComfyUI checked out at a version, with its own Python venv
    Create(CreateArgs),
    /// List the environments of the workspace
    List(ListArgs),
    /// Make an environment the active one
    Use {
        /// The environment's name
        name: String,
    },
    /// Delete an environment and everything in its folder
    Delete {
        /// The environment's name
        name: String,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Start ComfyUI in the environment, passing ARGS to its main.py
    Run {
        /// Arguments for ComfyUI's main.py (after `--`)
        #[arg(last = true, value_name = "ARGS")]
        args: Vec<String>,
    },
    /// The workspace's model folders and model index: scan, find, show, export paths
    #[command(subcommand)]
    Model(ModelCommand),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The environment's name (letters, digits, `-`, `_`, `.`)
    pub name: String,
    /// ComfyUI tag, branch or commit (default: the newest release tag)
    #[arg(long, value_name = "REF")]
    pub comfyui: Option<String>,
    /// ComfyUI repository: a git URL, a file:// URL or a local path
    #[arg(long, value_name = "URL_OR_PATH", default_value = crate::workspace::DEFAULT_COMFYUI_REPO)]
    pub comfyui_repo: String,
    /// Python version for the venv (default: the Python uv finds)
    #[arg(long, value_name = "VERSION")]
    pub python: Option<String>,
    /// Which torch build to install: none (as the requirements say), cpu, or a CUDA tag such as cu124
    #[arg(long, value_name = "BACKEND", default_value = "none", value_parser = parse_torch_backend)]
    pub torch_backend: String,
    /// Make the new environment the active one
    #[arg(long = "use")]
    pub use_it: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

fn parse_torch_backend(value: &str) -> Result<String, String> {
    let cuda = value
        .strip_prefix("cu")
        .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()));
    let rocm = value
        .strip_prefix("rocm")
        .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    if matches!(value, "none" | "cpu") || cuda || rocm {
        Ok(value.to_string())
    } else {
        Err("expected none, cpu, cuXXX (e.g. cu124) or rocmX.Y".to_string())
    }
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// The folders whose models every environment shares
    #[command(subcommand)]
    Dirs(ModelDirsCommand),
    /// Index model files: new and changed files are hashed, unchanged ones are not read
    Scan {
        /// Folders to scan, inside the model folders (default: every model folder)
        #[arg(value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Also compute sha256 (what Civitai and registries use), for files that lack it
        #[arg(long)]
        sha256: bool,
        /// Print the counters as JSON
        #[arg(long)]
        json: bool,
    },
    /// List the models of the workspace index
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Find models by part of a file name, or by a hash prefix of 8+ hex digits (`blake3:…`, `sha256:…`)
    Find {
        /// A name fragment, a hash or hash prefix, optionally typed: `sha256:3e1f0a2b`
        query: String,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show one model: its hashes, files and category
    Show {
        /// A file path, a hash (prefix) or a name that matches one model
        #[arg(value_name = "HASH_OR_PATH")]
        target: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Write ComfyUI's extra_model_paths.yaml for the model folders into the environment
    ExportPaths {
        /// Replace an extra_model_paths.yaml that comfydock did not write (a copy is kept)
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelDirsCommand {
    /// Add a model folder (scanned by `model scan`, exported by `model export-paths`)
    Add {
        /// An existing folder
        dir: PathBuf,
    },
    /// Remove an added model folder from the workspace (its files are left alone)
    Remove {
        /// A folder added before
        dir: PathBuf,
    },
    /// List the model folders
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

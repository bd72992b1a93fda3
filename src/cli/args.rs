//! The command-line tree. Only parsing lives here; each command group has its own handler file.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "comfydock",
    version,
    about = "Declarative, reproducible ComfyUI environments"
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

    /// Use cached registry answers only, whatever their age; fail on anything not cached
    #[arg(long, global = true)]
    pub offline: bool,

    /// Show the git and uv commands run and how long each phase took (-vv: more)
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Print errors only (and a command's data on stdout)
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,

    /// Colours in messages: auto (a terminal, and NO_COLOR unset), always, never
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a workspace (harmless when it exists)
    Init,
    /// Check this machine: uv, git, Python, free disk, and whether the registry, PyPI and the torch index answer
    Doctor,
    /// ComfyUI itself: `comfyui show`, `comfyui update [REF]`
    #[command(subcommand)]
    Comfyui(ComfyuiCommand),
    /// Print a shell completion script: `comfydock completions bash > ~/.local/share/bash-completion/completions/comfydock`
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
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
    /// Custom node packs of the environment
    #[command(subcommand)]
    Node(NodeCommand),
    /// The environment's own Python requirements (beside ComfyUI's and the node packs')
    #[command(subcommand)]
    Py(PyCommand),
    /// Constraints on Python package versions ([tool.uv] constraint-dependencies)
    #[command(subcommand)]
    Constraint(ConstraintCommand),
    /// Resolve the manifest into .cec/comfydock.lock (and uv.lock)
    Lock {
        /// Only check that the lock is current: exit 1 when it is stale, change nothing
        #[arg(long)]
        check: bool,
    },
    /// Show what apply would change
    Plan(PlanArgs),
    /// Make the environment match its desired state
    Apply(ApplyArgs),
    /// The environment's generation, lock and drift on one screen
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Re-hash what the lock pins: store entries, installed node files, uv.lock, ComfyUI's
    /// commit (and with --models, placed model files); exit 1 on any difference
    Verify {
        /// Also hash every placed model file (slow on large models)
        #[arg(long)]
        models: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// A local web view: environments, generations (rollback), the plan (apply), tracked workflows
    /// and the model index, on 127.0.0.1 with a token in the printed URL
    Serve {
        /// The port (default: a free one)
        #[arg(long)]
        port: Option<u16>,
        /// Open the URL in a browser (xdg-open)
        #[arg(long)]
        open: bool,
    },
    /// Generations, newest first
    Log {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Return to an earlier generation (default: the one before the current), as a new generation
    Rollback {
        /// The generation number (`comfydock log` lists them)
        generation: Option<u64>,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
        /// Then run `comfydock test`; when a workflow fails, switch back to the generation before
        #[arg(long)]
        test: bool,
    },
    /// Finish or undo an apply that was interrupted (every changing command does this first)
    Recover,
    /// Free trash, old venvs and unused store entries beyond the last N generations
    Gc {
        /// How many of the newest generations to keep
        #[arg(long, default_value_t = 3)]
        keep: usize,
        /// List what would be removed and what it would free; remove nothing
        #[arg(long)]
        dry_run: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// The tracked workflows as a test suite: start ComfyUI once, then import, validate or run each
    Test(TestArgs),
    /// comfydock's panel inside ComfyUI (a sidebar tab), declared as a node of the environment
    #[command(subcommand)]
    Panel(PanelCommand),
    /// Start ComfyUI in the environment, passing ARGS to its main.py; supervised: started again
    /// on the current generation when it exits with code 75 (the panel's restart) or on SIGHUP
    Run {
        /// Refuse to start unless the environment is exactly its lock (no drift, lock not stale)
        #[arg(long)]
        locked: bool,
        /// Arguments for ComfyUI's main.py (after `--`)
        #[arg(last = true, value_name = "ARGS")]
        args: Vec<String>,
    },
    /// The Comfy Registry: serve a local mirror, take snapshots for one
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// The workspace's model folders and model index: scan, find, show, export paths
    #[command(subcommand)]
    Model(ModelCommand),
    /// ComfyUI workflows: what they need
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Same as `workflow analyze`
    Analyze(AnalyzeArgs),
    /// Commit hand edits of .cec/ (refused when the manifest or the lock does not parse)
    Commit {
        /// The commit message
        #[arg(short = 'm', long, value_name = "MSG")]
        message: Option<String>,
    },
    /// Remotes of the .cec repository: `remote add [NAME] URL`, `remote list`
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Push the .cec repository's branch to a remote
    Push {
        /// The remote's name
        #[arg(long, default_value = "origin")]
        remote: String,
    },
    /// Fetch .cec from a remote and fast-forward to it (refused when diverged or with uncommitted edits)
    Pull {
        /// The remote's name
        #[arg(long, default_value = "origin")]
        remote: String,
        /// Then apply the pulled lock, exactly as `apply --locked --yes`
        #[arg(long)]
        apply: bool,
        /// With --apply: then run `comfydock test`, switching back when a workflow fails
        #[arg(long, requires = "apply")]
        test: bool,
    },
    /// Workspace settings (workspace.toml) and model-source tokens: get, set, unset, list
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write the environment's .cec as one bundle another machine can import
    Export(super::portability::ExportArgs),
    /// A new environment from a bundle, a .cec folder or a git repository, built from its lock
    Import(super::portability::ImportArgs),
    /// The shared store in S3-compatible object storage (`[store] remote` in workspace.toml)
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Add a remote (NAME defaults to origin), or point an existing one at URL
    Add {
        /// NAME, or the URL when no name is given
        #[arg(value_name = "NAME|URL")]
        first: String,
        /// The URL, when NAME was given
        #[arg(value_name = "URL")]
        second: Option<String>,
    },
    /// The remotes and their URLs
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a setting's value (for a token: only whether it is set, and where from)
    Get {
        /// A key `config list` shows (e.g. store.remote, HF_TOKEN)
        key: String,
    },
    /// Set a setting (validated; comments in workspace.toml are kept). A token (HF_TOKEN,
    /// CIVITAI_API_KEY) goes to the user's credentials file, mode 0600; without VALUE it is read from stdin
    Set {
        /// A key `config list` shows
        key: String,
        /// The value (omit for a token to read it from stdin)
        value: Option<String>,
    },
    /// Remove a setting or a stored token
    Unset {
        /// A key `config list` shows
        key: String,
    },
    /// Every known setting with its value, and whether each token is set (never its value)
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Upload the node trees (and with --models, model files) the lock needs and the remote lacks
    Push {
        /// Also upload model files
        #[arg(long)]
        models: bool,
        /// Every environment of the workspace (default: the one `-e/--env` selects)
        #[arg(long)]
        all: bool,
    },
    /// What the lock needs: which objects are local, remote, or missing from both
    Status {
        /// Every environment of the workspace (default: the one `-e/--env` selects)
        #[arg(long)]
        all: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// What workflow files need: node types (builtin or custom, pack hints), model files,
    /// notes. Reads JSON (UI or API format) and PNG/WebP/FLAC/MP4 files saved by ComfyUI.
    /// Needs no workspace and no network; with a workspace, also shows which models it has.
    Analyze(AnalyzeArgs),
    /// Tracked workflows: in sync, edited in ComfyUI, changed in .cec
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Track workflows saved in ComfyUI (user/default/workflows/NAME.json) in .cec/workflows/
    Track {
        /// Workflow names (file names without .json)
        #[arg(required_unless_present = "all", value_name = "NAME")]
        names: Vec<String>,
        /// Every workflow in ComfyUI's folder not matched by .cec/.comfydockignore
        #[arg(long, conflicts_with = "names")]
        all: bool,
    },
    /// Stop tracking a workflow; ComfyUI's copy is kept
    Untrack { name: String },
    /// Take workflows edited in ComfyUI into .cec (refreshing what they require): a new generation
    Sync {
        name: Option<String>,
        /// Keep syncing while ComfyUI runs: watch its workflows folder (Ctrl-C stops)
        #[arg(long)]
        watch: bool,
    },
    /// Track a workflow file (JSON, or a PNG/WebP/FLAC/MP4 with one embedded)
    Import {
        file: PathBuf,
        /// The name to track it under (default: the file's name)
        #[arg(long)]
        name: Option<String>,
    },
    /// Write a tracked workflow to a file (or stdout)
    Export {
        name: String,
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Add `extra.comfydock`: the node packs and models it requires, as the lock pins them
        #[arg(long)]
        with_deps: bool,
    },
    /// What changed between the tracked version and ComfyUI's copy: nodes, widget values, links
    Diff { name: String },
    /// Add what a tracked workflow needs to the manifest (node packs, models), then lock and apply
    Resolve {
        #[arg(required_unless_present = "file")]
        name: Option<String>,
        /// A workflow file instead of a tracked workflow: its needs are added, it is not tracked
        #[arg(long, value_name = "FILE", conflicts_with = "name")]
        file: Option<PathBuf>,
        /// Take the best ranked pack when several provide a node type
        #[arg(long)]
        auto: bool,
        /// Print the proposed edits as JSON and change nothing
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Workflow files (.json, or .png/.webp/.flac/.mp4 with an embedded workflow)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print JSON (schema/workflow-analysis.schema.json)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Serve a read-only mirror of the registry API from a snapshot folder
    Serve(ServeArgs),
    /// Copy packs, versions and archives from a registry (or a mirror) into a snapshot folder
    Snapshot(SnapshotArgs),
    /// The registry data cache (a snapshot with bookkeeping): build or refresh it
    #[command(subcommand)]
    Cache(RegistryCacheCommand),
    /// Node mappings (node type -> packs): build from a cache, merge ComfyUI-Manager's map
    #[command(subcommand)]
    Mappings(MappingsCommand),
    /// Check a cache (and mappings built from it); a report, and exit 1 when anything is wrong
    Validate(ValidateArgs),
    /// Install node mappings into the workspace's node index (default: COMFYDOCK_MAPPINGS_URL or `mappings_url`, else built from ComfyUI-Manager's public data)
    Update(UpdateArgs),
    /// Where the node index's data came from, its date and counts
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// A URL (with a .sha256 sidecar beside it) or a local file of node mappings
    #[arg(long, value_name = "URL|FILE")]
    pub from: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum MappingsCommand {
    /// Build node mappings from a registry cache, offline; the same cache gives the same bytes
    Build(MappingsBuildArgs),
    /// Merge ComfyUI-Manager's extension-node-map.json into node mappings
    Augment(MappingsAugmentArgs),
}

#[derive(Debug, Args)]
pub struct MappingsBuildArgs {
    /// The cache folder (`registry cache build --out`)
    #[arg(long, value_name = "DIR")]
    pub cache: PathBuf,
    /// Where to write the mappings
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// A previous mappings file whose packages and entries the cache lacks are kept
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Node classes of this many newest versions per pack (0: all)
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub max_versions: usize,
    /// Output filter: TOML [packages]/[versions]/[mappings] tables of `field = true|false`
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MappingsAugmentArgs {
    /// The mappings to extend (without it: mappings from ComfyUI-Manager's data alone; --out is then required)
    #[arg(long, value_name = "FILE", required_unless_present = "out")]
    pub mappings: Option<PathBuf>,
    /// ComfyUI-Manager's extension-node-map.json (raw or wrapped in {"extensions": ...})
    #[arg(long, value_name = "FILE")]
    pub manager: PathBuf,
    /// ComfyUI-Manager's github-stats.json: stars (and last update) that rank its packs
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// ComfyUI-Manager's custom-node-list.json: titles and descriptions
    #[arg(long, value_name = "FILE")]
    pub list: Option<PathBuf>,
    /// Where to write the result (default: replace --mappings)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output filter, as for `mappings build`
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The cache folder
    #[arg(long, value_name = "DIR")]
    pub cache: PathBuf,
    /// Mappings built from it
    #[arg(long, value_name = "FILE")]
    pub mappings: Option<PathBuf>,
    /// Print the report as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCacheCommand {
    /// Fetch packs, versions and node classes into a cache folder, incrementally, with checkpoints
    Build(CacheBuildArgs),
}

#[derive(Debug, Args)]
pub struct CacheBuildArgs {
    /// The cache folder (a registry snapshot that `registry serve` can serve)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Start from this cache when --out has none yet
    #[arg(long, value_name = "DIR")]
    pub input: Option<PathBuf>,
    /// Skip phase 1 (the pack list)
    #[arg(long)]
    pub no_nodes: bool,
    /// Skip phase 2 (versions of changed packs)
    #[arg(long)]
    pub no_versions: bool,
    /// Skip phase 3 (node classes of the newest versions)
    #[arg(long)]
    pub no_metadata: bool,
    /// Node classes for this many newest versions per pack (0: all)
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub max_versions: usize,
    /// Requests in flight at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,
    /// Save the cache every N packs, so a killed build loses at most N packs of work
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_interval: u64,
    /// Read at most N pages of the pack list (a partial list never marks packs vanished)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub pages: Option<u64>,
    /// Also download the archives of the newest versions (what `registry snapshot` does)
    #[arg(long)]
    pub archives: bool,
    /// Also keep a dated, compressed copy under DIR/YYYY/MM/
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The snapshot folder (holding registry-snapshot.json)
    #[arg(long, value_name = "DIR")]
    pub snapshot: PathBuf,
    /// Address to listen on; port 0 picks a free port. The first line on stdout is the URL.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8190")]
    pub addr: std::net::SocketAddr,
    /// URL clients reach the mirror by, when not the listening address (proxy, host name)
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Close connections that send and receive nothing for this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout: u64,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The snapshot folder to create or extend
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only these packs, each optionally with a version (ID or ID@1.2.0 or ID@^1.2); default: every pack
    #[arg(long, value_name = "ID[@VERSION],...", value_delimiter = ',')]
    pub nodes: Option<Vec<String>>,
    /// Every version that has an archive, not only the latest
    #[arg(long)]
    pub all_versions: bool,
}

#[derive(Debug, Args)]
pub struct FindArgs {
    /// Words to search for in pack ids, names, descriptions, authors and tags
    #[arg(required_unless_present = "provides", value_name = "QUERY")]
    pub query: Vec<String>,
    /// Which packs provide this node type, ranked, from the node index (`registry update`), offline
    #[arg(long, value_name = "NODE_TYPE", conflicts_with = "query")]
    pub provides: Option<String>,
    /// With --provides: the node's input signature (`name:TYPE|...` or its 8-hex hash), to rank exact matches first
    #[arg(long, value_name = "SIGNATURE", requires = "provides")]
    pub signature: Option<String>,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// At most this many results
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: u64,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The environment's name (letters, digits, `-`, `_`, `.`)
    pub name: crate::types::EnvName,
    /// ComfyUI tag, branch or commit (default: the newest release tag)
    #[arg(long, value_name = "REF")]
    pub comfyui: Option<crate::types::GitRef>,
    /// ComfyUI repository: a git URL, a file:// URL or a local path
    #[arg(long, value_name = "URL_OR_PATH", default_value = crate::workspace::DEFAULT_COMFYUI_REPO)]
    pub comfyui_repo: crate::types::RepoUrl,
    /// Python version for the venv, `X.Y` (default: the Python uv finds)
    #[arg(long, value_name = "VERSION")]
    pub python: Option<crate::types::PythonVersion>,
    /// Torch backends the lock covers, comma-separated (cpu,cu124,...); auto: this machine's; none: torch as the requirements say
    #[arg(long, value_name = "BACKENDS", default_value = "none", value_delimiter = ',', value_parser = parse_torch_backend)]
    pub torch_backend: Vec<String>,
    /// Make the new environment the active one
    #[arg(long = "use")]
    pub use_it: bool,
}

#[derive(Debug, Subcommand)]
pub enum ComfyuiCommand {
    /// The ComfyUI the environment declares and has locked: version, commit, repository
    Show {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Move ComfyUI to REF (default: the newest release tag), take its requirements, lock and apply
    Update {
        /// A tag, branch or commit
        #[arg(value_name = "REF")]
        rev: Option<String>,
        /// Only edit the manifest
        #[arg(long)]
        no_apply: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PanelCommand {
    /// Declare the panel (this comfydock's version) in the manifest, lock and apply
    Enable {
        /// Only edit the manifest
        #[arg(long)]
        no_apply: bool,
    },
    /// Remove the panel from the manifest and from custom_nodes/ (to the trash)
    Disable {
        /// Only edit the manifest
        #[arg(long)]
        no_apply: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Search the registry: id, name, latest version (by semver) and downloads
    Find(FindArgs),
    /// Add a node pack: a registry id (ID@VERSION pins a version), a git URL (URL@REV pins a branch, tag or commit) or, with --dev, a local folder
    Add {
        /// Registry ids, git URLs or paths, optionally with @VERSION / @REV; with --dev, a folder
        #[arg(required = true, value_name = "SOURCE")]
        sources: Vec<String>,
        /// The node's id in the manifest and its folder name in custom_nodes/ (default: from the URL)
        #[arg(long)]
        name: Option<String>,
        /// Link a folder you develop in place (never copied, moved or deleted)
        #[arg(long)]
        dev: bool,
        /// Run the pack's install.py when it is installed (`install = "run"` in the manifest)
        #[arg(long, conflicts_with = "dev")]
        run_install: bool,
        /// Only edit the manifest; `plan` and `apply` do the rest
        #[arg(long)]
        no_apply: bool,
    },
    /// Resolve node packs again: the newest registry version (or --version), a git branch's new tip
    Update {
        /// The node's id (default: every node)
        name: Option<String>,
        /// Pin this version (registry) or revision (git); needs a node id
        #[arg(long, requires = "name")]
        version: Option<String>,
        /// Only edit the manifest and the lock
        #[arg(long)]
        no_apply: bool,
    },
    /// Remove a node pack (its folder goes to the trash; a dev node's folder is left alone)
    Remove {
        /// The node's id
        name: String,
        /// Only edit the manifest
        #[arg(long)]
        no_apply: bool,
    },
    /// Keep untracked folders of custom_nodes/ (installed with ComfyUI-Manager or `git clone`) as
    /// declared packs, where they are: a git checkout at its origin and commit, a Manager
    /// registry install at its version, or with --dev any folder linked in place
    #[command(group = clap::ArgGroup::new("which").required(true).args(["names", "all"]))]
    Adopt {
        /// Folder names in custom_nodes/
        #[arg(value_name = "NAME")]
        names: Vec<String>,
        /// Every untracked folder (those that cannot be adopted are listed and left as they are)
        #[arg(long, conflicts_with = "names")]
        all: bool,
        /// Keep the folders as local packs, linked in place (never copied, moved or deleted)
        #[arg(long)]
        dev: bool,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// The node packs of the environment and their state
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PyCommand {
    /// Add (or replace) requirements, e.g. `comfydock py add "numpy<2" rich`; torch,
    /// torchvision and torchaudio set the environment's torch pin for every backend
    Add {
        /// PEP 508 requirements
        #[arg(required = true, value_name = "REQ")]
        requirements: Vec<String>,
        /// Only edit the manifest; `plan` and `apply` do the rest
        #[arg(long)]
        no_apply: bool,
    },
    /// Remove a requirement added with `py add`
    Remove {
        /// The package name
        name: String,
        /// Only edit the manifest
        #[arg(long)]
        no_apply: bool,
    },
    /// Every declared requirement, where it comes from, and the version locked
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConstraintCommand {
    /// Add (or replace) constraints, e.g. `comfydock constraint add "numpy<2"`
    Add {
        /// PEP 508 requirements used as constraints
        #[arg(required = true, value_name = "REQ")]
        constraints: Vec<String>,
        /// Only edit the manifest
        #[arg(long)]
        no_apply: bool,
    },
    /// Remove the constraint on a package
    Remove {
        /// The package name
        name: String,
        /// Only edit the manifest
        #[arg(long)]
        no_apply: bool,
    },
    /// The constraints of the environment
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// How models reach ComfyUI/models: symlink, hardlink or copy
    #[arg(long, value_name = "MODE", default_value = "symlink")]
    pub link_mode: crate::observe::LinkMode,
    /// Print one JSON document (schema/plan.schema.json); the same as `--format json`
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// text (default), json, or markdown (a block for pull-request comments)
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub format: Option<PlanFormat>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan for `comfydock apply FILE`
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// The torch backend to sync, or auto (this machine's) (default: workspace.toml's torch_backend, else the live one, else cpu)
    #[arg(long, value_name = "BACKEND", value_parser = parse_torch_backend)]
    pub torch_backend: Option<String>,
}

/// How `plan` prints the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// How models reach ComfyUI/models: symlink, hardlink or copy
    #[arg(long, value_name = "MODE", default_value = "symlink")]
    pub link_mode: crate::observe::LinkMode,
    /// A plan saved with `plan --out`: applied exactly, refused if anything changed since
    pub planfile: Option<std::path::PathBuf>,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Fail if the lock is out of date instead of resolving again
    #[arg(long, conflicts_with = "frozen")]
    pub locked: bool,
    /// Apply the lock as it is, never resolving
    #[arg(long)]
    pub frozen: bool,
    /// Place the models this environment was imported without (`import --models skip`)
    #[arg(long, conflicts_with = "planfile")]
    pub place_models: bool,
    /// Run this node's install.py again even when a build with the same inputs exists (repeatable)
    #[arg(long, value_name = "NODE", conflicts_with = "planfile")]
    pub rebuild: Vec<String>,
    /// Build a new venv from uv.lock instead of reusing the live one (repairs packages deleted or edited by hand)
    #[arg(long, conflicts_with = "planfile")]
    pub rebuild_venv: bool,
    /// The torch backend to sync, or auto (this machine's) (default: workspace.toml's torch_backend, else the live one, else cpu)
    #[arg(long, value_name = "BACKEND", value_parser = parse_torch_backend)]
    pub torch_backend: Option<String>,
    /// Then run `comfydock test`; when a workflow fails, switch back to the generation before
    #[arg(long, conflicts_with = "planfile")]
    pub test: bool,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Tracked workflows to test (default: all)
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// How far to go: import, validate or run (default: each workflow's `test`, else validate)
    #[arg(long, value_enum)]
    pub level: Option<LevelArg>,
    /// Print the report as JSON (schema/test-report.schema.json)
    #[arg(long)]
    pub json: bool,
    /// Print the report of the last test run (kept in .comfydock/last-test.json) and run nothing
    #[arg(long, requires = "json", conflicts_with_all = ["names", "level", "junit", "keep_prompts"])]
    pub last: bool,
    /// Also write the report as JUnit XML to FILE
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,
    /// Bound on each workflow's run, in seconds; a stuck one is interrupted
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub timeout: u64,
    /// How long ComfyUI may take to start, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub start_timeout: u64,
    /// Run ComfyUI on the GPU (default: `--cpu`)
    #[arg(long)]
    pub gpu: bool,
    /// Keep the prompts (API format) sent or checked, one NAME.json each, in DIR
    #[arg(long, value_name = "DIR")]
    pub keep_prompts: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LevelArg {
    Import,
    Validate,
    Run,
}

impl From<LevelArg> for crate::manifest::TestLevel {
    fn from(l: LevelArg) -> Self {
        match l {
            LevelArg::Import => crate::manifest::TestLevel::Import,
            LevelArg::Validate => crate::manifest::TestLevel::Validate,
            LevelArg::Run => crate::manifest::TestLevel::Run,
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

pub(super) fn parse_torch_backend(value: &str) -> Result<String, String> {
    if value == "none" || value == "auto" || crate::python::torch::is_backend_name(value) {
        Ok(value.to_string())
    } else {
        Err("expected none, auto, cpu, cuXXX (e.g. cu124), rocmX.Y or xpu".to_string())
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
    /// Declare a model in the environment by a file, a hash (prefix) from the index, or a URL
    Add {
        /// A model file, a hash or hash prefix the index knows (`blake3:…`, `sha256:…`), or an http(s) URL to download
        #[arg(value_name = "HASH|PATH|URL")]
        target: String,
        /// The folder under ComfyUI/models (checkpoints, loras, vae, ...); default: from where the file sits
        #[arg(long, value_name = "CAT")]
        category: Option<String>,
        /// The key in [tool.comfydock.models] (default: from the file name)
        #[arg(long, value_name = "KEY")]
        name: Option<String>,
        /// Where a machine without the file downloads it (repeatable; tried in order)
        #[arg(long = "source", value_name = "URL")]
        sources: Vec<String>,
        /// Only edit the manifest
        #[arg(long)]
        no_apply: bool,
    },
    /// Stop declaring a model: its link goes, the model file stays
    Remove {
        /// The key in [tool.comfydock.models]
        key: String,
        /// Only edit the manifest
        #[arg(long)]
        no_apply: bool,
    },
    /// The workspace index; with `-e NAME` or inside an environment, its declared models and where each comes from
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_tree_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}

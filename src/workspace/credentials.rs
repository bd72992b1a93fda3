//! Tokens for model sources (`HF_TOKEN`, `CIVITAI_API_KEY`), kept out of `workspace.toml`.
//!
//! They live in the user's configuration folder, `$XDG_CONFIG_HOME/comfydock/credentials.toml`
//! (else `~/.config/comfydock/credentials.toml`), mode 0600 in a 0700 folder: a token belongs to
//! a person, not to a workspace, which may sit on a volume shared by a team or a cluster, be
//! copied, or be archived. An environment variable of the same name always wins over the file,
//! so CI secrets and one-off overrides need no file at all.

use miette::Diagnostic;
use std::path::PathBuf;
use thiserror::Error;
use toml_edit::DocumentMut;

/// The tokens comfydock knows: the environment variable (and key in the file) and what it is for.
pub const TOKENS: &[(&str, &str)] = &[
    ("HF_TOKEN", "Hugging Face access token, for gated and private models"),
    ("CIVITAI_API_KEY", "Civitai API key, for models that need a login"),
];

/// Where a token's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Environment,
    File,
}

impl TokenSource {
    /// What `config get`/`config list` show instead of the value.
    pub fn describe(self) -> &'static str {
        match self {
            TokenSource::Environment => "set (from environment)",
            TokenSource::File => "set (from file)",
        }
    }
}

#[derive(Debug, Error, Diagnostic)]
pub enum CredentialsError {
    #[error("no folder for the credentials file: neither XDG_CONFIG_HOME nor HOME is set")]
    #[diagnostic(
        code(comfydock::credentials::no_home),
        help("set HOME (or XDG_CONFIG_HOME), or pass the token as an environment variable")
    )]
    NoConfigDir,

    #[error("{} is not valid TOML: {reason}", path.display())]
    #[diagnostic(
        code(comfydock::credentials::invalid),
        help("fix the file by hand (lines are `HF_TOKEN = \"...\"`), or delete it and set the tokens again")
    )]
    Invalid { path: PathBuf, reason: String },

    #[error("{}: {source}", path.display())]
    #[diagnostic(code(comfydock::credentials::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, CredentialsError>;

const HEADER: &str = "# comfydock credentials: readable by you only. Environment variables of the same name win.\n";

/// The credentials file's path.
pub fn path() -> Result<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let config = var("XDG_CONFIG_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|h| h.join(".config")))
        .ok_or(CredentialsError::NoConfigDir)?;
    Ok(config.join("comfydock").join("credentials.toml"))
}

fn read_doc() -> Result<(PathBuf, DocumentMut)> {
    let path = path()?;
    let text = match fs_err::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => HEADER.to_string(),
        Err(source) => return Err(CredentialsError::Io { path, source }),
    };
    let doc = text.parse::<DocumentMut>().map_err(|e| CredentialsError::Invalid {
        path: path.clone(),
        reason: e.message().to_string(),
    })?;
    Ok((path, doc))
}

fn from_env(name: &str) -> Option<String> {
    let get = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
    // huggingface_hub's older name for the same token.
    get(name).or_else(|| (name == "HF_TOKEN").then(|| get("HUGGING_FACE_HUB_TOKEN")).flatten())
}

/// The token stored in the file (ignoring the environment); None when absent or unreadable.
pub fn from_file(name: &str) -> Option<String> {
    let (_, doc) = read_doc().ok()?;
    doc.get(name)
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .filter(|v| !v.trim().is_empty())
}

/// The token `name`: the environment variable when set, else the file's.
pub fn token(name: &str) -> Option<String> {
    from_env(name).or_else(|| from_file(name))
}

/// Whether `name` is set, and where; never the value.
pub fn status(name: &str) -> Result<Option<TokenSource>> {
    if from_env(name).is_some() {
        return Ok(Some(TokenSource::Environment));
    }
    let (_, doc) = read_doc()?;
    Ok(doc
        .get(name)
        .and_then(|v| v.as_str())
        .filter(|v| !v.trim().is_empty())
        .map(|_| TokenSource::File))
}

/// Stores `value` as token `name` (written 0600, atomically, keeping the file's other lines).
pub fn store(name: &str, value: &str) -> Result<()> {
    let (path, mut doc) = read_doc()?;
    doc[name] = toml_edit::value(value);
    write(&path, &doc)
}

/// Removes token `name` from the file; false when it was not there.
pub fn remove(name: &str) -> Result<bool> {
    let (path, mut doc) = read_doc()?;
    if doc.remove(name).is_none() {
        return Ok(false);
    }
    write(&path, &doc)?;
    Ok(true)
}

fn write(path: &std::path::Path, doc: &DocumentMut) -> Result<()> {
    crate::fsx::write_atomic_private(path, doc.to_string().as_bytes()).map_err(|source| CredentialsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

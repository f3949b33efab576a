//! Vault keys: a passphrase or a list of age X25519 identities, and where they come from
//! (flags, `DR_VAULT_PASSWORD_FILE`, dr.toml, a TTY prompt).

use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret, SecretString};
use age::x25519;
use zeroize::Zeroizing;

use super::error::VaultError;

/// Environment variable naming a password file, as `ANSIBLE_VAULT_PASSWORD_FILE` does.
pub const PASSWORD_FILE_ENV: &str = "DR_VAULT_PASSWORD_FILE";

/// A vault passphrase. Never printed: `Debug` shows `Passphrase(***)`.
#[derive(Clone)]
pub struct Passphrase(SecretString);

impl Passphrase {
    /// Wraps a passphrase typed or read elsewhere.
    pub fn new(secret: impl Into<String>) -> Self {
        Passphrase(SecretString::from(secret.into()))
    }

    /// The passphrase as age wants it.
    pub(crate) fn secret(&self) -> SecretString {
        self.0.clone()
    }

    /// The passphrase bytes, for the ansible-vault reader.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(***)")
    }
}

/// The key that opens (and, for passphrases, seals) vault files.
#[derive(Clone)]
pub enum VaultKey {
    /// A passphrase (age scrypt recipient).
    Passphrase(Passphrase),
    /// age X25519 identities; any one of them may open a file. Encrypting with this key
    /// encrypts to the identities' public keys.
    Identities(Vec<x25519::Identity>),
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaultKey::Passphrase(_) => f.write_str("VaultKey::Passphrase(***)"),
            VaultKey::Identities(ids) => {
                let publics: Vec<String> = ids.iter().map(|i| i.to_public().to_string()).collect();
                f.debug_tuple("VaultKey::Identities")
                    .field(&publics)
                    .finish()
            }
        }
    }
}

/// Where [`VaultKey::resolve`] looks for a key, strongest first: `password_file`,
/// `identity_files`, `DR_VAULT_PASSWORD_FILE`, `config_password_file`, then a prompt.
#[derive(Debug, Clone, Default)]
pub struct KeyOptions {
    /// `--vault-password-file`.
    pub password_file: Option<PathBuf>,
    /// `--vault-identity`, repeatable.
    pub identity_files: Vec<PathBuf>,
    /// Whether a TTY prompt may be shown when nothing else gives a key.
    pub allow_prompt: bool,
    /// `vault_password_file` from dr.toml (weaker than the environment variable).
    pub config_password_file: Option<PathBuf>,
    /// The team key file (dr.toml `vault_key_file`, else `vault/.key.age`): opens vault
    /// files sealed to age recipients when no `--vault-identity` is given. `None`: no team key.
    pub key_file: Option<PathBuf>,
}

impl VaultKey {
    /// Reads a passphrase from a file. Surrounding whitespace (the trailing newline editors
    /// add) is ignored, exactly as ansible-vault does, so Ansible password files work as-is.
    pub fn from_password_file(path: &Path) -> Result<VaultKey, VaultError> {
        let bytes = Zeroizing::new(password_file_bytes(path)?);
        let text = std::str::from_utf8(bytes.trim_ascii()).map_err(|_| VaultError::Io {
            action: "read password file",
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
        })?;
        if text.is_empty() {
            return Err(VaultError::EmptyPassword {
                path: path.to_owned(),
            });
        }
        Ok(VaultKey::Passphrase(Passphrase::new(text)))
    }

    /// Reads age X25519 identities (`AGE-SECRET-KEY-1...` lines, `#` comments) from a file.
    pub fn from_identity_file(path: &Path) -> Result<VaultKey, VaultError> {
        Ok(VaultKey::Identities(read_identities(path)?))
    }

    /// Reads identities from several files into one key.
    pub fn from_identity_files(paths: &[PathBuf]) -> Result<VaultKey, VaultError> {
        let mut all = Vec::new();
        for path in paths {
            all.extend(read_identities(path)?);
        }
        Ok(VaultKey::Identities(all))
    }

    /// Finds the key the options point at (see [`KeyOptions`] for the order). Prompts only
    /// when `allow_prompt` is set and stdin is a terminal; otherwise says which flag to pass.
    pub fn resolve(opts: &KeyOptions) -> Result<VaultKey, VaultError> {
        resolve_with(opts, None, false)
    }

    /// The age public keys this key encrypts to (empty for a passphrase).
    pub fn recipients(&self) -> Vec<x25519::Recipient> {
        match self {
            VaultKey::Passphrase(_) => Vec::new(),
            VaultKey::Identities(ids) => ids.iter().map(x25519::Identity::to_public).collect(),
        }
    }
}

/// [`VaultKey::resolve`] for the file `for_path` (named in the error when no key is found),
/// asking twice at the prompt when `confirm` (new vault files).
pub(crate) fn resolve_with(
    opts: &KeyOptions,
    for_path: Option<&Path>,
    confirm: bool,
) -> Result<VaultKey, VaultError> {
    if opts.password_file.is_some() && !opts.identity_files.is_empty() {
        return Err(VaultError::ConflictingKeys);
    }
    if let Some(path) = &opts.password_file {
        return VaultKey::from_password_file(path);
    }
    if !opts.identity_files.is_empty() {
        return VaultKey::from_identity_files(&opts.identity_files);
    }
    if let Some(path) = std::env::var_os(PASSWORD_FILE_ENV).filter(|v| !v.is_empty()) {
        return VaultKey::from_password_file(Path::new(&path));
    }
    if let Some(path) = &opts.config_password_file {
        return VaultKey::from_password_file(path);
    }
    if opts.allow_prompt && std::io::stdin().is_terminal() {
        return prompt(confirm);
    }
    Err(VaultError::NoKey {
        what: for_path.map_or_else(|| "the vault".to_owned(), |p| format!("`{}`", p.display())),
    })
}

/// The passphrase alone, from the password file, `DR_VAULT_PASSWORD_FILE`, dr.toml, or the
/// prompt (asked twice when `confirm`); identities are not considered. `None` when none of
/// those gives one (no prompt possible).
pub(crate) fn resolve_passphrase(
    opts: &KeyOptions,
    confirm: bool,
) -> Result<Option<Passphrase>, VaultError> {
    let from_file = |path: &Path| match VaultKey::from_password_file(path)? {
        VaultKey::Passphrase(p) => Ok(Some(p)),
        VaultKey::Identities(_) => Err(VaultError::Bug("a password file gave identities".into())),
    };
    if let Some(path) = &opts.password_file {
        return from_file(path);
    }
    if let Some(path) = std::env::var_os(PASSWORD_FILE_ENV).filter(|v| !v.is_empty()) {
        return from_file(Path::new(&path));
    }
    if let Some(path) = &opts.config_password_file {
        return from_file(path);
    }
    if opts.allow_prompt && std::io::stdin().is_terminal() {
        return match prompt(confirm)? {
            VaultKey::Passphrase(p) => Ok(Some(p)),
            VaultKey::Identities(_) => Err(VaultError::Bug("the prompt gave identities".into())),
        };
    }
    Ok(None)
}

/// The password file's bytes; an executable file is run and its output used, as
/// ansible-vault does with password scripts.
fn password_file_bytes(path: &Path) -> Result<Vec<u8>, VaultError> {
    use std::os::unix::fs::PermissionsExt as _;
    let executable = std::fs::metadata(path)
        .map_err(|e| VaultError::io("read password file", path, e))?
        .permissions()
        .mode()
        & 0o111
        != 0;
    if !executable {
        return std::fs::read(path).map_err(|e| VaultError::io("read password file", path, e));
    }
    // A bare name is the file here, not a command on PATH.
    let program = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let out = std::process::Command::new(program)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| VaultError::io("run password script", path, e))?;
    if !out.status.success() {
        return Err(VaultError::io(
            "run password script",
            path,
            std::io::Error::other(format!("it exited with {}", out.status)),
        ));
    }
    Ok(out.stdout)
}

fn prompt(confirm: bool) -> Result<VaultKey, VaultError> {
    let tty = Path::new("<prompt>");
    let first = Zeroizing::new(
        rpassword::prompt_password("Vault password: ")
            .map_err(|e| VaultError::io("read", tty, e))?,
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("Confirm vault password: ")
                .map_err(|e| VaultError::io("read", tty, e))?,
        );
        if *first != *again {
            return Err(VaultError::PromptMismatch);
        }
    }
    if first.is_empty() {
        return Err(VaultError::EmptyPassword {
            path: tty.to_owned(),
        });
    }
    Ok(VaultKey::Passphrase(Passphrase::new(first.as_str())))
}

pub(crate) fn read_identities(path: &Path) -> Result<Vec<x25519::Identity>, VaultError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| VaultError::io("read identity file", path, e))?,
    );
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let id =
            line.parse::<x25519::Identity>()
                .map_err(|reason| VaultError::BadIdentityFile {
                    path: path.to_owned(),
                    reason: format!("line {}: {reason}", n + 1),
                })?;
        ids.push(id);
    }
    if ids.is_empty() {
        return Err(VaultError::BadIdentityFile {
            path: path.to_owned(),
            reason: "it holds no `AGE-SECRET-KEY-1...` line".into(),
        });
    }
    Ok(ids)
}

/// Parses `age1...` public keys given with `--recipient`.
pub fn parse_recipient(text: &str) -> Result<x25519::Recipient, VaultError> {
    text.trim()
        .parse::<x25519::Recipient>()
        .map_err(|reason| VaultError::BadRecipient {
            recipient: text.to_owned(),
            reason: reason.to_owned(),
        })
}

/// Reads a recipients file (one `age1...` per line, `#` comments), as `age -R` does.
pub fn read_recipients_file(path: &Path) -> Result<Vec<x25519::Recipient>, VaultError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| VaultError::io("read recipients file", path, e))?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(parse_recipient)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_passphrase() {
        let key = VaultKey::Passphrase(Passphrase::new("hunter2"));
        assert_eq!(format!("{key:?}"), "VaultKey::Passphrase(***)");
        let id = x25519::Identity::generate();
        let secret = id.to_string();
        let shown = format!("{:?}", VaultKey::Identities(vec![id]));
        assert!(!shown.contains(secret.expose_secret()));
        assert!(shown.contains("age1"));
    }

    #[test]
    fn password_file_trailing_newline_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").expect("write");
        let VaultKey::Passphrase(p) = VaultKey::from_password_file(&path).expect("key") else {
            panic!("expected a passphrase");
        };
        assert_eq!(p.expose(), "s3cret");
    }

    #[test]
    fn empty_password_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "\n").expect("write");
        let err = VaultKey::from_password_file(&path).expect_err("must fail");
        assert!(matches!(err, VaultError::EmptyPassword { .. }));
    }

    #[test]
    fn identity_file_errors_name_the_line_not_the_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("id.txt");
        std::fs::write(&path, "# comment\nAGE-SECRET-KEY-NOPE\n").expect("write");
        let err = VaultKey::from_identity_file(&path).expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.contains("NOPE"), "{msg}");
    }
}

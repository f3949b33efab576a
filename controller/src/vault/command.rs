//! `dr vault <create|encrypt|decrypt|view|edit|rekey|import-ansible> FILE`: argument types
//! and their dispatch onto [`super::ops`].

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::error::VaultError;
use super::key::{self, KeyOptions, Passphrase, VaultKey, parse_recipient, read_recipients_file};
use super::ops::{self, EditOutcome, Seal};

/// `dr vault ...`: manage age-encrypted vault files.
#[derive(Debug, Clone, Args)]
pub struct VaultCommand {
    /// What to do.
    #[command(subcommand)]
    pub action: VaultAction,
}

/// The vault subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum VaultAction {
    /// Create a new vault file in $EDITOR.
    Create {
        /// The vault file to create.
        file: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        to: RecipientArgs,
    },
    /// Encrypt a plain file in place.
    Encrypt {
        /// The file to encrypt.
        file: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        to: RecipientArgs,
    },
    /// Decrypt a vault file to stdout, to `--output`, or in place (mode 0600).
    Decrypt {
        /// The vault file.
        file: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        /// Write the plaintext here (mode 0600) instead of stdout.
        #[arg(long, short, value_name = "FILE", conflicts_with = "in_place")]
        output: Option<PathBuf>,
        /// Replace the vault file with its plaintext (mode 0600).
        #[arg(long)]
        in_place: bool,
    },
    /// Print a vault file's plaintext.
    View {
        /// The vault file.
        file: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Edit a vault file in $EDITOR; re-encrypts only if the content changed.
    Edit {
        /// The vault file.
        file: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        to: RecipientArgs,
    },
    /// Re-encrypt a vault file to a new passphrase or new recipients.
    Rekey {
        /// The vault file.
        file: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        new: NewKeyArgs,
    },
    /// Convert an ansible-vault file (1.1/1.2, AES256) into an age vault.
    ImportAnsible {
        /// The ansible-vault file.
        file: PathBuf,
        /// Password file of the ansible vault (its surrounding whitespace is ignored).
        #[arg(long, value_name = "FILE")]
        vault_password_file: Option<PathBuf>,
        #[command(flatten)]
        new: NewKeyArgs,
        /// Write the age vault here instead of replacing FILE.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// How to open vault files.
#[derive(Debug, Clone, Default, Args)]
pub struct KeyArgs {
    /// File holding the vault password (also `DR_VAULT_PASSWORD_FILE`, dr.toml).
    #[arg(long, value_name = "FILE")]
    pub vault_password_file: Option<PathBuf>,
    /// age identity file (`AGE-SECRET-KEY-1...`); repeatable.
    #[arg(long, value_name = "FILE")]
    pub vault_identity: Vec<PathBuf>,
}

/// Whom to encrypt to, instead of the passphrase.
#[derive(Debug, Clone, Default, Args)]
pub struct RecipientArgs {
    /// age public key (`age1...`) to encrypt to; repeatable.
    #[arg(long = "recipient", short = 'r', value_name = "AGE1...")]
    pub recipients: Vec<String>,
    /// File of age public keys, one a line; repeatable.
    #[arg(long = "recipients-file", short = 'R', value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,
}

/// The new key for `rekey` and `import-ansible`.
#[derive(Debug, Clone, Default, Args)]
pub struct NewKeyArgs {
    /// File holding the new vault password.
    #[arg(long, value_name = "FILE")]
    pub new_vault_password_file: Option<PathBuf>,
    /// New age public key to encrypt to; repeatable.
    #[arg(
        long = "new-recipient",
        value_name = "AGE1...",
        conflicts_with = "new_vault_password_file"
    )]
    pub new_recipients: Vec<String>,
    /// File of new age public keys, one a line; repeatable.
    #[arg(
        long = "new-recipients-file",
        value_name = "FILE",
        conflicts_with = "new_vault_password_file"
    )]
    pub new_recipients_files: Vec<PathBuf>,
}

/// Runs a vault command, printing plaintext (view/decrypt) to stdout. Returns the exit code.
pub fn run(cmd: &VaultCommand, config_password_file: Option<&Path>) -> Result<i32, VaultError> {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    run_to(
        cmd,
        config_password_file,
        &super::editor::default_editor(),
        &mut stdout.lock(),
        &mut stderr.lock(),
    )
}

/// [`run`] with explicit editor and output streams (for tests and embedding).
pub fn run_to(
    cmd: &VaultCommand,
    config_password_file: Option<&Path>,
    editor: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, VaultError> {
    let opts = |k: &KeyArgs| KeyOptions {
        password_file: k.vault_password_file.clone(),
        identity_files: k.vault_identity.clone(),
        allow_prompt: true,
        config_password_file: config_password_file.map(Path::to_owned),
    };
    let stdout_err = |e| VaultError::io("write", "<stdout>", e);
    match &cmd.action {
        VaultAction::Create { file, key, to } => {
            if file.exists() {
                return Err(VaultError::AlreadyExists { path: file.clone() });
            }
            let seal = new_file_seal(file, &opts(key), to)?;
            let text = super::editor::edit_text(editor, file, "")?;
            if text.trim().is_empty() {
                note(
                    err,
                    format_args!("`{}` left empty: nothing written", file.display()),
                );
                return Ok(0);
            }
            ops::create_file(file, &text, &seal)?;
            note(err, format_args!("created `{}`", file.display()));
        }
        VaultAction::Encrypt { file, key, to } => {
            let seal = new_file_seal(file, &opts(key), to)?;
            ops::encrypt_file(file, &seal)?;
            note(err, format_args!("encrypted `{}`", file.display()));
        }
        VaultAction::Decrypt {
            file,
            key,
            output,
            in_place,
        } => {
            let k = key::resolve_with(&opts(key), Some(file), false)?;
            let target = if *in_place {
                Some(file)
            } else {
                output.as_ref()
            };
            match target {
                Some(target) => {
                    ops::decrypt_file(file, &k, target)?;
                    note(
                        err,
                        format_args!(
                            "decrypted `{}` into `{}` (mode 0600)",
                            file.display(),
                            target.display()
                        ),
                    );
                }
                None => {
                    let plain = ops::open(file, &k)?;
                    out.write_all(plain.as_bytes()).map_err(stdout_err)?;
                }
            }
        }
        VaultAction::View { file, key } => {
            let k = key::resolve_with(&opts(key), Some(file), false)?;
            let plain = ops::open(file, &k)?;
            out.write_all(plain.as_bytes()).map_err(stdout_err)?;
        }
        VaultAction::Edit { file, key, to } => {
            let k = key::resolve_with(&opts(key), Some(file), false)?;
            let seal = edit_seal(file, &k, to)?;
            match ops::edit_file(file, &k, &seal, editor)? {
                EditOutcome::Saved => note(err, format_args!("saved `{}`", file.display())),
                EditOutcome::Unchanged => {
                    note(err, format_args!("`{}` unchanged", file.display()));
                }
            }
        }
        VaultAction::Rekey { file, key, new } => {
            let k = key::resolve_with(&opts(key), Some(file), false)?;
            let seal = match new_seal(new)? {
                Some(seal) => seal,
                None => prompt_new(file)?,
            };
            ops::rekey_file(file, &k, &seal)?;
            note(err, format_args!("rekeyed `{}`", file.display()));
        }
        VaultAction::ImportAnsible {
            file,
            vault_password_file,
            new,
            output,
        } => {
            let k = key::resolve_with(
                &KeyOptions {
                    password_file: vault_password_file.clone(),
                    ..opts(&KeyArgs::default())
                },
                Some(file),
                false,
            )?;
            let VaultKey::Passphrase(password) = &k else {
                return Err(VaultError::Bug("no identities were passed".into()));
            };
            let seal = new_seal(new)?.unwrap_or_else(|| Seal::Passphrase(password.clone()));
            let target = output.as_ref().unwrap_or(file);
            ops::import_ansible_file(file, password, &seal, target)?;
            note(
                err,
                format_args!(
                    "imported `{}` into age vault `{}`",
                    file.display(),
                    target.display()
                ),
            );
        }
    }
    Ok(0)
}

fn note(err: &mut dyn Write, msg: std::fmt::Arguments<'_>) {
    // A closed stderr must not turn a successful write into a failure.
    let _ = writeln!(err, "{msg}");
}

fn recipients(
    list: &[String],
    files: &[PathBuf],
) -> Result<Vec<age::x25519::Recipient>, VaultError> {
    let mut all = list
        .iter()
        .map(|r| parse_recipient(r))
        .collect::<Result<Vec<_>, _>>()?;
    for f in files {
        all.extend(read_recipients_file(f)?);
    }
    Ok(all)
}

/// For create/encrypt: recipients if any were named (plus the identities' own keys),
/// else the resolved key.
fn new_file_seal(file: &Path, opts: &KeyOptions, to: &RecipientArgs) -> Result<Seal, VaultError> {
    let mut list = recipients(&to.recipients, &to.recipients_files)?;
    if !list.is_empty() {
        if !opts.identity_files.is_empty() {
            list.extend(VaultKey::from_identity_files(&opts.identity_files)?.recipients());
        }
        return Ok(Seal::Recipients(list));
    }
    Ok(Seal::from_key(&key::resolve_with(opts, Some(file), true)?))
}

/// For edit: the same passphrase, or the named recipients. An identity vault cannot be
/// re-sealed to "the same recipients" because age does not record them.
fn edit_seal(file: &Path, key: &VaultKey, to: &RecipientArgs) -> Result<Seal, VaultError> {
    let mut list = recipients(&to.recipients, &to.recipients_files)?;
    match key {
        VaultKey::Passphrase(_) if list.is_empty() => Ok(Seal::from_key(key)),
        _ if list.is_empty() => Err(VaultError::RecipientsRequired {
            path: file.to_owned(),
        }),
        _ => {
            list.extend(key.recipients());
            Ok(Seal::Recipients(list))
        }
    }
}

fn new_seal(new: &NewKeyArgs) -> Result<Option<Seal>, VaultError> {
    let list = recipients(&new.new_recipients, &new.new_recipients_files)?;
    if !list.is_empty() {
        return Ok(Some(Seal::Recipients(list)));
    }
    match &new.new_vault_password_file {
        Some(path) => Ok(Some(Seal::from_key(&VaultKey::from_password_file(path)?))),
        None => Ok(None),
    }
}

fn prompt_new(file: &Path) -> Result<Seal, VaultError> {
    if !std::io::stdin().is_terminal() {
        return Err(VaultError::NoKey {
            what: format!(
                "`{}` after rekey (pass `--new-vault-password-file FILE` or `--new-recipient AGE1...`)",
                file.display()
            ),
        });
    }
    let first = zeroize::Zeroizing::new(
        rpassword::prompt_password("New vault password: ")
            .map_err(|e| VaultError::io("read", "<prompt>", e))?,
    );
    let again = zeroize::Zeroizing::new(
        rpassword::prompt_password("Confirm new vault password: ")
            .map_err(|e| VaultError::io("read", "<prompt>", e))?,
    );
    if *first != *again {
        return Err(VaultError::PromptMismatch);
    }
    if first.is_empty() {
        return Err(VaultError::EmptyPassword {
            path: "<prompt>".into(),
        });
    }
    Ok(Seal::Passphrase(Passphrase::new(first.as_str())))
}

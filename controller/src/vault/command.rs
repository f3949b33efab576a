//! `dr vault <create|encrypt|decrypt|view|edit|rekey|import-ansible|keygen|migrate>`:
//! argument types and their dispatch onto [`super::ops`].

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::error::VaultError;
use super::key::{self, KeyOptions, Passphrase, VaultKey, parse_recipient, read_recipients_file};
use super::keyring::Keyring;
use super::ops::{self, EditOutcome, Seal};
use super::team_key;

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
    /// Create the team key: a new age X25519 identity kept in a passphrase-protected file.
    ///
    /// The key file (default `vault/.key.age`, dr.toml `vault_key_file`) is an age file
    /// sealed with the vault password at scrypt work factor 15 (32 MiB), mode 0600; commit it
    /// beside the vault. A run opens it once with the password, then every vault file sealed
    /// to its public key opens without further key derivation. `create`, `encrypt` and `edit`
    /// seal new content to it; `migrate` moves passphrase vaults onto it.
    Keygen {
        /// Password file for the key (else `DR_VAULT_PASSWORD_FILE`, dr.toml, or a prompt).
        #[arg(long, value_name = "FILE")]
        vault_password_file: Option<PathBuf>,
        /// Where to write the key (default: dr.toml `vault_key_file`, else `vault/.key.age`).
        #[arg(long, value_name = "FILE")]
        vault_key_file: Option<PathBuf>,
        /// scrypt work factor log2(N) protecting the key file, 10 to 22: it needs N KiB of
        /// memory and time doubles per step (15 = 32 MiB, ~0.1 s; 18 = 256 MiB, ~1 s).
        #[arg(long, value_name = "LOG2N", default_value_t = team_key::KEY_FILE_WORK_FACTOR,
              value_parser = clap::value_parser!(u8).range(10..=22))]
        work_factor: u8,
    },
    /// Re-encrypt passphrase vaults (and ansible-vault files) to the team key.
    ///
    /// Every FILE is decrypted first, with the vault password; only when all of them opened
    /// is each one replaced, atomically and keeping its mode. A wrong password or a damaged
    /// file changes nothing. Files already sealed to the team key are left as they are.
    Migrate {
        /// The vault files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Password file of the vaults and the team key (else `DR_VAULT_PASSWORD_FILE`,
        /// dr.toml, or a prompt).
        #[arg(long, value_name = "FILE")]
        vault_password_file: Option<PathBuf>,
        /// The team key (default: dr.toml `vault_key_file`, else `vault/.key.age`).
        #[arg(long, value_name = "FILE")]
        vault_key_file: Option<PathBuf>,
    },
    /// Create a new vault file in $EDITOR (sealed to the team key when it exists).
    Create {
        /// The vault file to create.
        file: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        to: RecipientArgs,
    },
    /// Encrypt a plain file in place (to the team key when it exists).
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
    ///
    /// On the team key file with a new password file, this changes the team password: the key
    /// file is re-sealed at its own scrypt work factor, and no vault file changes.
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
    /// File holding the vault password (also `DR_VAULT_PASSWORD_FILE`, dr.toml); it also
    /// opens the team key.
    #[arg(long, value_name = "FILE")]
    pub vault_password_file: Option<PathBuf>,
    /// age identity file (`AGE-SECRET-KEY-1...`); repeatable. Used instead of the team key.
    #[arg(long, value_name = "FILE")]
    pub vault_identity: Vec<PathBuf>,
    /// The team key (default: dr.toml `vault_key_file`, else `vault/.key.age`).
    #[arg(long, value_name = "FILE")]
    pub vault_key_file: Option<PathBuf>,
}

/// Project defaults the vault commands use (from dr.toml).
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// dr.toml `vault_password_file`.
    pub password_file: Option<PathBuf>,
    /// The team key file: dr.toml `vault_key_file`, else `vault/.key.age` beside dr.toml.
    /// `None`: no team key.
    pub key_file: Option<PathBuf>,
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
pub fn run(cmd: &VaultCommand, defaults: &Defaults) -> Result<i32, VaultError> {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    run_to(
        cmd,
        defaults,
        &super::editor::default_editor(),
        &mut stdout.lock(),
        &mut stderr.lock(),
    )
}

/// [`run`] with explicit editor and output streams (for tests and embedding).
pub fn run_to(
    cmd: &VaultCommand,
    defaults: &Defaults,
    editor: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, VaultError> {
    let opts = |k: &KeyArgs| KeyOptions {
        password_file: k.vault_password_file.clone(),
        identity_files: k.vault_identity.clone(),
        allow_prompt: true,
        config_password_file: defaults.password_file.clone(),
        key_file: k
            .vault_key_file
            .clone()
            .or_else(|| defaults.key_file.clone()),
    };
    // `keygen`/`migrate`: the key options with the team key file named (the default when
    // neither the command line nor dr.toml names one).
    let team_key_options = |password_file: &Option<PathBuf>, key_file: &Option<PathBuf>| {
        let mut options = opts(&KeyArgs {
            vault_password_file: password_file.clone(),
            vault_key_file: key_file.clone(),
            ..KeyArgs::default()
        });
        let key_file = options
            .key_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(team_key::DEFAULT_KEY_FILE));
        options.key_file = Some(key_file.clone());
        (options, key_file)
    };
    let stdout_err = |e| VaultError::io("write", "<stdout>", e);
    match &cmd.action {
        VaultAction::Keygen {
            vault_password_file,
            vault_key_file,
            work_factor,
        } => {
            let (options, key_file) = team_key_options(vault_password_file, vault_key_file);
            if key_file.exists() {
                return Err(VaultError::KeyFileExists { path: key_file });
            }
            let pass =
                key::resolve_passphrase(&options, true)?.ok_or_else(|| VaultError::NoKey {
                    what: format!("`{}` (its passphrase)", key_file.display()),
                })?;
            let public = team_key::create(&key_file, &pass, *work_factor)?;
            note(
                err,
                format_args!(
                    "created team key `{}` (mode 0600, scrypt work factor {work_factor}); public key {public}\n\
                     move passphrase vaults onto it with `dr vault migrate FILE...`",
                    key_file.display()
                ),
            );
        }
        VaultAction::Migrate {
            files,
            vault_password_file,
            vault_key_file,
        } => {
            let (options, key_file) = team_key_options(vault_password_file, vault_key_file);
            let migrated = super::migrate::migrate(files, &key_file, Keyring::new(options))?;
            for file in &migrated.moved {
                note(
                    err,
                    format_args!("migrated `{}` to the team key", file.display()),
                );
            }
            for file in &migrated.already {
                note(
                    err,
                    format_args!("`{}` already uses the team key", file.display()),
                );
            }
        }
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
            let mut keys = Keyring::new(opts(key));
            let k = key_for_file(&mut keys, file)?;
            let target = if *in_place {
                Some(file)
            } else {
                output.as_ref()
            };
            match target {
                Some(target) => {
                    ops::decrypt_file(file, &k, target).map_err(|e| keys.explain(e))?;
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
                    let plain = ops::open(file, &k).map_err(|e| keys.explain(e))?;
                    out.write_all(plain.as_bytes()).map_err(stdout_err)?;
                }
            }
        }
        VaultAction::View { file, key } => {
            let mut keys = Keyring::new(opts(key));
            let k = key_for_file(&mut keys, file)?;
            let plain = ops::open(file, &k).map_err(|e| keys.explain(e))?;
            out.write_all(plain.as_bytes()).map_err(stdout_err)?;
        }
        VaultAction::Edit { file, key, to } => {
            let mut keys = Keyring::new(opts(key));
            let k = key_for_file(&mut keys, file)?;
            let seal = edit_seal(file, &k, keys.team_key_file().is_some(), to)?;
            match ops::edit_file(file, &k, &seal, editor).map_err(|e| keys.explain(e))? {
                EditOutcome::Saved => note(err, format_args!("saved `{}`", file.display())),
                EditOutcome::Unchanged => {
                    note(err, format_args!("`{}` unchanged", file.display()));
                }
            }
        }
        VaultAction::Rekey { file, key, new } => {
            let options = opts(key);
            let is_team_key = options
                .key_file
                .as_deref()
                .is_some_and(|k| team_key::same_file(k, file));
            let mut keys = Keyring::new(options);
            let k = key_for_file(&mut keys, file)?;
            let seal = match new_seal(new)? {
                Some(seal) => seal,
                None => prompt_new(file)?,
            };
            match (&k, &seal) {
                (VaultKey::Passphrase(old), Seal::Passphrase(new)) if is_team_key => {
                    team_key::change_passphrase(file, old, new)?;
                }
                _ => ops::rekey_file(file, &k, &seal).map_err(|e| keys.explain(e))?,
            }
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

/// The key that opens `file`, by the kind its header names.
fn key_for_file(keys: &mut Keyring, file: &Path) -> Result<VaultKey, VaultError> {
    let bytes = std::fs::read(file).map_err(|e| VaultError::io("read", file, e))?;
    keys.key_for(file, &bytes)
}

/// For create/encrypt: recipients if any were named (plus the identities' own keys); else
/// an explicit `--vault-password-file`/`--vault-identity`; else the team key when its file
/// exists; else the passphrase from the environment, dr.toml or the prompt.
fn new_file_seal(file: &Path, opts: &KeyOptions, to: &RecipientArgs) -> Result<Seal, VaultError> {
    let mut list = recipients(&to.recipients, &to.recipients_files)?;
    if !list.is_empty() {
        if !opts.identity_files.is_empty() {
            list.extend(VaultKey::from_identity_files(&opts.identity_files)?.recipients());
        }
        return Ok(Seal::Recipients(list));
    }
    let explicit = opts.password_file.is_some() || !opts.identity_files.is_empty();
    if let Some(key_file) = opts.key_file.as_ref().filter(|k| !explicit && k.exists()) {
        let mut keys = Keyring::new(opts.clone());
        let ids = keys.identities(file)?;
        tracing::debug!(key_file = %key_file.display(), "sealing to the team key");
        return Ok(Seal::Recipients(
            ids.iter().map(|i| i.to_public()).collect(),
        ));
    }
    Ok(Seal::from_key(&key::resolve_with(opts, Some(file), true)?))
}

/// For edit: the same passphrase, the team key (when the file is sealed to it alone), or
/// the named recipients. Another identity vault cannot be re-sealed to "the same
/// recipients" because age does not record them.
fn edit_seal(
    file: &Path,
    key: &VaultKey,
    team: bool,
    to: &RecipientArgs,
) -> Result<Seal, VaultError> {
    let mut list = recipients(&to.recipients, &to.recipients_files)?;
    let sole_recipient = || -> Result<bool, VaultError> {
        let bytes = std::fs::read(file).map_err(|e| VaultError::io("read", file, e))?;
        Ok(super::sealed_to(file, &bytes)? == super::Sealed::Recipients { stanzas: 1 })
    };
    match key {
        VaultKey::Passphrase(_) if list.is_empty() => Ok(Seal::from_key(key)),
        VaultKey::Identities(_) if list.is_empty() && team && sole_recipient()? => {
            Ok(Seal::from_key(key))
        }
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

//! The one error type of the vault: every variant names the file (or flag) it is about and
//! never carries secret material.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while reading keys, decrypting, encrypting or rewriting a
/// vault file. Messages never contain plaintext or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// A file (vault, password file, identity file, editor temp file) could not be read or
    /// written.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was being done: "read", "write", "create a temporary file for", ...
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },

    /// The passphrase does not open the file.
    #[error("wrong vault password for `{path}`")]
    WrongPassword {
        /// The vault file.
        path: PathBuf,
    },

    /// None of the given age identities is a recipient of the file.
    #[error(
        "none of the vault identities can decrypt `{path}`: it was encrypted to other recipients"
    )]
    NoMatchingIdentity {
        /// The vault file.
        path: PathBuf,
    },

    /// The file is encrypted to a passphrase, but identities were given (or the reverse).
    #[error("`{path}` is encrypted to {found}, but {given} was given: pass {hint}")]
    WrongKeyKind {
        /// The vault file.
        path: PathBuf,
        /// "a passphrase" or "age identities".
        found: &'static str,
        /// What the caller supplied.
        given: &'static str,
        /// The flag that would work.
        hint: &'static str,
    },

    /// The armor, header or payload is damaged, or the file ends early.
    #[error("`{path}` is truncated or corrupted: {reason}")]
    Corrupted {
        /// The vault file.
        path: PathBuf,
        /// What the parser found wrong (never plaintext).
        reason: String,
    },

    /// The file is a passphrase vault whose scrypt cost is far above what this machine allows.
    #[error(
        "`{path}` asks for scrypt work factor {required}, above the accepted maximum {max}; \
         it was not made by `dr vault` or was made on purpose to be slow"
    )]
    ExcessiveWork {
        /// The vault file.
        path: PathBuf,
        /// log2(N) the file asks for.
        required: u8,
        /// log2(N) we accept.
        max: u8,
    },

    /// The file is not an age vault at all.
    #[error("`{path}` is not a dr vault file (no `-----BEGIN AGE ENCRYPTED FILE-----` line)")]
    NotAVault {
        /// The file.
        path: PathBuf,
    },

    /// `dr vault encrypt` on a file that is already encrypted.
    #[error("`{path}` is already a vault file")]
    AlreadyEncrypted {
        /// The file.
        path: PathBuf,
    },

    /// An ansible-vault file met while the vault key is a set of age identities.
    #[error(
        "`{path}` is an ansible-vault file, which opens with a password: pass it with \
         `--vault-password-file FILE` (or convert the file with `dr vault import-ansible`)"
    )]
    AnsibleVault {
        /// The file.
        path: PathBuf,
    },

    /// An ansible-vault file whose envelope or payload is malformed.
    #[error("`{path}` is not a valid ansible-vault file: {reason}")]
    AnsibleFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The ansible-vault password does not open the file (HMAC mismatch).
    #[error("wrong ansible-vault password for `{path}` (HMAC check failed)")]
    AnsibleWrongPassword {
        /// The file.
        path: PathBuf,
    },

    /// The decrypted content is not UTF-8 text.
    #[error("`{path}` decrypted, but its content is not UTF-8 text")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },

    /// No key could be found and prompting is not possible.
    #[error(
        "no vault key to open {what}: pass `--vault-password-file FILE` or `--vault-identity FILE`, \
         set `DR_VAULT_PASSWORD_FILE`, or set `vault_password_file` in dr.toml"
    )]
    NoKey {
        /// "`vault/x.yml`" when a file needed the key, else "the vault".
        what: String,
    },

    /// Both a passphrase and identities were passed on the command line.
    #[error("pass either `--vault-password-file` or `--vault-identity`, not both")]
    ConflictingKeys,

    /// A password file (or prompt) gave an empty passphrase.
    #[error("the vault password from `{path}` is empty")]
    EmptyPassword {
        /// The password file, or `<prompt>`.
        path: PathBuf,
    },

    /// The two passphrases typed at the prompt differ.
    #[error("the vault passwords typed do not match")]
    PromptMismatch,

    /// An identity file could not be parsed.
    #[error("`{path}` is not an age identity file: {reason}")]
    BadIdentityFile {
        /// The identity file.
        path: PathBuf,
        /// The parser's reason (line number only, never the line).
        reason: String,
    },

    /// A `--recipient` value is not an age public key.
    #[error("`{recipient}` is not an age recipient (expected `age1...`): {reason}")]
    BadRecipient {
        /// The value given.
        recipient: String,
        /// Why it was rejected.
        reason: String,
    },

    /// Re-encrypting an identity vault without knowing all recipients would lock others out.
    #[error(
        "`{path}` is encrypted to age identities and age files do not record their recipients: \
         pass every recipient with `--recipient`/`--recipients-file` so nobody loses access"
    )]
    RecipientsRequired {
        /// The vault file.
        path: PathBuf,
    },

    /// The target of `create` already exists.
    #[error("`{path}` already exists; use `dr vault edit {path}`")]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },

    /// The editor could not be started or exited with a failure.
    #[error("editor `{editor}` failed for `{path}`: {reason}; the vault was not changed")]
    Editor {
        /// The editor command.
        editor: String,
        /// The vault file being edited.
        path: PathBuf,
        /// Exit status or spawn error.
        reason: String,
    },

    /// age refused to encrypt (e.g. mixed recipient kinds).
    #[error("cannot encrypt `{path}`: {reason}")]
    Encrypt {
        /// The vault file (or `-`).
        path: PathBuf,
        /// age's reason.
        reason: String,
    },

    /// A vault file is sealed to age recipients and no identity was given, and the team key
    /// file that would open it does not exist.
    #[error(
        "`{path}` is encrypted to age recipients, but the team key `{key_file}` does not exist: \
         create it with `dr vault keygen`, set `vault_key_file` in dr.toml, or pass \
         `--vault-identity FILE`"
    )]
    KeyFileMissing {
        /// The vault file that needed the key.
        path: PathBuf,
        /// Where the team key was looked for.
        key_file: PathBuf,
    },

    /// The passphrase does not open the team key file.
    #[error("wrong vault password for the team key `{key_file}` (needed to open `{path}`)")]
    WrongKeyPassword {
        /// The team key file.
        key_file: PathBuf,
        /// The vault file that needed the key.
        path: PathBuf,
    },

    /// The team key opened, but the vault file was sealed to someone else.
    #[error(
        "`{path}` is not encrypted to the team key `{key_file}` ({recipient}): it was encrypted \
         to other recipients; pass `--vault-identity FILE` with an identity that opens it"
    )]
    NotForTeamKey {
        /// The vault file.
        path: PathBuf,
        /// The team key file.
        key_file: PathBuf,
        /// The team key's public key (`age1...`).
        recipient: String,
    },

    /// `dr vault migrate` without a team key to migrate to.
    #[error("the team key `{key_file}` does not exist: create it with `dr vault keygen`")]
    NoTeamKey {
        /// Where the team key was looked for.
        key_file: PathBuf,
    },

    /// `dr vault keygen` would overwrite a key: every vault sealed to it would be lost.
    #[error(
        "the team key `{path}` already exists; replacing it would lock every vault sealed to it \
         (remove it yourself only after `dr vault rekey`ing those files)"
    )]
    KeyFileExists {
        /// The key file.
        path: PathBuf,
    },

    /// A bug: the error says so.
    #[error("internal error in the vault (this is a bug): {0}")]
    Bug(String),
}

impl VaultError {
    /// Wraps an I/O error with the action and file it happened on.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        VaultError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

//! The vault: age-encrypted, ASCII-armored secret files, read transparently by the variable
//! loader through [`VaultCache`], managed with `dr vault ...` ([`command`]), and migrated from
//! ansible-vault ([`ansible`]).
//!
//! Every value that comes out of a vault is secret; [`cache::Loaded::secret`] tells the
//! loader which files those are so it can mask them everywhere.

mod age_file;
pub mod ansible;
mod atomic;
pub mod cache;
pub mod command;
mod editor;
mod error;
mod header;
mod key;
pub mod keyring;
mod migrate;
pub mod ops;
pub mod team_key;

pub use age_file::{
    ARMOR_BEGIN, ARMOR_END, MAX_SCRYPT_WORK_FACTOR, decrypt, encrypt, encrypt_to, is_vault,
    set_scrypt_work_factor_for_tests,
};
pub use cache::{Loaded, VaultCache};
pub use error::VaultError;
pub use header::{Sealed, sealed_to};
pub use key::{
    KeyOptions, PASSWORD_FILE_ENV, Passphrase, VaultKey, parse_recipient, read_recipients_file,
};
pub use keyring::Keyring;

/// age's X25519 identity and recipient types, re-exported so callers need not depend on age.
pub use age::x25519::{Identity as AgeIdentity, Recipient as AgeRecipient};

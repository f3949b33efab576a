//! Reader for ansible-vault files (format 1.1 and 1.2, cipher AES256): the envelope is the
//! agent's (`dr_agent::ansible_vault`, which the `vault`/`unvault` filters use too); this
//! names the file in its errors.

use std::path::Path;

use dr_agent::ansible_vault::{self as envelope, VaultError as Envelope};

use super::error::VaultError;

/// Whether `bytes` start with the ansible-vault header.
pub fn is_ansible_vault(bytes: &[u8]) -> bool {
    envelope::is_ansible_vault(bytes)
}

/// Decrypts the ansible-vault `text` read from `path` with `password` (already stripped of
/// surrounding whitespace, as Ansible strips password files).
pub fn decrypt(path: &Path, text: &str, password: &str) -> Result<String, VaultError> {
    envelope::decrypt(text, password.as_bytes()).map_err(|e| match e {
        Envelope::Format(reason) => VaultError::AnsibleFormat {
            path: path.to_owned(),
            reason,
        },
        Envelope::WrongPassword => VaultError::AnsibleWrongPassword {
            path: path.to_owned(),
        },
        Envelope::NotUtf8 => VaultError::NotUtf8 {
            path: path.to_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file() {
        let err = decrypt(Path::new("x.yml"), "$ANSIBLE_VAULT;1.0;AES\n00", "pw").expect_err("v");
        assert!(
            err.to_string().contains("unsupported format `1.0`"),
            "{err}"
        );
        let err = decrypt(Path::new("x.yml"), "hello", "pw").expect_err("h");
        assert!(
            err.to_string()
                .starts_with("`x.yml` is not a valid ansible-vault file"),
            "{err}"
        );
        let sealed = dr_agent::ansible_vault::encrypt(b"a", b"pw", b"s", None);
        let err = decrypt(Path::new("x.yml"), &sealed, "other").expect_err("pw");
        assert!(
            matches!(err, VaultError::AnsibleWrongPassword { .. }),
            "{err}"
        );
    }
}

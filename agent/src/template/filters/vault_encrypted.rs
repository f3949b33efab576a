//! Ansible's `vault_encrypted` test: true for an inline `!vault` value itself (its
//! plaintext carrying Ansible's `VaultedValue` tag), false for anything else, text derived
//! from it included (`v | trim` is false even when nothing changed). dr marks the vaulted
//! values a render reads from variables (`protomatter::mark_vaulted`); the same text read
//! from a registered result or a fact may be a template's copy, which Ansible would not
//! tag, so there the question is refused rather than guessed.

use minijinja::{Environment, Error, ErrorKind, Value};

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_test("vault_encrypted", vault_encrypted);
}

fn vault_encrypted(v: Value) -> Result<bool, Error> {
    match super::protomatter::vaulted(&v) {
        Some(true) => Ok(true),
        None => Ok(false),
        Some(false) => Err(not_known()),
    }
}

/// The refusal for a vaulted value's text read from a result.
pub(super) fn not_known() -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        "whether this is the inline vault value itself is not known to dr: its text was read \
         from a result or fact, which holds it unchanged or a template's copy of it (Ansible \
         tells them apart by a mark dr does not keep there)",
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::mask::Masker;
    use crate::template::Templater;

    #[test]
    fn true_for_the_vaulted_value_itself_only() {
        let masker = Masker::new(&["file secret".to_owned()])
            .with_vaulted(&["opened {{ plaintext }}".to_owned()]);
        let serde_json::Value::Object(vars) = json!({
            "vaulted": "opened {{ plaintext }}",
            "via": "{{ vaulted }}",
            "from_file": "file secret",
            "plain": "localhost",
            "result": {"v": "opened {{ plaintext }}"},
        }) else {
            unreachable!()
        };
        let scope = Templater::new()
            .tracking(masker)
            .scope_with_raw(vars, ["result".to_owned()].into_iter().collect());
        let is = |expr: &str| scope.eval_bool(expr).map_err(|e| e.to_string());
        for yes in ["vaulted is vault_encrypted", "via is vault_encrypted"] {
            assert_eq!(is(yes), Ok(true), "{yes}");
        }
        for no in [
            "plain is vault_encrypted",
            "from_file is vault_encrypted",
            "(vaulted | trim) is vault_encrypted",
            "(vaulted ~ '') is vault_encrypted",
        ] {
            assert_eq!(is(no), Ok(false), "{no}");
        }
        let err = is("result.v is vault_encrypted").unwrap_err();
        assert!(err.contains("not known to dr"), "{err}");
        // A vaulted value is data: its braces are not a template.
        assert_eq!(
            scope.render_string("{{ vaulted }}").unwrap(),
            "opened {{ plaintext }}"
        );
    }
}

//! Ansible's `vault_encrypted` test. Ansible answers true for a value that is still the
//! vaulted one (an inline `!vault` value, or its plaintext carrying Ansible's `VaultedValue`
//! data tag) and false for anything else, text derived from it included. dr opens vaulted
//! values when it loads them and keeps no such tag, so it answers only what it can know: a
//! value that is no secret of the run was never vaulted (false); for one that is, it cannot
//! tell whether Ansible's tag would still be on it, and refuses.

use std::cell::RefCell;

use minijinja::{Environment, Error, ErrorKind, Value};

use crate::mask::Masker;

thread_local! {
    /// The secrets of the scope rendering on this thread.
    static SECRETS: RefCell<Option<Masker>> = const { RefCell::new(None) };
}

/// Runs `f` (one render or evaluation) with `secrets` as the run's secrets.
pub(in crate::template) fn within<T>(secrets: &Masker, f: impl FnOnce() -> T) -> T {
    let outer = SECRETS.with(|s| s.replace(Some(secrets.clone())));
    let out = f();
    SECRETS.with(|s| *s.borrow_mut() = outer);
    out
}

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_test("vault_encrypted", vault_encrypted);
}

fn vault_encrypted(v: Value) -> Result<bool, Error> {
    let secret = v
        .as_str()
        .is_some_and(|s| SECRETS.with(|m| m.borrow().as_ref().is_some_and(|m| m.is_secret(s))));
    if secret {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "`vault_encrypted` is not supported by dr for a value the run opened from a vault: \
             dr keeps no mark of Ansible's that tells the vaulted value itself (true) from \
             text derived from it (false)",
        ));
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::mask::Masker;
    use crate::template::Templater;

    #[test]
    fn false_for_what_was_never_vaulted_refused_for_a_vault_secret() {
        let masker = Masker::new(&["opened-plaintext".to_owned()]);
        let serde_json::Value::Object(vars) =
            json!({"vaulted": "opened-plaintext", "plain": "localhost"})
        else {
            unreachable!()
        };
        let scope = Templater::new().tracking(masker).scope(vars);
        assert!(!scope.eval_bool("plain is vault_encrypted").unwrap());
        assert!(scope.eval_bool("plain is not vault_encrypted").unwrap());
        let err = scope.eval_bool("vaulted is vault_encrypted").unwrap_err();
        assert!(
            err.to_string()
                .contains("`vault_encrypted` is not supported by dr"),
            "{err}"
        );
        let err = scope
            .render_string("{{ vaulted is vault_encrypted }}")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`vault_encrypted` is not supported by dr"),
            "{err}"
        );
    }
}

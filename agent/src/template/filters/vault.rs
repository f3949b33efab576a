//! `vault` and `unvault`: seal a string as `ansible-vault encrypt_string` does, open one.
//! What `unvault` opens is a secret from then on: the render that opened it adds the
//! plaintext to the run's sensitive set, so it is masked wherever it is shown.

use std::cell::RefCell;
use std::io::Read as _;

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, Value};

use super::{invalid, type_name, undefined_error};
use crate::ansible_vault;

thread_local! {
    /// Plaintexts `unvault` opened on this thread since the last [`take_opened`].
    static OPENED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The plaintexts opened since the last call; the scope adds them to the sensitive set.
pub fn take_opened() -> Vec<String> {
    OPENED.with(|o| std::mem::take(&mut *o.borrow_mut()))
}

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "vault", vault);
    env.add_filter("unvault", unvault);
}

/// A string argument, refused with Python's type name as Ansible refuses it.
fn text<'v>(v: &'v Value, what: &str) -> Result<&'v str, Error> {
    if v.is_undefined() {
        return Err(undefined_error());
    }
    v.as_str().ok_or_else(|| {
        invalid(format!(
            "{what}, instead we got <class '{}'>.",
            type_name(v)
        ))
    })
}

/// `vault_id`, or the undocumented `vaultid` Ansible still reads when `vault_id` is not set.
fn vault_id(pos: Option<Value>, kwargs: &Kwargs) -> Result<String, Error> {
    let given = match pos {
        Some(v) => Some(v),
        None => kwargs.get::<Option<Value>>("vault_id")?,
    };
    let old = kwargs.get::<Option<Value>>("vaultid")?;
    Ok(match (given, old) {
        (Some(v), _) | (None, Some(v)) => v.to_string(),
        (None, None) => "filter_default".to_owned(),
    })
}

fn vault(
    data: Value,
    secret: Value,
    salt: Option<Value>,
    id: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let secret = text(&secret, "Secret passed is required to be a string")?;
    let data = text(&data, "Can only vault strings")?;
    let salt = match salt {
        Some(s) => Some(s),
        None => kwargs.get::<Option<Value>>("salt")?,
    };
    let id = vault_id(id, &kwargs)?;
    // As Ansible 2.19's filter, `wrap_object=True` gives the secret itself, tagged
    // `VaultedValue` (with the vault as its ciphertext), not the vault.
    let wrap = kwargs.get::<Option<bool>>("wrap_object")? == Some(true);
    kwargs.assert_all_used()?;
    let salt = match salt.filter(|s| !s.is_none() && !s.is_undefined()) {
        Some(s) if s.kind() == ValueKind::String && s.as_str() == Some("") => {
            return Err(invalid(
                "Unable to encrypt: Empty or invalid salt passed to encrypt()",
            ));
        }
        Some(s) => s.to_string().into_bytes(),
        None => random_salt()?,
    };
    let sealed = ansible_vault::encrypt(data.as_bytes(), secret.as_bytes(), &salt, Some(&id));
    Ok(match wrap {
        true => super::protomatter::mark_vaulted(secret, true),
        false => Value::from(sealed),
    })
}

fn unvault(data: Value, secret: Value, id: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let secret = text(&secret, "Secret passed is required to be as string")?;
    let data = text(&data, "Vault should be in the form of a string")?;
    vault_id(id, &kwargs)?;
    kwargs.assert_all_used()?;
    if !ansible_vault::is_ansible_vault(data.as_bytes()) {
        return Ok(data.to_owned());
    }
    let plain = ansible_vault::decrypt(data, secret.as_bytes())
        .map_err(|e| invalid(format!("Unable to decrypt: {e}")))?;
    OPENED.with(|o| o.borrow_mut().push(plain.clone()));
    Ok(plain)
}

/// 32 random bytes, as Ansible's `os.urandom(32)`.
fn random_salt() -> Result<Vec<u8>, Error> {
    let mut salt = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut salt))
        .map_err(|e| invalid(format!("Unable to encrypt: cannot read /dev/urandom: {e}")))?;
    Ok(salt)
}

#[cfg(test)]
mod tests {
    use crate::template::Templater;
    use serde_json::json;

    fn render(src: &str) -> Result<String, String> {
        let t = Templater::new();
        let vars = json!({"plain": "foo: bar\n", "pw": "s3cret", "n": 7});
        let serde_json::Value::Object(vars) = vars else {
            unreachable!()
        };
        t.scope(vars).render_string(src).map_err(|e| e.to_string())
    }

    #[test]
    fn a_string_vaulted_with_a_salt_is_the_same_each_time_and_opens_again() {
        let a = render("{{ plain | vault(pw, salt=n) }}").expect("vault");
        let b = render("{{ plain | vault(pw, salt=n) }}").expect("vault");
        assert_eq!(a, b);
        assert!(
            a.starts_with("$ANSIBLE_VAULT;1.2;AES256;filter_default\n"),
            "{a}"
        );
        let round = render("{{ plain | vault(pw) | unvault(pw) }}").expect("round trip");
        assert_eq!(round, "foo: bar\n");
        let id = render("{{ plain | vault(pw, vault_id='prod') }}").expect("id");
        assert!(id.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"), "{id}");
        assert_ne!(
            render("{{ plain | vault(pw) }}").expect("a"),
            render("{{ plain | vault(pw) }}").expect("b"),
            "a random salt each time"
        );
    }

    #[test]
    fn unvault_passes_plain_text_and_refuses_a_wrong_password() {
        assert_eq!(
            render("{{ 'hello' | unvault(pw) }}").as_deref(),
            Ok("hello")
        );
        let err = render("{{ plain | vault(pw) | unvault('other') }}").expect_err("wrong");
        assert!(err.contains("Unable to decrypt"), "{err}");
        let err = render("{{ plain | vault(7) }}").expect_err("int secret");
        assert!(
            err.contains("Secret passed is required to be a string, instead we got <class 'int'>."),
            "{err}"
        );
        // As Ansible 2.19's filter: the secret, tagged (`protomatter_debug.rs` checks the tag).
        assert_eq!(
            render("{{ plain | vault(pw, wrap_object=True) }}").as_deref(),
            render("{{ pw }}").as_deref()
        );
    }
}

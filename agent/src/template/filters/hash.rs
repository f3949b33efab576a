//! Digests and password hashes: `hash`, `checksum`, `md5`, `sha1`, `password_hash`.

use base64::Engine as _;
use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, Value};

use super::{invalid, opt_arg, string_of};

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "hash", hash);
    super::strict::add(env, "checksum", |v: Value| digest_of(&v, "sha1"));
    super::strict::add(env, "sha1", |v: Value| digest_of(&v, "sha1"));
    super::strict::add(env, "md5", |v: Value| digest_of(&v, "md5"));
    super::strict::add(env, "password_hash", password_hash);
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn digest_of(v: &Value, algorithm: &str) -> Result<String, Error> {
    use sha2::Digest as _;
    // Bytes (`!!binary`) are hashed as they are, as in Ansible.
    let text;
    let data = match crate::template::bytes::of(v) {
        Some(bytes) => bytes,
        _ => {
            text = string_of(v)?;
            text.as_bytes()
        }
    };
    Ok(match algorithm {
        "md5" => hex(&md5::Md5::digest(data)),
        "sha1" => hex(&sha1::Sha1::digest(data)),
        "sha224" => hex(&sha2::Sha224::digest(data)),
        "sha256" => hex(&sha2::Sha256::digest(data)),
        "sha384" => hex(&sha2::Sha384::digest(data)),
        "sha512" => hex(&sha2::Sha512::digest(data)),
        other => {
            return Err(invalid(format!(
                "unsupported hash type {other} (dr has md5, sha1, sha224, sha256, sha384, sha512)"
            )));
        }
    })
}

fn hash(v: Value, hashtype: Option<String>) -> Result<String, Error> {
    digest_of(&v, hashtype.as_deref().unwrap_or("sha1"))
}

/// The alphabet of crypt salts (passlib's `ab64`/`h64`).
const SALT_CHARS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn random_salt(len: usize) -> String {
    let mut r = fastrand::Rng::new();
    (0..len)
        .map(|_| SALT_CHARS[r.usize(0..SALT_CHARS.len())] as char)
        .collect()
}

/// Bytes in crypt's base64: little-endian groups of three, six bits at a time.
fn crypt64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let w = chunk
            .iter()
            .rev()
            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
        for i in 0..=chunk.len() {
            out.push(SALT_CHARS[((w >> (6 * i)) & 0x3f) as usize] as char);
        }
    }
    out
}

fn sha_crypt(password: &str, salt: &str, rounds: u32, sha512: bool) -> Result<String, Error> {
    let params = sha_crypt::Params::new(rounds)
        .map_err(|e| invalid(format!("password_hash: invalid rounds: {e}")))?;
    let salt: String = salt.chars().take(16).collect();
    if !salt.bytes().all(|b| SALT_CHARS.contains(&b)) {
        return Err(invalid("password_hash: invalid characters in salt"));
    }
    // The byte order the crypt(3) encoding takes the digest in.
    const ORDER256: [usize; 32] = [
        20, 10, 0, 11, 1, 21, 2, 22, 12, 23, 13, 3, 14, 4, 24, 5, 25, 15, 26, 16, 6, 17, 7, 27, 8,
        28, 18, 29, 19, 9, 30, 31,
    ];
    const ORDER512: [usize; 64] = [
        42, 21, 0, 1, 43, 22, 23, 2, 44, 45, 24, 3, 4, 46, 25, 26, 5, 47, 48, 27, 6, 7, 49, 28, 29,
        8, 50, 51, 30, 9, 10, 52, 31, 32, 11, 53, 54, 33, 12, 13, 55, 34, 35, 14, 56, 57, 36, 15,
        16, 58, 37, 38, 17, 59, 60, 39, 18, 19, 61, 40, 41, 20, 62, 63,
    ];
    let (id, digest) = if sha512 {
        let d = sha_crypt::sha512_crypt(password.as_bytes(), salt.as_bytes(), params);
        ("6", ORDER512.iter().map(|&i| d[i]).collect::<Vec<u8>>())
    } else {
        let d = sha_crypt::sha256_crypt(password.as_bytes(), salt.as_bytes(), params);
        ("5", ORDER256.iter().map(|&i| d[i]).collect::<Vec<u8>>())
    };
    let rounds_part = if rounds == 5000 {
        String::new()
    } else {
        format!("rounds={rounds}$")
    };
    Ok(format!("${id}${rounds_part}{salt}${}", crypt64(&digest)))
}

fn bcrypt_hash(password: &str, salt: &str, cost: u32, ident: &str) -> Result<String, Error> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::BCRYPT,
        base64::engine::GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
    );
    if salt.len() != 22 {
        return Err(invalid(
            "password_hash: a bcrypt salt must be 22 characters",
        ));
    }
    let bytes = engine
        .decode(salt)
        .map_err(|_| invalid("password_hash: invalid characters in bcrypt salt"))?;
    let salt: [u8; 16] = bytes
        .get(..16)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| invalid("password_hash: invalid bcrypt salt"))?;
    let version = match ident {
        "2a" => bcrypt::Version::TwoA,
        "2b" => bcrypt::Version::TwoB,
        "2y" => bcrypt::Version::TwoY,
        "2x" => bcrypt::Version::TwoX,
        other => {
            return Err(invalid(format!(
                "password_hash: unknown bcrypt ident `{other}`"
            )));
        }
    };
    bcrypt::hash_with_salt(password, cost, salt)
        .map(|h| h.format_for_version(version))
        .map_err(|e| invalid(format!("password_hash: {e}")))
}

/// passlib's refusal of the settings, in Ansible's words.
fn could_not_hash(why: String) -> Error {
    invalid(format!("Could not hash the secret: {why}"))
}

fn password_hash(password: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let pos = |i: usize| args.get(i).cloned().filter(|v| !v.is_none());
    let hashtype = opt_arg::<Value>(pos(0), &kwargs, "hashtype")?
        .map_or_else(|| "sha512".to_owned(), |h| h.to_string());
    let salt = opt_arg::<Value>(pos(1), &kwargs, "salt")?.filter(|s| s.is_true());
    let salt_size = opt_arg::<Value>(pos(2), &kwargs, "salt_size")?
        .map(|s| {
            s.as_i64()
                .filter(|_| s.is_integer())
                .ok_or_else(|| invalid("password_hash: salt_size must be an integer"))
        })
        .transpose()?
        .map(|s| s.max(0) as usize);
    let rounds = opt_arg::<Value>(pos(3), &kwargs, "rounds")?
        .filter(|r| r.is_true())
        .map(|r| {
            r.as_i64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| invalid("password_hash: rounds must be an integer"))
        })
        .transpose()?;
    let ident = opt_arg::<Value>(pos(4), &kwargs, "ident")?.map(|i| i.to_string());
    kwargs.assert_all_used()?;
    let password = string_of(&password)?;
    let salt = salt.map(|s| string_of(&s)).transpose()?;
    match hashtype.as_str() {
        "sha512" | "sha512_crypt" | "sha256" | "sha256_crypt" => {
            let sha512 = hashtype.starts_with("sha512");
            let salt = salt.unwrap_or_else(|| random_salt(salt_size.unwrap_or(16)));
            let rounds = rounds.unwrap_or(if sha512 { 656_000 } else { 535_000 });
            if !(1000..=999_999_999).contains(&rounds) {
                // passlib refuses what crypt(3) would clamp.
                return Err(could_not_hash(format!(
                    "rounds must be between 1000 and 999999999, not {rounds}"
                )));
            }
            sha_crypt(&password, &salt, rounds, sha512)
        }
        "blowfish" | "bcrypt" => {
            let salt = salt.unwrap_or_else(|| {
                let mut s = random_salt(21);
                s.push('.');
                s
            });
            let rounds = rounds.unwrap_or(12);
            if !(4..=31).contains(&rounds) {
                return Err(could_not_hash(format!(
                    "bcrypt rounds must be between 4 and 31, not {rounds}"
                )));
            }
            bcrypt_hash(&password, &salt, rounds, ident.as_deref().unwrap_or("2b"))
        }
        "md5" | "md5_crypt" => Err(invalid(
            "password_hash: md5_crypt is not supported by dr; use sha512_crypt",
        )),
        other => Err(invalid(format!(
            "{other} is not in the list of supported passlib algorithms: md5, blowfish, sha256, sha512"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers of glibc's crypt(3) (Python's `crypt.crypt`).
    #[test]
    fn sha_crypt_known_answers() {
        assert_eq!(
            sha_crypt("Hello world!", "saltstring", 5000, true)
                .ok()
                .as_deref(),
            Some(
                "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
            )
        );
        assert_eq!(
            sha_crypt("Hello world!", "saltstring", 5000, false)
                .ok()
                .as_deref(),
            Some("$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5")
        );
    }
}

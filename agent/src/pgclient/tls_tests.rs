//! TLS against a real server with a certificate from a test CA: each `sslmode` encrypts or
//! verifies as libpq's does.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use super::{ConnSpec, SslMode, connect};
use crate::modules::pgtest::{Cluster, pg_user};

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    CertifiedIssuer::self_signed(params, key).unwrap_or_else(|e| panic!("{e}"))
}

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(user) = pg_user() {
        let ok = Command::new("chown")
            .arg(format!("{user}:"))
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown {}", path.display());
    }
}

/// Whether the session is encrypted, or the connection error.
fn ssl(c: &Cluster, host: &str, mode: SslMode, ca: Option<&Path>) -> Result<bool, String> {
    let mut spec = ConnSpec::new("postgres");
    spec.host = Some(host.to_owned());
    spec.port = c.port;
    spec.dbname = Some("postgres".into());
    spec.ssl_mode = mode;
    spec.ca_cert = ca.map(Path::to_path_buf);
    let mut s = connect(&spec).map_err(|e| e.to_string())?;
    let v = s
        .scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .map_err(|e| e.to_string())?;
    Ok(v == serde_json::Value::Bool(true))
}

#[test]
fn each_sslmode_encrypts_and_verifies_as_libpq() {
    let c = Cluster::primary();
    c.kill();
    let issuer = ca("dr pg test CA");
    let other = ca("dr other CA");
    let key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    // Valid for the address only: `localhost` is a name mismatch.
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .and_then(|p| p.signed_by(&key, &issuer))
        .unwrap_or_else(|e| panic!("{e}"));
    write(&c.data.join("server.crt"), &cert.pem(), 0o644);
    write(&c.data.join("server.key"), &key.serialize_pem(), 0o600);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ca_pem = dir.path().join("ca.pem");
    let other_pem = dir.path().join("other.pem");
    std::fs::write(&ca_pem, issuer.pem()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&other_pem, other.pem()).unwrap_or_else(|e| panic!("{e}"));
    let conf = c.data.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap_or_default();
    text.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
    std::fs::write(&conf, text).unwrap_or_else(|e| panic!("{e}"));
    c.start();

    let ip = "127.0.0.1";
    assert_eq!(ssl(&c, ip, SslMode::Disable, None), Ok(false));
    assert_eq!(ssl(&c, ip, SslMode::Allow, None), Ok(false));
    assert_eq!(ssl(&c, ip, SslMode::Prefer, None), Ok(true));
    // require: encrypted, the certificate not checked (any CA).
    assert_eq!(ssl(&c, ip, SslMode::Require, None), Ok(true));
    assert_eq!(ssl(&c, ip, SslMode::VerifyFull, Some(&ca_pem)), Ok(true));
    assert_eq!(ssl(&c, ip, SslMode::VerifyCa, Some(&ca_pem)), Ok(true));
    // The wrong CA fails verify-ca and verify-full, and require when a CA is given.
    for mode in [SslMode::VerifyCa, SslMode::VerifyFull, SslMode::Require] {
        let e = ssl(&c, ip, mode, Some(&other_pem));
        assert!(
            e.as_ref().is_err_and(|e| e.contains("certificate")),
            "{mode:?}: {e:?}"
        );
    }
    // The right CA, the wrong name: verify-ca accepts, verify-full refuses.
    assert_eq!(
        ssl(&c, "localhost", SslMode::VerifyCa, Some(&ca_pem)),
        Ok(true)
    );
    let e = ssl(&c, "localhost", SslMode::VerifyFull, Some(&ca_pem));
    assert!(
        e.as_ref().is_err_and(|e| e.contains("certificate")),
        "{e:?}"
    );
    // Over the socket TLS does not apply, whatever the mode (libpq ignores it there).
    assert_eq!(
        ssl(&c, &c.sock.display().to_string(), SslMode::VerifyFull, None),
        Ok(false)
    );
}

use super::*;

fn masker(secrets: &[&str]) -> Masker {
    Masker::new(&secrets.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

#[test]
fn masks_every_occurrence() {
    let m = masker(&["hunter22"]);
    assert_eq!(m.mask("a hunter22 b hunter22"), "a ******** b ********");
}

#[test]
fn longest_secret_first() {
    let m = masker(&["abcd", "abcdefgh"]);
    assert_eq!(m.mask("x abcdefgh y abcd"), "x ******** y ********");
}

#[test]
fn untouched_text_is_borrowed() {
    let m = masker(&["secret"]);
    assert!(matches!(m.mask("nothing here"), Cow::Borrowed(_)));
}

#[test]
fn empty_secret_is_ignored() {
    let m = masker(&[""]);
    assert!(m.is_empty());
    assert_eq!(m.mask("abc"), "abc");
}

#[test]
fn url_password_is_masked() {
    let m = masker(&[]);
    assert_eq!(
        m.mask("DATABASE_URL=postgres://app:s3cr%40t@akira-db-01:5432/akira"),
        "DATABASE_URL=postgres://app:********@akira-db-01:5432/akira"
    );
    assert_eq!(
        m.mask("http://example.com:8080/x"),
        "http://example.com:8080/x"
    );
    assert_eq!(
        m.mask("redis://default:p@ss@cache:6379 and https://u:pw@h/x?mail=a@b.c"),
        "redis://default:********@cache:6379 and https://u:********@h/x?mail=a@b.c"
    );
}

#[test]
fn mask_value_recurses() {
    let m = masker(&["pw1234"]);
    let v = serde_json::json!({"a": ["pw1234", 1], "pw1234": {"b": "x pw1234"}});
    assert_eq!(
        m.mask_value(&v),
        serde_json::json!({"a": ["********", 1], "********": {"b": "x ********"}})
    );
}

#[test]
fn each_line_of_a_multi_line_secret_is_masked() {
    let m = masker(&["-----BEGIN KEY-----\nMIIEabcdef\nxyz\n-----END KEY-----\n"]);
    let diff = "@@ -0,0 +1,4 @@\n+-----BEGIN KEY-----\n+MIIEabcdef\n+xyz\n+-----END KEY-----\n";
    assert_eq!(
        m.mask(diff),
        "@@ -0,0 +1,4 @@\n+********\n+********\n+xyz\n+********\n"
    );
}

#[test]
fn json_escaped_form_is_masked() {
    let m = masker(&["pa\"ss\nword"]);
    assert_eq!(m.mask(r#"{"pw": "pa\"ss\nword"}"#), r#"{"pw": "********"}"#);
}

#[test]
fn added_strings_reach_every_clone() {
    let m = masker(&["seed-secret"]);
    let clone = m.clone();
    assert!(m.add("SEED-SECRET"));
    assert!(!m.add("SEED-SECRET"));
    assert_eq!(clone.mask("x SEED-SECRET"), "x ********");
    assert_eq!(clone.derived(), vec!["SEED-SECRET".to_owned()]);
    let empty = Masker::default();
    assert!(empty.is_empty());
    empty.clone().add("late");
    assert!(!empty.is_empty());
    assert_eq!(empty.mask("too late"), "too ********");
}

#[test]
fn sensitivity_covers_secrets_and_url_passwords() {
    let m = masker(&["hunter22"]);
    assert!(m.is_sensitive("x hunter22"));
    assert!(m.is_sensitive("postgres://app:pw@db/x"));
    assert!(!m.is_sensitive("postgres://db/x"));
    assert!(!m.is_sensitive("nothing"));
}

#[test]
fn decoys_differ_everywhere_but_line_breaks() {
    let s = "aXx9-\nZz0 é";
    let d = decoy(s);
    assert_eq!(d.chars().count(), s.chars().count());
    for (a, b) in s.chars().zip(d.chars()) {
        if a == '\n' {
            assert_eq!(a, b);
        } else {
            assert_ne!(a.to_ascii_lowercase(), b.to_ascii_lowercase(), "{a} {b}");
        }
    }
    let m = masker(&["hunter22"]);
    assert_eq!(
        m.decoy("pw=hunter22 url=https://u:pw@h/"),
        "pw=xxxxxx33 url=https://u:xx@h/"
    );
}

#[test]
fn a_no_log_results_counts_and_flags_stay_readable() {
    let m = masker(&[]);
    m.add_leaves(&serde_json::json!({
        "rowcount": 0, "rows": [{"present": "t"}], "statusmessage": "CREATE ROLE",
        "token": "s3cr3t-token", "pin": 48213
    }));
    assert_eq!(
        m.mask("akira-db-02 at 2026-11-29T10:09:24Z: t, 0 rows"),
        "akira-db-02 at 2026-11-29T10:09:24Z: t, 0 rows"
    );
    assert_eq!(
        m.mask("got s3cr3t-token and 48213"),
        "got ******** and ********"
    );
    assert_eq!(m.mask("CREATE ROLE app"), "******** app");
}

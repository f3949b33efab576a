//! Arbitrary bytes fed to the inventory and playbook loaders give errors, never panics.

use std::path::Path;

use dr::secrets::Secrets;
use proptest::prelude::*;

fn load_both(bytes: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("input.yml");
    std::fs::write(&file, bytes).expect("write");
    let _ = dr::inventory::load(std::slice::from_ref(&file), &Secrets::default());
    let _ = dr::playbook::load(&file, &dr::playbook::RoleSearch::default());
    let _ = dr::yaml::parse_str(Path::new("input.yml"), &String::from_utf8_lossy(bytes));
}

/// YAML-ish fragments so the generator reaches deep into the parsers, not just the lexer.
fn yamlish() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("- ".to_string()),
        Just(": ".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("hosts".to_string()),
        Just("tasks".to_string()),
        Just("children".to_string()),
        Just("vars".to_string()),
        Just("all".to_string()),
        Just("copy".to_string()),
        Just("import_tasks".to_string()),
        Just("after".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("<<: ".to_string()),
        Just("\"".to_string()),
        Just("db-[01:".to_string()),
        "[a-z0-9_~!@#:,*]{0,6}",
    ];
    proptest::collection::vec(atom, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        load_both(&bytes);
    }

    #[test]
    fn yaml_like_text_never_panics(text in yamlish()) {
        load_both(text.as_bytes());
    }
}

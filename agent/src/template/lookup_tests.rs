use serde_json::{Map, Value as Json, json};

use super::run;

fn list(v: Json) -> Vec<Json> {
    v.as_array().cloned().unwrap_or_default()
}

fn with(opts: Json) -> Map<String, Json> {
    opts.as_object().cloned().unwrap_or_default()
}

#[test]
fn items_flattens_one_level_and_indexed_items_numbers_them() {
    let terms = list(json!([[1, [2]], 3]));
    assert_eq!(
        run("items", &terms, &Map::new()).unwrap(),
        list(json!([1, [2], 3]))
    );
    assert_eq!(
        run("indexed_items", &terms, &Map::new()).unwrap(),
        list(json!([[0, 1], [1, [2]], [2, 3]]))
    );
}

#[test]
fn nested_and_together_combine_lists() {
    let terms = list(json!([["a", "b"], [1, 2]]));
    assert_eq!(
        run("nested", &terms, &Map::new()).unwrap(),
        list(json!([["a", 1], ["a", 2], ["b", 1], ["b", 2]]))
    );
    let terms = list(json!([[1, 2, 3], ["x"]]));
    assert_eq!(
        run("together", &terms, &Map::new()).unwrap(),
        list(json!([[1, "x"], [2, null], [3, null]]))
    );
}

#[test]
fn dict_gives_key_value_pairs_and_refuses_a_list() {
    let terms = list(json!([{"b": 1, "a": 2}]));
    assert_eq!(
        run("dict", &terms, &Map::new()).unwrap(),
        list(json!([{"key": "b", "value": 1}, {"key": "a", "value": 2}]))
    );
    let err = run("dict", &list(json!([[1]])), &Map::new()).unwrap_err();
    assert!(err.contains("lookup plugin expects a dictionary"), "{err}");
}

#[test]
fn subelements_pairs_each_item_with_its_sublist_entries() {
    let users = json!([
        {"name": "alice", "keys": ["k1", "k2"]},
        {"name": "bob", "keys": []},
    ]);
    let got = run("subelements", &[users.clone(), json!("keys")], &Map::new()).unwrap();
    assert_eq!(
        got,
        list(json!([[{"name": "alice"}, "k1"], [{"name": "alice"}, "k2"]]))
    );
    let err = run("subelements", &[users, json!("nope")], &Map::new()).unwrap_err();
    assert!(err.contains("could not find 'nope' key"), "{err}");
    let skipped = run(
        "subelements",
        &[
            json!([{"name": "c"}]),
            json!("keys"),
            json!({"skip_missing": true}),
        ],
        &Map::new(),
    )
    .unwrap();
    assert!(skipped.is_empty());
}

#[test]
fn sequence_shortcut_and_key_value_forms() {
    let s = |t: &str| run("sequence", &[json!(t)], &Map::new()).unwrap();
    assert_eq!(s("5"), list(json!(["1", "2", "3", "4", "5"])));
    assert_eq!(s("2-10/2"), list(json!(["2", "4", "6", "8", "10"])));
    assert_eq!(
        s("4:host%02d"),
        list(json!(["host01", "host02", "host03", "host04"]))
    );
    assert_eq!(
        s("start=5 end=11 stride=2 format=0x%02x"),
        list(json!(["0x05", "0x07", "0x09", "0x0b"]))
    );
    assert_eq!(
        s("start=0 count=5 stride=2"),
        list(json!(["0", "2", "4", "6", "8"]))
    );
    assert_eq!(
        run("sequence", &[], &with(json!({"start": 0, "end": 2}))).unwrap(),
        list(json!(["0", "1", "2"]))
    );
    let err = run("sequence", &[json!("start=3")], &Map::new()).unwrap_err();
    assert!(err.contains("must specify count or end"), "{err}");
    let err = run("sequence", &[json!("start=5 end=1")], &Map::new()).unwrap_err();
    assert!(err.contains("make stride negative"), "{err}");
}

#[test]
fn unknown_options_are_refused() {
    let err = run("items", &[json!(1)], &with(json!({"bogus": 1}))).unwrap_err();
    assert!(err.contains("no option `bogus`"), "{err}");
}

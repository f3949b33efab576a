use serde_json::{Map, Value as Json, json};

use super::convert::convert;
use super::validate;

fn spec(v: Json) -> Map<String, Json> {
    v.as_object().unwrap().clone()
}

fn params(v: Json) -> Map<String, Json> {
    v.as_object().unwrap().clone()
}

#[test]
fn values_convert_as_ansible_converts_them() {
    assert_eq!(convert("int", &json!("5")), Ok(json!(5)));
    assert_eq!(convert("int", &json!(" 7 ")), Ok(json!(7)));
    assert_eq!(convert("int", &json!(5.0)), Ok(json!(5)));
    assert_eq!(convert("int", &json!("1e3")), Ok(json!(1000)));
    assert_eq!(
        convert("int", &json!("5.5")),
        Err("\"'5.5'\" cannot be converted to an int".into())
    );
    assert_eq!(convert("int", &json!(true)), Ok(json!(true)));
    assert_eq!(convert("float", &json!("1.5")), Ok(json!(1.5)));
    assert_eq!(convert("float", &json!(2)), Ok(json!(2.0)));
    assert_eq!(convert("list", &json!("a,b")), Ok(json!(["a", "b"])));
    assert_eq!(convert("list", &json!(3)), Ok(json!(["3"])));
    assert_eq!(convert("list", &json!(true)), Ok(json!(["True"])));
    assert_eq!(
        convert("dict", &json!("a=1, b='x y'")),
        Ok(json!({"a": "1", "b": "x y"}))
    );
    assert_eq!(convert("dict", &json!("{\"a\": 1}")), Ok(json!({"a": 1})));
    assert_eq!(convert("bool", &json!(" Yes ")), Ok(json!(true)));
    assert_eq!(convert("bool", &json!(0)), Ok(json!(false)));
    assert_eq!(convert("str", &json!(1.5)), Ok(json!("1.5")));
    assert_eq!(convert("str", &json!(null)), Ok(json!("")));
    assert_eq!(convert("str", &json!([1, "a"])), Ok(json!("[1, 'a']")));
    assert_eq!(convert("bytes", &json!("2K")), Ok(json!(2048)));
    assert_eq!(convert("bits", &json!("1Mb")), Ok(json!(1_048_576)));
    assert_eq!(convert("json", &json!(" {} ")), Ok(json!("{}")));
    assert_eq!(
        convert("nonsense", &json!(1)),
        Err("'NoneType' object is not callable".into())
    );
}

#[test]
fn a_null_optional_value_is_not_type_checked_but_a_null_required_one_is() {
    let s = spec(json!({"a": {"type": "int"}, "b": {"type": "int", "required": true}}));
    assert_eq!(
        validate(&s, params(json!({"a": null, "b": null}))),
        vec![
            "argument 'b' is of type NoneType and we were unable to convert to int: \"None\" cannot be converted to an int"
        ]
    );
}

#[test]
fn aliases_defaults_and_a_yaml_boolean_choice() {
    let s = spec(json!({
        "name": {"aliases": ["n"], "required": true},
        "state": {"choices": [true, "absent"], "default": "absent"},
    }));
    assert!(validate(&s, params(json!({"n": "x", "state": "True"}))).is_empty());
    assert_eq!(
        validate(&s, params(json!({"n": "x", "bogus": 1}))),
        vec!["bogus. Supported parameters include: name, state (n)."]
    );
    let wrong = spec(json!({"a": {"required": true, "default": 1}}));
    assert_eq!(
        validate(&wrong, Map::new()),
        vec!["internal error: required and default are mutually exclusive for a"]
    );
}

/// Checked against ansible-core 2.19's `ArgumentSpecValidator` (whose values here are
/// plain Python ones; in a play they are tagged, as dr names them).
#[test]
fn sub_option_relations_name_where_they_were_found() {
    let s = spec(json!({
        "db": {"type": "list", "elements": "dict", "options": {
            "mode": {"choices": ["a", "b"]},
            "x": {}, "y": {}, "z": {},
        },
        "mutually_exclusive": [["x", "y"]],
        "required_one_of": [["z"]],
        "required_if": [["mode", "a", ["x", "z"], true]],
        "required_by": {"x": "mode"}},
    }));
    assert_eq!(
        validate(
            &s,
            params(json!({"db": [{"x": 1, "y": 2}, {"mode": "a"}, 5]}))
        ),
        vec![
            "Value '5' in the sub parameter field 'db' must be a list, not '_AnsibleTaggedInt'",
            "Elements value for option 'db' is of type int and we were unable to convert to dict: <class 'ansible.module_utils._internal._datatag._AnsibleTaggedInt'> cannot be converted to a dict",
            "parameters are mutually exclusive: x|y found in db",
            "one of the following is required: z found in db",
            "missing parameter(s) required by 'x': mode found in db",
            "one of the following is required: z found in db",
            "mode is a but any of the following are missing: x, z found in db",
        ]
    );
}

#[test]
fn bytes_get_ansibles_message_for_every_type() {
    // Checked against ansible-playbook 2.19 (a `!!binary` GIF as each type of option).
    let gif = json!(crate::pybytes::encode(b"GIF89a\xff\x00"));
    let s = spec(json!({
        "a_str": {"type": "str"}, "a_path": {"type": "path"}, "a_raw": {"type": "raw"},
        "a_json": {"type": "json"}, "a_jsonarg": {"type": "jsonarg"}, "a_default": {},
        "a_list": {"type": "list"}, "a_dict": {"type": "dict"}, "a_bool": {"type": "bool"},
        "a_int": {"type": "int"}, "a_float": {"type": "float"}, "a_bytes": {"type": "bytes"},
        "a_bits": {"type": "bits"}, "a_elements": {"type": "list", "elements": "str"},
        "a_choice": {"type": "raw", "choices": ["a", "b"]},
    }));
    let mut given = Map::new();
    for name in s.keys() {
        given.insert(name.clone(), gif.clone());
    }
    given.insert("a_elements".into(), json!([gif]));
    let class = "<class 'ansible.module_utils._internal._datatag._AnsibleTaggedBytes'>";
    let cannot = |name: &str, to: &str, what: &str| {
        format!(
            "argument '{name}' is of type bytes and we were unable to convert to {to}: {class} cannot be converted to {what}"
        )
    };
    assert_eq!(
        validate(&s, given),
        vec![
            cannot("a_list", "list", "a list"),
            cannot("a_dict", "dict", "a dict"),
            cannot("a_bool", "bool", "a bool"),
            "argument 'a_int' is of type bytes and we were unable to convert to int: \"b'GIF89a\\xff\\x00'\" cannot be converted to an int".to_owned(),
            cannot("a_float", "float", "a float"),
            cannot("a_bytes", "bytes", "a Byte value"),
            cannot("a_bits", "bits", "a Bit value"),
            "value of a_choice must be one of: a, b, got: b'GIF89a\\xff\\x00'".to_owned(),
        ]
    );
}

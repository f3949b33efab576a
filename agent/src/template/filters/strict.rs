//! Undefined values through filters, as Ansible 2.19 has them: a filter given an undefined
//! argument (the value, a positional or a keyword argument) is not called, and its result
//! is that undefined value — so `nope | upper` fails as `'nope' is undefined` where it is
//! used, and `nope | upper | default('x')` is `x`. minijinja's chainable undefined would
//! otherwise turn it into `''`, `0`, `false` or `[]` and the template would go on with it.
//! Only the filters Ansible lets see undefined values (`default`/`d`, `mandatory`,
//! `ternary`, `type_debug`, `unvault`) are registered without this.

use minijinja::functions::Function;
use minijinja::value::{FunctionArgs, FunctionResult, Rest, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State, Value};

/// Registers filter `f` as `name`, passing undefined arguments through as its result.
pub(crate) fn add<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: Function<Rv, Args>,
    Rv: FunctionResult,
    Args: for<'a> FunctionArgs<'a>,
{
    add_value(env, name, Value::from_function(f));
}

/// The filters that take a bytes value (`!!binary`) as it is, as Ansible's do: as numbers,
/// by their `str()` (Jinja's text filters), or as the bytes they are (hashes, `b64encode`).
const TAKE_BYTES: &[&str] = &[
    "length",
    "count",
    "list",
    "first",
    "last",
    "string",
    "upper",
    "lower",
    "title",
    "capitalize",
    "replace",
    "trim",
    "b64encode",
    "hash",
    "checksum",
    "sha1",
    "md5",
    "to_json",
    "to_nice_json",
    "to_yaml",
    "to_nice_yaml",
];

/// Ansible's text filters, which decode bytes as UTF-8 text first (`to_text`). Any other
/// filter refuses bytes rather than take minijinja's view of them.
const DECODE_BYTES: &[&str] = &[
    "b64decode",
    "to_uuid",
    "from_json",
    "from_yaml",
    "from_yaml_all",
    "basename",
    "dirname",
    "expanduser",
    "expandvars",
    "realpath",
    "relpath",
    "splitext",
    "win_basename",
    "win_dirname",
    "win_splitdrive",
    "quote",
    "regex_replace",
    "regex_escape",
    "regex_search",
    "regex_findall",
    "comment",
    "urldecode",
    "urlsplit",
    "human_to_bytes",
];

fn add_value(env: &mut Environment<'static>, name: &'static str, inner: Value) {
    env.add_filter(
        name,
        move |state: &mut State, args: Rest<ValueOrKwargs>| -> Result<Value, Error> {
            let mut args = args.into_values();
            if let Some(undefined) = first_undefined(&args) {
                return Ok(undefined);
            }
            if !TAKE_BYTES.contains(&name) {
                for arg in &mut args {
                    if let Some(bytes) = crate::template::bytes::of(arg) {
                        *arg = bytes_as_text(name, bytes)?;
                    }
                }
            }
            inner.call(state, &args)
        },
    );
}

/// A bytes argument of filter `name` (not in [`TAKE_BYTES`]) as the text Ansible's text
/// filters decode it to; refused elsewhere.
fn bytes_as_text(name: &str, bytes: &[u8]) -> Result<Value, Error> {
    let refused = |what: &str| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("filter `{name}` does not take bytes{what} (a `!!binary` value) in dr"),
        )
    };
    if !DECODE_BYTES.contains(&name) {
        return Err(refused(""));
    }
    std::str::from_utf8(bytes)
        .map(Value::from)
        .map_err(|_| refused(" that are not UTF-8 text"))
}

/// The first undefined argument, keyword arguments' values included.
fn first_undefined(args: &[Value]) -> Option<Value> {
    args.iter().find_map(|a| {
        if a.is_undefined() {
            return Some(a.clone());
        }
        if !a.is_kwargs() {
            return None;
        }
        a.try_iter()
            .ok()?
            .filter_map(|k| a.get_item(&k).ok())
            .find(Value::is_undefined)
    })
}

/// minijinja's and minijinja-contrib's own filters, registered again through [`add`]
/// (dr's filters registered after these replace some of them, also through [`add`]).
pub(super) fn builtins(env: &mut Environment<'static>) {
    use minijinja::filters as f;
    add(env, "safe", f::safe);
    add(env, "escape", f::escape);
    add(env, "e", f::escape);
    add(env, "lower", f::lower);
    add(env, "upper", f::upper);
    add(env, "title", f::title);
    add(env, "capitalize", f::capitalize);
    add(env, "replace", f::replace);
    add(env, "length", f::length);
    add(env, "count", f::length);
    add(env, "dictsort", f::dictsort);
    add(env, "items", f::items);
    add(env, "reverse", f::reverse);
    add(env, "trim", f::trim);
    add(env, "join", f::join);
    add(env, "split", f::split);
    add(env, "lines", f::lines);
    add(env, "round", f::round);
    add(env, "abs", f::abs);
    add(env, "int", f::int);
    add(env, "float", f::float);
    add(env, "attr", f::attr);
    add(env, "first", f::first);
    add(env, "last", f::last);
    add(env, "min", f::min);
    add(env, "max", f::max);
    add(env, "sort", f::sort);
    add(env, "list", f::list);
    add(env, "string", |state: &State, v: Value| {
        match crate::template::bytes::of(&v) {
            // Python's `str()` of bytes is their `repr()`.
            Some(bytes) => Ok(Value::from(crate::pybytes::repr(bytes))),
            None => {
                let text = f::string(state, &v)?;
                // An inline vault value the run cannot open, inside: it fails, as in Ansible.
                match crate::template::undecryptable::shown_inside(&v) {
                    Some(e) => Err(e),
                    None => Ok(text),
                }
            }
        }
    });
    add(env, "bool", f::bool);
    add(env, "batch", f::batch);
    add(env, "slice", f::slice);
    add(env, "sum", f::sum);
    add(env, "indent", f::indent);
    add(env, "select", f::select);
    add(env, "selectattr", f::selectattr);
    add(env, "reject", f::reject);
    add(env, "rejectattr", f::rejectattr);
    add(env, "map", f::map);
    add(env, "groupby", f::groupby);
    add(env, "unique", f::unique);
    add(env, "chain", f::chain);
    add(env, "zip", f::zip);
    add(env, "pprint", f::pprint);
    add(env, "format", f::format);
    add(env, "tojson", f::tojson);
    use minijinja_contrib::filters as c;
    add(env, "pluralize", c::pluralize);
    add(env, "filesizeformat", c::filesizeformat);
    add(env, "truncate", c::truncate);
    add(env, "striptags", c::striptags);
}

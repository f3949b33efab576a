//! `template`: render a controller-side Jinja file with the host's variables.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_bool_ish};
use super::attrs::{AttrSpec, FileMode};
use super::content::{FileWrite, compare_current};
use super::copy::shipped;
use super::{Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::template::overrides::Overrides;

/// The `template` module.
pub struct Template;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateSpec {
    src: String,
    dest: String,
    mode: Option<FileMode>,
    owner: Option<Json>,
    group: Option<Json>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    force: Option<bool>,
    #[serde(default, deserialize_with = "bool_ish")]
    backup: bool,
    /// Write through a symlink at `dest` instead of replacing it.
    #[serde(default, deserialize_with = "bool_ish")]
    follow: bool,
    validate: Option<String>,
    /// The encoding the rendered text is written in (Python codec names; UTF-8 when empty).
    #[serde(default)]
    output_encoding: Option<String>,
}

impl Module for Template {
    fn name(&self) -> &'static str {
        "template"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "unsafe_writes",
            "src",
            "dest",
            "mode",
            "owner",
            "group",
            "force",
            "backup",
            "follow",
            "validate",
            "block_start_string",
            "block_end_string",
            "variable_start_string",
            "variable_end_string",
            "comment_start_string",
            "comment_end_string",
            "trim_blocks",
            "lstrip_blocks",
            "newline_sequence",
            "output_encoding",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let mut args = args.as_object().cloned().unwrap_or_default();
        let overrides = Overrides::from_args(&args)
            .map_err(|e| ModuleError::Failed(format!("template: {e}")))?;
        args.retain(|k, _| !Overrides::NAMES.contains(&k.as_str()));
        let args = Json::Object(args);
        let Some(src) = args.get("src").and_then(Json::as_str) else {
            // Names what is missing or wrong.
            parse_args::<TemplateSpec>("template", &args)?;
            return Err(super::ArgsError::new("template", "`src` must be a string").into());
        };
        let file = shipped("template", ctx, src)?;
        let source_mode = || file.meta.as_ref().and_then(|m| m.mode);
        let spec: TemplateSpec = parse_args(
            "template",
            &*super::attrs::preserve_mode("template", &args, source_mode)?,
        )?;
        let source = file.text().map_err(|_| {
            ModuleError::Failed(format!("template: `{}` is not UTF-8 text", spec.src))
        })?;
        let failed = |e: String| ModuleError::Failed(format!("template `{}`: {e}", spec.src));
        let (overrides, source) = overrides.with_header(source).map_err(failed)?;
        let with_vars = ctx.scope.with_data(crate::template::file_vars(
            &file.origin,
            file.meta.as_ref(),
            &spec.src,
            Some(&spec.dest),
            !ctx.scope.vars().contains_key("ansible_managed"),
        ));
        let rendered = with_vars
            .for_template(file.templates.clone(), &overrides)
            .map_err(failed)?
            .render_file(&overrides.prepare(source))
            .map_err(|e| failed(e.to_string()))?;
        // `type='path'` in Ansible's module: `~` and `$VAR` expanded.
        let dest = super::path_arg::expand(&spec.dest, ctx.environment);
        let dest = super::copy::destination("template", &dest, Some(&spec.src))?;
        let encoding = spec.output_encoding.as_deref().unwrap_or_default();
        let after: std::sync::Arc<[u8]> = super::output_encoding::encode(encoding, &rendered)
            .map_err(failed)?
            .into();
        let before = compare_current("template", &dest, &after)?;
        if before.is_some() && spec.force == Some(false) {
            return Ok(Plan::done(Outcome::ok(format!(
                "`{}` exists and `force` is false",
                spec.dest
            ))));
        }
        let mut data = Map::new();
        data.insert("src".into(), Json::from(spec.src.clone()));
        data.insert("size".into(), Json::from(after.len()));
        data.insert(
            "checksum".into(),
            Json::from(super::content::checksum(&after)),
        );
        data.insert("md5sum".into(), Json::from(super::content::md5sum(&after)));
        FileWrite {
            module: "template",
            path: dest,
            before,
            after,
            attrs: AttrSpec {
                mode: spec.mode,
                owner: spec.owner,
                group: spec.group,
            },
            default_mode: 0o644,
            backup: spec.backup,
            data,
            create_parents: false,
            msg: None,
            validate: spec.validate,
            follow: spec.follow,
        }
        .plan()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Template;
    use crate::modules::testutil::{Harness, snapshot};

    #[test]
    fn renders_with_host_vars_keeping_the_trailing_newline() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dest = dir.path().join("app.conf");
        let mut h = Harness::with_vars(json!({"port": 5432, "hosts": ["a", "b"]}));
        h.add_file(
            "app.conf.j2",
            "port={{ port }}\n{% for h in hosts %}\nhost={{ h }}\n{% endfor %}\n",
        );
        let args =
            json!({"src": "app.conf.j2", "dest": dest.display().to_string(), "mode": "0640"});
        let before = snapshot(dir.path());
        let plan = h.check(&Template, args.clone());
        assert!(plan.outcome.changed);
        assert_eq!(snapshot(dir.path()), before, "check mode changed the disk");
        assert!(h.apply(&Template, args.clone()).changed);
        assert_eq!(
            std::fs::read_to_string(&dest).unwrap_or_default(),
            "port=5432\nhost=a\nhost=b\n"
        );
        let again = h.check(&Template, args);
        assert!(!again.outcome.changed && again.action.is_none());
    }

    #[test]
    fn jinja_overrides_as_ansible_writes_them() {
        // Expected bytes written by ansible-playbook 2.19 for the same task.
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dest = dir.path().join("out.txt");
        let mut h = Harness::with_vars(json!({"x": 1}));
        h.add_file(
            "t.j2",
            "Hello [% x %]\n  {% if true %}\n  y\n  {% endif %}\nend\n",
        );
        let args = json!({
            "src": "t.j2", "dest": dest.display().to_string(),
            "variable_start_string": "[%", "variable_end_string": "%]",
            "lstrip_blocks": true, "newline_sequence": "\r\n",
        });
        assert!(h.apply(&Template, args.clone()).changed);
        assert_eq!(
            std::fs::read(&dest).unwrap_or_default(),
            b"Hello 1\r\n  y\r\nend\r\n"
        );
        assert!(!h.check(&Template, args).outcome.changed);
        let err = h.check_err(
            &Template,
            json!({"src": "t.j2", "dest": dest.display().to_string(), "newline_sequence": "x"}),
        );
        assert!(err.contains("newline_sequence"), "{err}");
        // The escaped spelling (`'\r\n'` in YAML single quotes) is the sequence itself.
        let escaped = dir.path().join("escaped.txt");
        let args = json!({"src": "t.j2", "dest": escaped.display().to_string(),
                          "newline_sequence": "\\r\\n", "output_encoding": "utf-16-le"});
        h.apply(&Template, args);
        let want: Vec<u8> = "Hello [% x %]\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let got = std::fs::read(&escaped).unwrap_or_default();
        assert_eq!(got[..want.len()], want[..]);
    }

    #[test]
    fn undefined_variable_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut h = Harness::new();
        h.add_file("t.j2", "{{ missing_var }}");
        let err = h.check_err(
            &Template,
            json!({"src": "t.j2", "dest": dir.path().join("x").display().to_string()}),
        );
        assert!(err.contains("'missing_var' is undefined"), "{err}");
    }
}

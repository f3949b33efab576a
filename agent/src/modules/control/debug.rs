//! `debug`: show a message or a variable.

use serde::Deserialize;
use serde_json::Value as Json;

use super::{Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `debug` module.
pub struct Debug;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DebugSpec {
    msg: Option<Json>,
    var: Option<String>,
    /// Shown only from this `-v` level on (`ansible_verbosity`), as Ansible.
    verbosity: Option<Json>,
}

impl Module for Debug {
    fn name(&self) -> &'static str {
        "debug"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["msg", "var", "verbosity"]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        if args.get("msg").is_some() && args.get("var").is_some() {
            // Ansible's argument check comes first, in its words.
            return Err(ModuleError::Failed(
                "parameters are mutually exclusive: msg|var".into(),
            ));
        }
        if let Some(var) = args.get("var").filter(|v| !v.is_string()) {
            // Ansible's argument check, word for word.
            return Err(ModuleError::Failed(format!(
                "argument 'var' is of type {} and we were unable to convert to _check_type_str_no_conversion: '{}' is not a string and conversion is not allowed",
                super::argspec::type_name(var),
                crate::template::pyrepr::repr_json(var)
            )));
        }
        // Bytes (`!!binary`) are shown as Ansible's display shows them: their text, with
        // `?` for what is not UTF-8; the result holds what was shown.
        let (args, replaced) = crate::pybytes::for_display(args);
        let spec: DebugSpec = parse_args("debug", &args)?;
        let level = |v: Option<&Json>| match v {
            Some(Json::Number(n)) => n.as_u64().unwrap_or(0),
            Some(Json::String(s)) => s.trim().parse().unwrap_or(0),
            _ => 0,
        };
        let wanted = level(spec.verbosity.as_ref());
        let run = level(ctx.scope.vars().get("ansible_verbosity"));
        if wanted > run {
            // As Ansible: the reason only, no `msg`.
            let mut skipped = Outcome {
                skipped: true,
                ..Outcome::default()
            };
            skipped.data.insert(
                "skipped_reason".into(),
                Json::from("Verbosity threshold not met."),
            );
            return Ok(Plan::done(skipped));
        }
        let mut outcome = Outcome::default();
        let text = match (&spec.var, &spec.msg) {
            (Some(var), _) => {
                let value = match ctx.scope.eval(var) {
                    Ok(v) => v,
                    Err(e @ crate::template::TemplateError::Undefined { .. }) => {
                        // As ansible-core 2.19: the value is a marker naming the error, and
                        // the result carries it as a warning.
                        let error = e.in_jinja_words();
                        outcome.data.insert(
                            "warnings".into(),
                            Json::from(vec![format!(
                                "Encountered 1 template error.\nerror 1 - {error}"
                            )]),
                        );
                        Json::String(format!("<< error 1 - {error} >>"))
                    }
                    Err(e) => return Err(ModuleError::Failed(e.to_string())),
                };
                let value = if value == crate::template::OMIT {
                    // Ansible's placeholder for an `omit` that cannot be left out here.
                    outcome.data.insert(
                        "warnings".into(),
                        Json::from(vec![
                            "The result of the `var` expression could not be omitted; a placeholder was used instead.",
                        ]),
                    );
                    Json::from("<<Omit>>")
                } else {
                    value
                };
                let (value, replaced_here) = crate::pybytes::for_display(&value);
                let value = value.into_owned();
                if replaced || replaced_here {
                    warn_replaced(&mut outcome);
                }
                outcome.data.insert(var.clone(), value.clone());
                format!("{var}: {}", display(&value))
            }
            (None, Some(msg)) => {
                if replaced {
                    warn_replaced(&mut outcome);
                }
                outcome.data.insert("msg".into(), msg.clone());
                display(msg)
            }
            (None, None) => "Hello world!".to_owned(),
        };
        outcome.msg = text.clone();
        outcome.messages.push(text);
        Ok(Plan::done(outcome))
    }
}

/// Ansible's warning when its display shows bytes that are not UTF-8.
fn warn_replaced(outcome: &mut Outcome) {
    let warning = Json::from(
        "Non UTF-8 encoded data replaced with \"?\" while displaying text to stdout/stderr.",
    );
    match outcome.data.get_mut("warnings") {
        Some(Json::Array(warnings)) => warnings.push(warning),
        _ => {
            outcome
                .data
                .insert("warnings".into(), Json::from(vec![warning]));
        }
    }
}

/// Strings as they are, everything else as indented JSON.
fn display(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Debug;
    use crate::modules::testutil::Harness;

    #[test]
    fn verbosity_above_the_runs_skips_it() {
        let h = Harness::new();
        let plan = h.check(&Debug, json!({"msg": "detail", "verbosity": 2}));
        assert!(plan.outcome.skipped, "{:?}", plan.outcome);
        let out = h.apply(&Debug, json!({"msg": "shown", "verbosity": 0}));
        assert_eq!(out.msg, "shown");
    }

    #[test]
    fn an_undefined_var_shows_ansibles_error_marker_and_warns() {
        let h = Harness::new();
        let out = h.apply(&Debug, json!({"var": "nowhere"}));
        assert_eq!(
            out.data["nowhere"],
            json!("<< error 1 - 'nowhere' is undefined >>")
        );
        assert_eq!(
            out.data["warnings"],
            json!(["Encountered 1 template error.\nerror 1 - 'nowhere' is undefined"])
        );
    }

    #[test]
    fn bytes_show_as_ansibles_display_shows_them() {
        let h = Harness::new();
        let out = h.apply(
            &Debug,
            json!({"msg": crate::pybytes::encode(b"hel\xff\xfflo")}),
        );
        assert_eq!(out.data["msg"], json!("hel?lo"));
        assert_eq!(
            out.data["warnings"],
            json!([
                "Non UTF-8 encoded data replaced with \"?\" while displaying text to stdout/stderr."
            ])
        );
        let out = h.apply(&Debug, json!({"msg": crate::pybytes::encode(b"hello")}));
        assert_eq!(out.data["msg"], json!("hello"));
        assert!(!out.data.contains_key("warnings"));
    }
}

//! An undefined variable in a template that another one includes or imports, or that the
//! `template` lookup renders, named as Jinja names it (`'x' is undefined`): minijinja's
//! error there says only that the include failed, or that a value was undefined.

use minijinja::{Environment, ErrorKind};

/// The first variable that `e`'s innermost undefined error's
/// template uses and `is_defined` does not know (nor the environment's globals). That
/// template is found through `env`'s loader; one without a name there is `main`.
pub(super) fn name(
    env: &Environment<'_>,
    e: &minijinja::Error,
    main: &str,
    is_defined: impl Fn(&str) -> bool,
) -> Option<String> {
    let mut innermost = None;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(m) = err.downcast_ref::<minijinja::Error>()
            && m.kind() == ErrorKind::UndefinedError
        {
            innermost = Some(m);
        }
        cur = err.source();
    }
    let failed = innermost?;
    let loaded = failed.name().and_then(|n| env.get_template(n).ok());
    let source = loaded.as_ref().map_or(main, |t| t.source());
    let template = env.template_from_str(source).ok()?;
    let mut names: Vec<String> = template.undeclared_variables(false).into_iter().collect();
    names.sort_by_key(|n| (source.find(n.as_str()).unwrap_or(usize::MAX), n.clone()));
    names
        .into_iter()
        .find(|n| !is_defined(n) && env.globals().all(|(g, _)| g != n))
}

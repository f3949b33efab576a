//! A module name written as a template of a fact: `action: "{{ ansible_facts.pkg_mgr }}"`.
//!
//! Ansible renders a templated module name when the task runs. dr needs each task's module
//! when it reads the play (to check its arguments, ship its files, plan it), so it takes
//! only the facts whose value on the hosts dr serves names one module — the package
//! manager, `apt` on Debian and Ubuntu — compiles the task as that module, and the agent
//! renders the template when the task runs and fails the task when it names another.

/// The module a templated module name renders to on the hosts dr serves, when the template
/// is one expression reading such a fact; `None` for any other template.
pub fn module_of(template: &str) -> Option<&'static str> {
    let inner = template.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let expr = inner.strip_suffix('-').unwrap_or(inner).trim();
    let fact = expr
        .strip_prefix("ansible_facts.")
        .or_else(|| {
            let inner = expr
                .strip_prefix("ansible_facts[")?
                .strip_suffix(']')?
                .trim();
            inner
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
        })
        .or_else(|| expr.strip_prefix("ansible_"))?;
    (fact == "pkg_mgr").then_some("apt")
}

#[cfg(test)]
mod tests {
    use super::module_of;

    #[test]
    fn the_package_manager_fact_in_each_spelling_names_apt() {
        for t in [
            "{{ ansible_facts.pkg_mgr }}",
            "{{ansible_pkg_mgr}}",
            "{{ ansible_facts['pkg_mgr'] }}",
            "{{ ansible_facts[\"pkg_mgr\"] }}",
            " {{- ansible_pkg_mgr -}} ",
        ] {
            assert_eq!(module_of(t), Some("apt"), "{t}");
        }
    }

    #[test]
    fn other_templates_name_no_module() {
        for t in [
            "{{ my_module }}",
            "{{ ansible_facts.service_mgr }}",
            "{{ ansible_pkg_mgr }}_x",
            "{{ ansible_pkg_mgr | default('apt') }}",
            "{{ a }}{{ ansible_pkg_mgr }}",
            "{% if x %}apt{% endif %}",
        ] {
            assert_eq!(module_of(t), None, "{t}");
        }
    }
}

//! Variable precedence against the oracle (ansible-playbook 2.19): role params over
//! `set_fact`, `set_fact` over `include_vars`, a dependency role's own `vars/` over its
//! parent's, a parent role's params in its dependency. Ansible's own generated check of all
//! levels runs in the integration target `var_precedence` (`tests/ansible-targets`).
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn role_params_set_fact_include_vars_and_role_vars_rank_as_in_ansible() {
    let dr = util::same_files_as_ansible("var_precedence", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert_eq!(out["chosen"], "from-set-fact\n");
    assert_eq!(
        out["dep"],
        "dep-vars param-of-dep-entry param-of-app leaf-vars\n"
    );
    assert_eq!(out["app"], "app-vars param-of-app\n");
}

#[test]
fn gathered_facts_rank_below_play_vars_and_set_fact_above() {
    // Was "vm True" / ... : a gathered fact beat the play's vars, here and in later plays.
    let dr = util::same_files_as_ansible("var_precedence", "facts.yml", 0);
    assert_eq!(
        util::outputs(dr.path())["facts"],
        "from-play-vars True\nfrom-task-vars\nfrom-set-fact\n\
         from-later-play-vars from-vars-file from-set-fact True Linux\n\
         from-set-fact from-set-fact\n",
        "a set_fact value outlives facts gathered again in a later play"
    );
}

# Lists or runs the Python filter and test plugins of a playbook's `filter_plugins/` and
# `test_plugins/` directories (given in ANSIBLE_FILTER_PLUGINS / ANSIBLE_TEST_PLUGINS) for dr,
# with the operator's ansible-core. The request is {"list": true}, answered
# {"filters": [...], "tests": [...]}, or {"kind", "name", "args", "kwargs"}, answered
# {"values": [result]}.


def plugin_answer(req):
    from ansible.plugins.loader import filter_loader, init_plugin_loader, test_loader

    init_plugin_loader()
    if req.get("list"):
        return {"filters": _names("ANSIBLE_FILTER_PLUGINS", "FilterModule", "filters"),
                "tests": _names("ANSIBLE_TEST_PLUGINS", "TestModule", "tests")}
    kind, name = req["kind"], req["name"]
    loader = filter_loader if kind == "filter" else test_loader
    try:
        plugin = loader.get(name)
    except Exception as e:
        raise RuntimeError("%s plugin %r failed to load: %s" % (kind, name, e)) from None
    if plugin is None:
        raise RuntimeError("No %s named %r." % (kind, name))
    return {"values": [plugin.j2_function(*req["args"], **req["kwargs"])]}


def _names(var, cls, method):
    """The names the plugin files of the directories in `var` declare (a plugin that fails
    when Ansible wraps it still has its name: it fails where it is used, as in Ansible)."""
    import importlib.util
    import os

    names = set()
    for d in filter(None, os.environ.get(var, "").split(os.pathsep)):
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if not f.endswith(".py") or f.startswith("_"):
                continue
            try:
                spec = importlib.util.spec_from_file_location("dr_plugin_" + f[:-3], os.path.join(d, f))
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                names.update(getattr(getattr(module, cls)(), method)())
            except Exception:
                continue
    return sorted(names)

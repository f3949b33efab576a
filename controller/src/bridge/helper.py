# dr's module bridge, controller side: runs under the Python that has the operator's
# ansible-core, and uses ansible-core's own plugin loader and AnsiballZ dependency finder.
#
#   catalog          -> {"version", "python", "ansible", "modules": {fqcn: path},
#                        "actions": {fqcn: "normal" | "own"},
#                        "redirects": {fqcn: fqcn}}  (ansible.builtin's routing of
#                        modules that moved to collections: `locale_gen`)
#   build FQCN...    -> {fqcn: {"python_name", "profile", "zip" (base64)} | {"error"}}
#
# Prints one JSON document on stdout.
import base64
import datetime
import io
import json
import os
import re
import sys
import zipfile


def _loader():
    from ansible import constants as C
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader([])
    from ansible.plugins.loader import module_loader

    # The playbooks' and roles' `library/` directories, as Ansible adds them.
    for d in os.environ.get("DR_BRIDGE_LIBRARY", "").split(os.pathsep):
        if d:
            module_loader.add_directory(d)
    return C


def _is_normal_alias(path):
    # An action plugin that is only the generic `normal` one (re-exported): the module
    # runs as any other, with nothing done on the controller.
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except OSError:
        return False
    code = [
        line.strip()
        for line in re.sub(r'("""|\'\'\').*?\1', "", source, flags=re.S).splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    return bool(code) and all(
        line.startswith(("from __future__", "__metaclass__"))
        or re.match(r"from ansible\.plugins\.action\.normal import ActionModule\b", line)
        for line in code
    )


def catalog():
    import ansible
    from ansible.release import __version__

    _loader()
    from ansible.plugins.list import list_plugins

    def text(p):
        return p.decode() if isinstance(p, bytes) else p

    modules = {}
    for name, found in list_plugins("module").items():
        if name.startswith("ansible._"):
            continue
        path = found[0] if isinstance(found, tuple) else found
        modules[name] = text(path)
    actions = {}
    for name, found in list_plugins("action").items():
        path = text(found[0] if isinstance(found, tuple) else found)
        actions[name] = "normal" if _is_normal_alias(path) else "own"
    return {
        "version": __version__,
        "python": sys.executable,
        "ansible": os.path.dirname(ansible.__file__),
        "modules": modules,
        "actions": actions,
        "redirects": _builtin_redirects(ansible),
    }


def _builtin_redirects(ansible):
    # ansible-core's own routing table: a short module name that moved to a collection
    # (`locale_gen` -> `community.general.locale_gen`) still resolves when it is installed.
    import yaml

    path = os.path.join(os.path.dirname(ansible.__file__), "config", "ansible_builtin_runtime.yml")
    try:
        with open(path, encoding="utf-8") as f:
            routing = (yaml.safe_load(f) or {}).get("plugin_routing", {}).get("modules", {})
    except (OSError, yaml.YAMLError):
        return {}
    return {
        "ansible.builtin." + name: entry["redirect"]
        for name, entry in routing.items()
        if isinstance(entry, dict) and isinstance(entry.get("redirect"), str)
    }


def build_one(name, mc, module_loader, ext):
    from ansible._internal._datatag._tags import Origin

    found = module_loader.find_plugin_with_context(name)
    if not found.resolved or not found.plugin_resolved_path:
        return {"error": "ansible-core does not find module `%s`" % name}
    path = found.plugin_resolved_path
    with open(path, "rb") as f:
        data = f.read()
    if mc.REPLACER in data:
        data = data.replace(mc.REPLACER, b"from ansible.module_utils.basic import *")
    elif not mc.NEW_STYLE_PYTHON_MODULE_RE.search(data):
        if mc.REPLACER_WINDOWS in data or mc.REPLACER_JSONARGS in data:
            return {
                "error": "`%s` is not a Python module built on AnsibleModule (%s); dr bridges only "
                "those and old-style modules" % (name, path)
            }
        return build_old_style(data)
    try:
        python_name = mc._get_ansible_module_fqn(path)
    except ValueError:
        # A module of a `library/` directory: Ansible names it as one of its own.
        python_name = "ansible.modules.%s" % name.rsplit(".", 1)[-1]
    out = io.BytesIO()
    # A fixed date: the same module always gives the same bytes, so the same hash.
    when = datetime.datetime(1980, 1, 1, tzinfo=datetime.timezone.utc)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        metadata = mc.recursive_finder(
            python_name.split(".")[-1], python_name, Origin(path=path).tag(data), zf, when, ext
        )
        mc._add_module_to_zip(zf, when, python_name, data, path, ext)
    return {
        "python_name": python_name,
        "profile": getattr(metadata, "serialization_profile", "legacy"),
        "zip": base64.b64encode(out.getvalue()).decode(),
    }


def build_old_style(data):
    # An old-style module (no module_utils: it reads its arguments from the file named by
    # its first argument, key=value pairs, or JSON when it says WANT_JSON, and prints its
    # result): the zip holds it alone, run.py runs it as Ansible does.
    out = io.BytesIO()
    when = (1980, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("module", date_time=when), data)
    return {
        "python_name": "module",
        "profile": "want_json" if b"WANT_JSON" in data else "old",
        "zip": base64.b64encode(out.getvalue()).decode(),
    }


def build(names):
    _loader()
    from ansible.executor import module_common as mc
    from ansible.plugins.loader import module_loader
    from ansible._internal._ansiballz import _builder

    ext = _builder.ExtensionManager.create(task_vars={})
    result = {}
    for name in names:
        try:
            result[name] = build_one(name, mc, module_loader, ext)
        except Exception as e:  # one module's failure is reported, the others built
            result[name] = {"error": "%s: %s" % (type(e).__name__, e)}
    return result


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "catalog":
        out = catalog()
    elif len(sys.argv) > 1 and sys.argv[1] == "build":
        out = build(sys.argv[2:])
    else:
        raise SystemExit("usage: catalog | build FQCN...")
    json.dump(out, sys.stdout)


main()

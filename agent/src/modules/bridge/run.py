# Runs one Ansible module from a payload zip (dr's module bridge): argv is the zip's path,
# the module's Python name and its serialization profile; the module's parameters arrive
# as JSON on stdin; the module prints its result as JSON and exits, as under AnsiballZ.
import sys

zip_path, module_fqn, profile = sys.argv[1], sys.argv[2], sys.argv[3]
params = sys.stdin.buffer.read()
sys.path = [p for p in sys.path if p not in ("", ".")]
sys.path.insert(0, zip_path)
try:
    from ansible.module_utils._internal._ansiballz import _loader
except ImportError:
    _loader = None
if _loader is not None:
    _loader.run_module(
        json_params=params,
        profile=profile,
        module_fqn=module_fqn,
        modlib_path=zip_path,
        extensions={},
    )
else:
    # ansible-core before 2.19: the parameters go straight to basic.
    import runpy
    from ansible.module_utils import basic

    basic._ANSIBLE_ARGS = params
    runpy.run_module(
        mod_name=module_fqn,
        init_globals=dict(_module_fqn=module_fqn, _modlib_path=zip_path),
        run_name="__main__",
        alter_sys=True,
    )
raise SystemExit("the module ended without printing its result")

# Runs one Ansible module from a payload zip (dr's module bridge): argv is the zip's path,
# the module's Python name and its serialization profile; the module's parameters arrive
# as JSON on stdin; the module prints its result as JSON and exits, as under AnsiballZ.
# An old-style module (profile `old` or `want_json`) gets them in a file named by its first
# argument instead: key=value pairs, or JSON when it says WANT_JSON, as Ansible writes them.
import sys

zip_path, module_fqn, profile = sys.argv[1], sys.argv[2], sys.argv[3]
params = sys.stdin.buffer.read()
if profile in ("old", "want_json"):
    import json
    import os
    import shlex
    import tempfile
    import zipfile

    args = json.loads(params)["ANSIBLE_MODULE_ARGS"]
    tmp = tempfile.mkdtemp(prefix="dr-old-module-")
    module = os.path.join(tmp, "module")
    with zipfile.ZipFile(zip_path) as zf, open(module, "wb") as f:
        data = zf.read("module")
        f.write(data)
    os.chmod(module, 0o700)
    with open(os.path.join(tmp, "args"), "w") as f:
        if profile == "want_json":
            json.dump(args, f)
        else:
            f.write("".join("%s=%s " % (k, shlex.quote(str(v))) for k, v in args.items()))
    first = data.split(b"\n", 1)[0]
    if first.startswith(b"#!") and b"python" not in first:
        command = [module, os.path.join(tmp, "args")]
    else:
        command = [sys.executable, module, os.path.join(tmp, "args")]
    import subprocess

    done = subprocess.run(command)
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(done.returncode)
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

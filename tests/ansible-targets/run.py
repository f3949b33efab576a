#!/usr/bin/env python3
"""Run ansible-core's own integration targets with ansible-playbook and with dr, side by side.

ansible-core 2.19.14 ships its integration suite (test/integration/targets/) in the PyPI sdist.
Each role target (a directory with tasks/main.yml) is run the way `ansible-test integration`
runs it against localhost: a play `hosts: testhost`, `roles: [TARGET]`, the targets directory as
the roles path, `output_dir` set, the target's `aliases` honoured. The same play then runs with
`dr apply`; the table says where dr and Ansible disagree.

Everything this needs lives under target/ (gitignored): the venv target/ansible-venv (created
and pinned to ansible-core 2.19.14), the sdist and its unpacked targets in
target/ansible-core-sdist/. Only localhost is ever touched: each run has its own network
namespace with loopback only (unshare -n, where allowed). Targets that change the machine
(`destructive`, or adding users and groups) run only with --allow-destructive; targets that
need the network, systemd, a container runtime, Windows or a cloud are skipped, each with
its reason.

Targets with `needs/httptester` (get_url, uri) run against httptester.py, a local stand-in for
ansible-test's httptester container: httpbin over HTTP and HTTPS under the container's names
(ansible.http.tests, sni1., fail., self-signed.), with its CAs and client certificate. The run
gets a mount namespace too (unshare -n -m, so root is needed): /etc/hosts and the trust store
(/etc/ssl/certs, /usr/local/share/ca-certificates) are copies there, so the CA that
prepare_http_tests installs with update-ca-certificates never reaches the machine's. httpbin is
installed, pinned, into its own venv target/httptester-venv. With --allow-destructive the runner
installs socat with apt-get if it is missing (uri's unix-socket tasks install it with `package`,
which cannot reach a package repository from the run's loopback-only network). The Kerberos parts
stay off: they run only when KRB5_PASSWORD is set.

Targets with `needs/ssh` (fetch) reach testhost over SSH as ansible-test gives them: an sshd on
port 22 in the run's own network namespace (sshloop.py), root logging in with a key made for it
(authorized for root while the targets run: --allow-destructive only), the host key in a
known_hosts file the inventory names.

Targets driven only by runme.sh (a shell script calling ansible-playbook, often grepping its
output) run as ansible-test runs them: `./runme.sh` in a fresh copy of the target (and the targets
it needs) under the run's work dir, with ansible-test's environment. For dr the same script runs
with shim/ansible-playbook first on PATH, which turns each ansible-playbook call into
`dr apply --yes` (`dr plan` for --check) and refuses options dr has no equivalent for. They are
reported in their own table and summary line, apart from the role targets' percentage.

Build dr first: cargo build -p dr -p dr-agent
Example: tests/ansible-targets/run.py --jobs 4 --json target/ansible-targets.json
"""

import argparse
import concurrent.futures
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import sshloop

VERSION = "2.19.14"
REPO = Path(__file__).resolve().parents[2]
PASSLIB_VERSION = "1.7.4"
# Setup targets whose whole effect the venv already has (see ensure_ansible): a script target
# needing only these runs; one needing another setup target is skipped.
SETUP_PROVIDED = {"setup_passlib_controller"}
# httpbin and what it pulls in, for httptester.py; in a venv of their own so ansible-core's
# dependencies (Jinja2, MarkupSafe) stay exactly what ansible-core chose.
HTTPTESTER_REQUIREMENTS = ["httpbin==0.10.4", "Flask==3.1.3", "Werkzeug==3.1.9", "Jinja2==3.1.6",
                           "MarkupSafe==3.0.4", "blinker==1.9.0", "brotlicffi==1.2.1.0", "cffi==2.1.1",
                           "click==8.5.1", "decorator==5.3.1", "greenlet==2.0.2", "itsdangerous==2.2.0",
                           "pycparser==3.12", "six==1.17.0"]
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
VENV = TARGET_DIR / "ansible-venv"
SDIST_CACHE = TARGET_DIR / "ansible-core-sdist"
HTTPTESTER = Path(__file__).resolve().parent / "httptester.py"
HTTPTESTER_VENV = TARGET_DIR / "httptester-venv"
SSH_DIR = TARGET_DIR / "ansible-ssh"

# The list. Role-related targets (roles*, role_*, include_role*, import_role*) are
# added after `roles` from whatever the sdist holds.
DEFAULT_TARGETS = """blocks handlers includes import_tasks include_vars roles loops loop_control
until loop-until register changed_when failed_when ignore_errors check_mode tags meta_tasks omit
no_log conditionals var_precedence var_blending var_templating vars_files special_vars
environment templating template undefined unicode set_fact assert debug fail command_shell
shell copy file lineinfile wait_for""".split()
ROLE_RELATED = re.compile(r"^(roles|role_|include_role|import_role|import-role)")

# Modules whose use means a target reaches past localhost (network, package repositories) or
# needs an init system. A heuristic over the target's own task files, not its dependencies.
OUTSIDE_MODULES = {
    "get_url": "network", "uri": "network", "git": "network", "subversion": "network",
    "pip": "network (package index)", "apt": "network (package repository)",
    "dnf": "network (package repository)", "yum": "network (package repository)",
    "package": "network (package repository)", "apt_repository": "network (package repository)",
    "systemd": "systemd", "systemd_service": "systemd", "service": "an init system (service)",
}
# Targets that add users or groups change the machine even when not marked `destructive`
# (ansible's CI runs them in throwaway VMs): `file` leaves user test2 behind even when it passes.
MACHINE_MODULES = {"user", "group"}
# The same, for commands in a script target's shell scripts.
OUTSIDE_COMMANDS = [
    (r"\bpip3?\s+install\b|-m\s+pip\s+install\b|\bvirtualenv\.sh\b", "network (package index)"),
    (r"\bansible-galaxy\b.*\binstall\b", "network (Galaxy)"),
    (r"\b(apt-get|apt|dnf|yum|zypper)\s+(-\S+\s+)*install\b", "network (package repository)"),
]
MACHINE_COMMANDS = r"\b(useradd|userdel|groupadd|adduser|usermod)\b"
SHIM = Path(__file__).resolve().parent / "shim"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    log("+ " + " ".join(map(str, cmd)))
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def ensure_ansible():
    """The venv with exactly ansible-core VERSION; (re)installs it when missing or different."""
    py = VENV / "bin" / "python"
    probe = "import importlib.metadata as m; print(m.version('ansible-core'))"
    have = subprocess.run([str(py), "-c", probe], capture_output=True, text=True) if py.exists() else None
    if have is None:
        sh([sys.executable, "-m", "venv", VENV])
    if have is None or have.returncode != 0 or have.stdout.strip() != VERSION:
        sh([VENV / "bin" / "pip", "install", "-q", f"ansible-core=={VERSION}"])
    # What the setup target setup_passlib_controller installs on ansible-test's controller,
    # installed here beforehand: targets run with no network.
    if subprocess.run([str(py), "-c", "import passlib"], capture_output=True).returncode != 0:
        sh([VENV / "bin" / "pip", "install", "-q", f"passlib=={PASSLIB_VERSION}"])
    return VENV / "bin"


def ensure_targets():
    """test/integration/targets/ from the sdist, unpacked once into the cache as
    test/integration/targets/ beside test/lib/ansible_test/_data/requirements/ (what
    setup_remote_constraints copies from `{{ role_path }}/../../../lib/...`); `targets` links to it."""
    targets = SDIST_CACHE / "test" / "integration" / "targets"
    if targets.is_dir():
        return targets
    SDIST_CACHE.mkdir(parents=True, exist_ok=True)
    tarball = SDIST_CACHE / f"ansible_core-{VERSION}.tar.gz"
    if not tarball.exists():
        sh([VENV / "bin" / "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
            f"ansible-core=={VERSION}", "-d", SDIST_CACHE])
    prefix = f"ansible_core-{VERSION}/test/"
    wanted = ("integration/targets/", "lib/ansible_test/_data/requirements/")
    # Unpack beside the final name and rename, so an interrupted unpack is never mistaken for done.
    scratch = Path(tempfile.mkdtemp(dir=SDIST_CACHE))
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        for m in members:
            m.name = m.name[len(prefix):]
        tar.extractall(scratch, members=[m for m in members if m.name.startswith(wanted)], filter="data")
    shutil.rmtree(SDIST_CACHE / "test", ignore_errors=True)
    scratch.rename(SDIST_CACHE / "test")
    # The old layout's place, for people reading targets: a link unless an old unpack is there.
    if not os.path.lexists(SDIST_CACHE / "targets"):
        (SDIST_CACHE / "targets").symlink_to(Path("test") / "integration" / "targets", target_is_directory=True)
    return targets


def ensure_locale():
    """The locale environment ansible-test gives scripts: LC_ALL=en_US.UTF-8 (`tags` sets it too,
    and Ansible will not start without it), else C.UTF-8. When the system lacks en_US.UTF-8 it
    is compiled into the cache and found through LOCPATH: installing it would change the machine."""
    if {"en_US.utf8", "en_US.UTF-8"} & set(subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()):
        return {"LC_ALL": "en_US.UTF-8"}
    locpath = SDIST_CACHE / "locale"
    if not (locpath / "en_US.UTF-8").is_dir() and shutil.which("localedef"):
        locpath.mkdir(parents=True, exist_ok=True)
        subprocess.run(["localedef", "-i", "en_US", "-f", "UTF-8", locpath / "en_US.UTF-8"], capture_output=True)
    if (locpath / "en_US.UTF-8").is_dir():
        return {"LC_ALL": "en_US.UTF-8", "LOCPATH": str(locpath)}
    return {"LC_ALL": "C.UTF-8"}


def httptester_possible():
    """Whether a run can have its own network and mount namespaces, as httptester.py needs."""
    return os.geteuid() == 0 and bool(shutil.which("unshare")) and \
        subprocess.run(["unshare", "-n", "-m", "true"], capture_output=True).returncode == 0


def ensure_httptester(args):
    """What httptester.py needs: httpbin in its venv, the certificates, and (only with
    --allow-destructive) socat."""
    py = HTTPTESTER_VENV / "bin" / "python"
    if not py.exists():
        sh([sys.executable, "-m", "venv", HTTPTESTER_VENV])
    if subprocess.run([str(py), "-c", "import httpbin, werkzeug"], capture_output=True).returncode != 0:
        sh([HTTPTESTER_VENV / "bin" / "pip", "install", "-q", *HTTPTESTER_REQUIREMENTS])
    import httptester
    httptester.ensure_certs(TARGET_DIR / "httptester" / "certs")
    if args.allow_destructive and not shutil.which("socat"):
        sh(["apt-get", "install", "-y", "-q", "socat"], stdout=subprocess.DEVNULL)


def httptester_jail(state):
    """The prefix for a `needs/httptester` target: network and mount namespaces, the sites up."""
    return ["unshare", "-n", "-m", HTTPTESTER_VENV / "bin" / "python", HTTPTESTER, "--certs",
            TARGET_DIR / "httptester" / "certs", "--state", state, "--"]


def network_jail():
    """A prefix running a command in its own network namespace, loopback only: scripts name other
    hosts (`-i fake,`, `host1,host2`, inventories of one/two/three) and whatever either tool tries
    with them, nothing past this machine is reachable. [] when unshare is not allowed here."""
    for prefix in (["unshare", "-n"], ["unshare", "--map-current-user", "-n"]):
        if shutil.which("unshare") and subprocess.run(prefix + ["true"], capture_output=True).returncode == 0:
            return prefix + ["sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "sh"]
    log("warning: `unshare -n` is not allowed here: runs share the machine's network")
    return []


def host_platforms():
    """Names `skip/...` aliases may use for this machine."""
    names = {"posix", sys.platform.rstrip("0123456789")}
    if sys.platform == "darwin":
        names |= {"macos", "osx"}
    if Path("/.dockerenv").exists() or Path("/run/.containerenv").exists():
        names.add("docker")
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            key, _, val = line.partition("=")
            if key in ("ID", "ID_LIKE"):
                names |= set(val.strip('"').split())
    except OSError:
        pass
    return names


def skip_here(what, platforms):
    """Whether `skip/WHAT` (a platform like rhel9.2, or python3.12) means this machine."""
    if what.startswith("python"):
        return sys.version.startswith(what[len("python"):])
    return what.rstrip("0123456789.") in platforms


def task_keys(text):
    """Keys at task level in a task file, without parsing YAML: the key after `- ` and keys at
    the same indentation below it (module arguments and vars sit deeper)."""
    indent = None
    for line in text.splitlines():
        m = re.match(r"^(\s*)-\s+([\w.]+):", line)
        if m:
            indent = len(m.group(1)) + 2
        else:
            m = re.match(r"^(\s*)([\w.]+):", line)
            if not m or len(m.group(1)) != indent:
                continue
        yield m.group(2).removeprefix("ansible.builtin.")


def script_summary(runme):
    """What a runme.sh runs: its playbooks, and whether it does anything beyond running them."""
    text = re.sub(r"\\\n", " ", runme.read_text(errors="replace"))
    books, simple = [], True
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("set ") or re.match(r"^(export\s+)?\w+=\S*$", line):
            continue
        if not re.match(r"^(\w+=\S+\s+)*ansible-playbook\s", line) or re.search(r"[|<>`]|\$\(", line):
            simple = False
        if "ansible-playbook" not in line:
            continue
        try:
            words = shlex.split(line.split("ansible-playbook", 1)[1], comments=True)
        except ValueError:
            words = line.split()
        after_flag = False
        for w in words:
            if re.search(r"\.ya?ml$", w) and not after_flag and not w.startswith("@") and w not in books:
                books.append(w)
            after_flag = w in ("-i", "--inventory", "-e", "--extra-vars", "--vault-password-file")
    return books, simple


def machine_reason(files, base, args):
    """Why these task files and scripts reach past localhost or change the machine, or None."""
    for f in files:
        if f.is_symlink() or not f.is_file():
            continue
        where = f.relative_to(base)
        if f.suffix in (".yml", ".yaml"):
            for module in task_keys(f.read_text(errors="replace")):
                if module in OUTSIDE_MODULES and not args.try_outside:
                    return f"needs {OUTSIDE_MODULES[module]}: `{module}` in {where}"
                if module in MACHINE_MODULES and not args.allow_destructive:
                    return f"changes the machine: `{module}` in {where}"
        elif f.suffix == ".sh":
            text = f.read_text(errors="replace")
            for pattern, what in OUTSIDE_COMMANDS:
                if (m := re.search(pattern, text)) and not args.try_outside:
                    return f"needs {what}: `{m.group(0)}` in {where}"
            if (m := re.search(MACHINE_COMMANDS, text)) and not args.allow_destructive:
                return f"changes the machine: `{m.group(0)}` in {where}"
    return None


def meta_dependencies(role):
    """The roles `role`'s meta/main.yml depends on, by name (`x`, `role: x`, `name: x`):
    ansible-test's copy holds every target, so a dependency on another target resolves."""
    meta = next((role / "meta" / f for f in ("main.yml", "main.yaml") if (role / "meta" / f).exists()), None)
    if meta is None:
        return []
    names = []
    for line in meta.read_text().splitlines():
        m = re.match(r"\s*-\s*(?:\{\s*)?(?:(?:role|name):\s*)?([A-Za-z0-9_./-]+)", line)
        if m and not line.lstrip().startswith("#"):
            names.append(m.group(1).rstrip(",").split("/")[-1])
    return names


def needed_targets(name, targets):
    """NAME and the targets it needs, as ansible-test copies them: `needs/target/` and `setup/`
    aliases, transitively, and targets its symlinks point into."""
    need, seen = [name], []
    while need:
        t = need.pop()
        if t in seen or not (targets / t).is_dir():
            continue
        seen.append(t)
        alias_file = targets / t / "aliases"
        for a in alias_file.read_text().split() if alias_file.exists() else []:
            if a.startswith(("needs/target/", "setup/always/", "setup/once/")):
                need.append(a.split("/", 2)[2])
        need.extend(meta_dependencies(targets / t))
        for f in (targets / t).rglob("*"):
            if f.is_symlink():
                real = Path(os.path.realpath(f))
                if real.is_relative_to(targets.resolve()):
                    need.append(real.relative_to(targets.resolve()).parts[0])
    return seen


def classify(name, targets, args, platforms):
    """(kind, detail, aliases): kind is run, skip, script or absent."""
    d = targets / name
    if not d.is_dir():
        return "absent", "not in sdist", []
    alias_file = d / "aliases"
    aliases = alias_file.read_text().split() if alias_file.exists() else []
    aliases = [a for a in aliases if not a.startswith("#")]

    def skip_reason():
        for a in aliases:
            if a.startswith("disabled") or a == "unsupported":
                return a
            if a == "hidden":
                return "hidden (a support target, run by others)"
            if a == "needs/root" and os.geteuid() != 0:
                return "needs root"
            if a == "needs/httptester" and not args.httptester:
                return f"{a} (its stand-in, httptester.py, needs root and `unshare -n -m`)"
            if a == "needs/ssh" and not args.sshloop:
                return f"{a} (its sshd in the run's network namespace needs root, `unshare -n` and --allow-destructive)"
            if a in ("needs/privileged", "non_local") or a.startswith("cloud/"):
                return a
            if a == "destructive" and not args.allow_destructive:
                return "destructive (changes the machine)"
            if a.startswith("skip/") and skip_here(a.split("/")[1], platforms):
                return a
            if a.startswith(("windows", "shippable/windows", "network/")):
                return a
            if a.startswith("needs/file/"):
                return f"{a} (outside test/integration/targets)"
            if a.startswith("needs/target/") and not (targets / a.split("/", 2)[2]).is_dir():
                return f"{a} missing"
        return None

    reason = skip_reason()
    if reason:
        return "skip", reason, aliases
    # ansible-test runs runme.sh when a target has one, whether or not it has tasks/main.yml.
    if (d / "runme.sh").exists():
        # A script may run any playbook, role or script in the targets it copies: scan them all.
        files = [f for t in needed_targets(name, targets) if t not in SETUP_PROVIDED
                 for f in sorted((targets / t).rglob("*"))]
        reason = machine_reason(files, targets, args)
        if reason:
            return "skip", reason, aliases
        setup = [a for a in aliases if a.startswith("setup/") and a.split("/", 2)[2] not in SETUP_PROVIDED]
        if setup:
            return "skip", f"{setup[0]} (setup targets are not run before scripts here)", aliases
        books, simple = script_summary(d / "runme.sh")
        how = "playbooks only" if simple else "checks output"
        return "script", f"script target (runme.sh, {how}): {', '.join(books) or 'no playbook'}", aliases
    if not (d / "tasks" / "main.yml").exists():
        return "skip", "no tasks/main.yml and no runme.sh", aliases
    reason = machine_reason(sorted((d / "tasks").rglob("*.y*ml")), d, args)
    if reason:
        return "skip", reason, aliases
    return "run", "role", aliases


def run(cmd, cwd, env, timeout):
    """(exit code or None on timeout, stdout, stderr). A timeout kills the whole process group."""
    p = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return None, out, err


def write_inventories(d, python, ssh=None):
    """ansible-test's inventory, testhost in testgroup, as INI `inventory` (what scripts pass as
    ../../inventory or $INVENTORY_PATH) and its YAML twin `inventory.yml` (dr reads only YAML;
    JSON is YAML). `ssh`: testhost's connection variables for a `needs/ssh` target (else the
    local connection)."""
    host = dict(ssh or {"ansible_connection": "local"}, ansible_pipelining=True,
                ansible_python_interpreter=str(python))
    inventory = {"all": {"children": {"testgroup": {"hosts": {"testhost": host}}}}}
    (d / "inventory.yml").write_text(json.dumps(inventory, indent=2) + "\n")
    ini = " ".join(f"{k}={'yes' if v is True else json.dumps(v) if isinstance(v, str) and ' ' in v else v}"
                   for k, v in host.items())
    (d / "inventory").write_text(f"[testgroup]\ntesthost {ini}\n")


def script_workdir(root, tool, name, targets, python, ssh=None):
    """ansible-test's layout for a script target: integration/{inventory,integration.cfg} and
    integration/targets/ holding copies of the target and those it needs, so `../../inventory`
    and `../setup_x` resolve and whatever the script writes stays in the work dir.
    Returns (work dir, the target's copy)."""
    d = root / tool
    integration = d / "integration"
    for t in needed_targets(name, targets):
        shutil.copytree(targets / t, integration / "targets" / t, symlinks=True)
    (d / "output").mkdir()
    (d / "tmp").mkdir()
    write_inventories(integration, python, ssh)
    # ansible-test points ANSIBLE_CONFIG at an empty file: an ansible.cfg in the target's
    # directory is read only when the script sets ANSIBLE_CONFIG itself.
    (integration / "integration.cfg").write_text("")
    return d, integration / "targets" / name


def workdir(root, tool, name, aliases, targets, python, ssh=None):
    """A fresh directory with the inventory, the playbook, dr.toml and roles/ for one tool."""
    d = root / tool
    (d / "output").mkdir(parents=True)
    (d / "remote_tmp").mkdir()
    (d / "tmp").mkdir()
    write_inventories(d, python, ssh)
    setup = [a.split("/", 2)[2] for a in aliases if a.startswith(("setup/once/", "setup/always/"))]
    # Play vars, as ansible-test sets output_dir. Not -e: extra vars beat `register`, so
    # `-e remote_tmp_dir=...` breaks setup_remote_tmp_dir (`remote_tmp_dir.path` on a string).
    play = [{"hosts": "testhost", "gather_facts": "gather_facts/no" not in aliases,
             "vars": {"output_dir": str(d / "output"), "remote_tmp_dir": str(d / "remote_tmp")},
             "roles": setup + [name]}]
    (d / "playbook.yml").write_text(json.dumps(play, indent=2) + "\n")
    # dr finds roles through dr.toml's roles_path and in roles/ beside the playbook; give both.
    (d / "dr.toml").write_text(f"roles_path = [{json.dumps(str(targets))}]\n")
    (d / "roles").symlink_to(targets, target_is_directory=True)
    return d


def ansible_result(code, out, err):
    if code is None:
        return "FAIL", "timeout"
    if code == 0:
        return "pass", ""
    # The failure that stopped the host is the last failed task whose failure was not
    # "...ignoring"; earlier ones were ignored or rescued. Its "[ERROR]" line reads best.
    sections = re.split(r"\n(?=TASK \[|RUNNING HANDLER \[|PLAY RECAP)", out)
    for sec in reversed(sections):
        if ("fatal:" in sec or "FAILED!" in sec) and "...ignoring" not in sec:
            lines = sec.splitlines()
            msg = next((l for l in lines if l.startswith("[ERROR]")), None) or \
                next(l for l in lines if "fatal:" in l or "FAILED!" in l)
            origin = next((f" ({l[8:]})" for l in lines if l.startswith("Origin: ")), "")
            return "FAIL", f"{lines[0].strip(' *')}: {msg.strip()}{origin}"
    # No failed task: a parse error before the play ran.
    for line in (out + "\n" + err).splitlines():
        if "ERROR!" in line or "[ERROR]" in line:
            return "FAIL", line.strip()
    return "FAIL", f"exit code {code}"


def dr_result(code, out, err):
    if code is None:
        return "FAIL", "timeout"
    try:
        doc = json.loads(out)
    except ValueError:
        # No JSON document: dr stopped before running (a parse or compile error on stderr).
        lines = err.strip().splitlines()
        msg = next((l for l in lines if l.startswith("error")), lines[0] if lines else f"exit code {code}")
        loc = next((l.strip()[4:] for l in lines if l.strip().startswith("--> ")), None)
        return "FAIL", msg + (f" ({loc})" if loc else "")
    if doc.get("exit_code") == 0:
        return "pass", ""
    for node in doc.get("nodes", []):
        if node.get("outcome") == "ok":
            continue
        # The node's reason names the failing task and its location; the tasks list does not.
        if node.get("reason"):
            return "FAIL", node["reason"]
        failed = [t for t in node.get("tasks", []) if t.get("status") == "failed"]
        if failed:
            return "FAIL", f"{failed[-1].get('name')}: {failed[-1].get('msg')}"
    return "FAIL", f"exit code {doc.get('exit_code')}"


def xtrace(err, runme):
    """The last command bash traced (`set -x`): under `set -e`, the one that failed. Commands of
    the script's `trap ... EXIT` run after it and are passed over."""
    traps = " ".join(re.findall(r"trap\s+'([^']*)'", runme.read_text(errors="replace")))
    lines = [l for l in err.splitlines() if re.match(r"\++ ", l)]
    while lines and traps and lines[-1].lstrip("+ ") in traps:
        lines.pop()
    return lines[-1] if lines else "no command traced"


def script_result(code, out, err, runme, calls):
    """(status, reason) for a runme.sh run. For dr the reason is its last call's error when that
    call failed, else the check that failed on output or exit codes of calls that passed."""
    if code is None:
        return "FAIL", "timeout"
    if code == 0:
        return "pass", ""
    if calls is None:  # ansible: the failing command, and Ansible's last error if there is one
        errors = [l.strip() for l in (out + "\n" + err).splitlines() if "ERROR" in l and not l.startswith("+")]
        return "FAIL", f"exit {code} at `{xtrace(err, runme)}`" + (f": {errors[-1]}" if errors else "")
    if calls and calls[-1]["exit"] != 0:
        return "FAIL", calls[-1]["error"]
    after = f"after `ansible-playbook {' '.join(calls[-1]['argv'])}` passed" if calls else "before any ansible-playbook"
    return "FAIL", f"script check failed {after}: `{xtrace(err, runme)}`"


def run_target(name, kind, detail, aliases, targets, args, ansible_bin):
    res = {"target": name, "kind": kind, "section": "script" if (targets / name / "runme.sh").exists() else "role", "detail": detail,
           "aliases": aliases, "ansible": None, "dr": None}
    if kind not in ("run", "script"):
        return res
    root = Path(tempfile.mkdtemp(prefix=f"dr-ansible-target-{name}-"))
    # ansible-test's settings that change behaviour: handlers run when a play fails (targets
    # clean up users and temp dirs in handlers; dr gets --force-handlers), the venv's bin first
    # on PATH (some targets run `ansible-playbook`).
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_ROLES_PATH=str(targets),
               ANSIBLE_FORCE_HANDLERS="true", ANSIBLE_HOST_PATTERN_MISMATCH="error",
               ANSIBLE_DEPRECATION_WARNINGS="false", ANSIBLE_DEVEL_WARNING="false",
               ANSIBLE_RETRY_FILES_ENABLED="false", PAGER="/bin/cat",
               PATH=f"{ansible_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    env.update({a.split("/")[2]: a.split("/", 3)[3] for a in aliases if a.startswith("env/set/")})
    python = args.python or ansible_bin / "python"
    ssh = sshloop.host_vars(SSH_DIR) if "needs/ssh" in aliases else None
    try:
        for tool in ("ansible", "dr"):
            if tool == "dr" and args.ansible_only:
                continue
            start = time.monotonic()
            if kind == "script":
                d, cwd = script_workdir(root, tool, name, targets, python, ssh)
                cmd, timeout = ["./runme.sh"], args.script_timeout
                # The rest of ansible-test's environment for scripts: no inventory, config or
                # module path unless the script gives one; the interpreter from the inventory.
                # No ANSIBLE_ROLES_PATH: scripts set it themselves (`ANSIBLE_ROLES_PATH=../`).
                run_env = {k: v for k, v in env.items() if k != "ANSIBLE_ROLES_PATH"}
                run_env.update(ANSIBLE_INVENTORY="/dev/null", ANSIBLE_LIBRARY="/dev/null",
                               ANSIBLE_CONFIG=str(d / "integration" / "integration.cfg"),
                               ANSIBLE_HOST_KEY_CHECKING="false", ANSIBLE_PLAYBOOK_DIR=str(cwd),
                               ANSIBLE_PYTHON_INTERPRETER="/set/ansible_python_interpreter/in/inventory",
                               INVENTORY_PATH=str(d / "integration" / "inventory"), **args.locale_env,
                               # hosts without ansible_connection load the ssh plugin, which
                               # creates its ControlPath dir (else ~/.ansible/cp) even unused
                               ANSIBLE_SSH_CONTROL_PATH_DIR=str(d / "tmp" / "cp"))
                if tool == "dr":
                    run_env.update(PATH=f"{SHIM}{os.pathsep}{env['PATH']}", DR_SHIM_DR=str(args.dr),
                                   DR_SHIM_YAML_INVENTORY=str(d / "integration" / "inventory.yml"),
                                   DR_SHIM_LOG=str(d / "shim.jsonl"))
            else:
                d = cwd = workdir(root, tool, name, aliases, targets, python, ssh)
                timeout = args.timeout
                if tool == "ansible":
                    cmd = [ansible_bin / "ansible-playbook", "playbook.yml", "-i", "inventory.yml"]
                else:
                    cmd = [args.dr, "apply", "playbook.yml", "-i", "inventory.yml", "--yes", "--format", "json",
                           "--force-handlers"]
                run_env = dict(env, INVENTORY_PATH=str(d / "inventory"))
            # TMPDIR inside the work dir: what `tempfile` creates goes when the work dir goes,
            # even when a failed run skips the cleanup handler. OUTPUT_DIR and INVENTORY_PATH as
            # ansible-test exports them: targets read them (template writes to "{{ OUTPUT_DIR }}/x",
            # which is /x when it is unset).
            run_env.update(TMPDIR=str(d / "tmp"), OUTPUT_DIR=str(d / "output"))
            jail = args.jail
            if "needs/httptester" in aliases:
                # What ansible-test sets when it links its httptester container.
                run_env.update(HTTPTESTER="1")
                jail = httptester_jail(d / "httptester")
            elif ssh:
                jail = sshloop.jail(SSH_DIR, d / "sshd.log")
            code, out, err = run(jail + cmd, cwd, run_env, timeout)
            (d / "log.txt").write_text(out + "\n--- stderr ---\n" + err)
            if kind == "script":
                shim_log = d / "shim.jsonl"
                calls = [json.loads(l) for l in shim_log.read_text().splitlines()] if shim_log.exists() else []
                status, msg = script_result(code, out, err, cwd / "runme.sh", calls if tool == "dr" else None)
            else:
                status, msg = (ansible_result if tool == "ansible" else dr_result)(code, out, err)
            res[tool] = {"status": status, "msg": msg, "exit_code": code,
                         "seconds": round(time.monotonic() - start, 1)}
            if kind == "script" and tool == "dr":
                res[tool]["calls"] = calls  # every ansible-playbook call: arguments, dr's exit, error
    finally:
        if args.keep:
            res["workdir"] = str(root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return res


def cell(res, tool):
    if res["kind"] == "absent":
        return "-"
    if res["kind"] == "skip":
        return "skip"
    return res[tool]["status"] if res[tool] else "n/a"


def trim(s, n=160):
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def table(results, w):
    print(f"{'target':<{w[0]}} | {'ansible':<{w[1]}} | {'dr':<{w[2]}} | first dr failure / reason")
    print(f"{'-' * w[0]}-+-{'-' * w[1]}-+-{'-' * w[2]}-+-{'-' * 26}")
    for r in results:
        ran = r["kind"] in ("run", "script")
        why = (r["dr"]["msg"] if r["dr"] and r["dr"]["status"] != "pass" else "") if ran else r["detail"]
        print(f"{r['target']:<{w[0]}} | {cell(r, 'ansible'):<{w[1]}} | {cell(r, 'dr'):<{w[2]}} | {trim(why)}")


def parity(results, what):
    good = [r for r in results if r["kind"] in ("run", "script") and r["ansible"]["status"] == "pass"]
    both = [r for r in good if r["dr"]["status"] == "pass"]
    pct = 100 * len(both) / len(good) if good else 0.0
    print(f"of the {len(good)} {what} ansible-playbook passes, dr passes {len(both)} ({pct:.0f}%)")


def report(results, ansible_only):
    roles = [r for r in results if r["section"] == "role"]
    scripts = [r for r in results if r["section"] == "script"]
    w = [max([len(r["target"]) + 2 for r in results] + [6]), 7, 6]
    if roles:
        print("role targets: a play with `roles: [TARGET]`, run by ansible-playbook and by dr apply")
        table(roles, w)
    if scripts:
        print(f"{chr(10) if roles else ''}script targets: ./runme.sh as ansible-test runs it; for dr, "
              f"ansible-playbook is {SHIM.relative_to(REPO)}/ansible-playbook (dr apply --yes)")
        table(scripts, w)
    ansible_fails = [r for r in results if r["ansible"] and r["ansible"]["status"] != "pass"]
    if ansible_fails:
        print("\nansible-playbook failures:")
        for r in ansible_fails:
            print(f"  {r['target']}: {trim(r['ansible']['msg'], 200)}")
    count = lambda rs, k: sum(r["kind"] == k for r in rs)
    print(f"\n{len(results)} targets: {count(roles, 'run')} role targets run, {count(scripts, 'script')} "
          f"script targets run, {count(results, 'skip')} skipped, {count(results, 'absent')} not in sdist")
    if not ansible_only:
        parity(roles, "role targets")
        parity(scripts, "script targets")


class SshHome:
    """What ansible-test's test environment has and some destructive targets read (`copy`
    copies `$HOME/.ssh/authorized_keys` to a user it creates): an authorized_keys file for
    the user running the targets. Made empty for the run when missing, removed afterwards."""

    def __init__(self, enabled):
        self.keys = Path.home() / ".ssh" / "authorized_keys"
        self.made = [] if not enabled else [p for p in (self.keys.parent, self.keys) if not p.exists()]

    def __enter__(self):
        for p in self.made:
            if p == self.keys:
                p.touch(mode=0o600)
            else:
                p.mkdir(mode=0o700)
        return self

    def __exit__(self, *exc):
        for p in reversed(self.made):
            if p == self.keys:
                p.unlink(missing_ok=True)
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()


class CronFaketime:
    """The `cron` target speeds cron up tenfold with libfaketime through a systemd drop-in
    (`setup_cron`), so that its 20-second wait sees a job run; on a host without systemd it
    sets nothing and the wait passes only when a minute happens to start within it. This
    does what the drop-in does for Debian's SysV script: exports the same variables from
    /etc/default/cron for the run (the target restarts cron), restored afterwards."""

    LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
    DEFAULTS = Path("/etc/default/cron")

    def __init__(self, enabled):
        self.saved = None
        self.enabled = enabled and self.LIB.exists() and self.DEFAULTS.exists() \
            and not Path("/run/systemd/system").exists()

    def __enter__(self):
        if self.enabled:
            self.saved = self.DEFAULTS.read_bytes()
            self.DEFAULTS.write_bytes(self.saved + f'\nexport LD_PRELOAD={self.LIB}\nexport FAKETIME="+0y x10"\n'
                                      "export RANDOM_DELAY=0\n".encode())
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            self.DEFAULTS.write_bytes(self.saved)
            # A cron the target left running keeps the fast clock until restarted.
            if subprocess.run(["pgrep", "-x", "cron"], capture_output=True).returncode == 0:
                subprocess.run(["service", "cron", "restart"], capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", help="target names (default: the issue's list plus role-related targets)")
    ap.add_argument("--dr", type=Path, default=TARGET_DIR / "debug" / "dr", help="dr binary (default target/debug/dr)")
    ap.add_argument("--jobs", "-j", type=int, default=2, help="targets run at once (default 2)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per run of one tool on one role target (default 300)")
    ap.add_argument("--script-timeout", type=int, default=900,
                    help="seconds per run of one tool on one script target, all its calls (default 900)")
    ap.add_argument("--json", type=Path, help="write the raw results here")
    ap.add_argument("--allow-destructive", action="store_true",
                    help="also run targets that change the machine (`destructive`, or adding users/groups), "
                    "and install socat for `needs/httptester` targets when missing; only in a throwaway "
                    "machine or container")
    ap.add_argument("--try-outside", action="store_true",
                    help="also run targets whose files name network, package or init-system modules or "
                    "commands (often only on other distributions, or for packages already installed); "
                    "they still run in a loopback-only network namespace, and ansible-playbook's result "
                    "says whether they can pass here")
    ap.add_argument("--python", type=Path, help="python for modules on testhost (default: the venv's); a "
                    "world-readable one (/usr/bin/python3) lets `become_user: nobody` tasks run")
    ap.add_argument("--ansible-only", action="store_true", help="run only ansible-playbook")
    ap.add_argument("--keep", action="store_true", help="keep each target's working directory (logs in */log.txt)")
    args = ap.parse_args()

    if not args.ansible_only and not args.dr.exists():
        sys.exit(f"{args.dr} not found: build it with `cargo build -p dr -p dr-agent`, "
                 "pass --dr PATH, or use --ansible-only")
    args.dr = args.dr.resolve()
    ansible_bin = ensure_ansible()
    targets = ensure_targets()
    args.locale_env = ensure_locale()
    args.jail = network_jail()
    args.httptester = httptester_possible()
    args.sshloop = args.allow_destructive and sshloop.possible()

    names = args.targets
    if not names:
        extra = sorted(p.name for p in targets.iterdir() if ROLE_RELATED.match(p.name))
        i = DEFAULT_TARGETS.index("roles") + 1
        names = list(dict.fromkeys(DEFAULT_TARGETS[:i] + extra + DEFAULT_TARGETS[i:]))
    platforms = host_platforms()
    plan = [(n, *classify(n, targets, args, platforms)) for n in names]
    if any(kind in ("run", "script") and "needs/httptester" in aliases for _, kind, _, aliases in plan):
        ensure_httptester(args)

    needs_ssh = any(kind in ("run", "script") and "needs/ssh" in aliases for _, kind, _, aliases in plan)
    if needs_ssh:
        sshloop.ensure(SSH_DIR)

    speed_cron = args.allow_destructive and "cron" in names
    if speed_cron and not CronFaketime.LIB.exists():
        # setup_cron installs it from a package repository, which the run cannot reach.
        sh(["apt-get", "install", "-y", "-q", "faketime"], stdout=subprocess.DEVNULL)

    start = time.monotonic()
    with SshHome(args.allow_destructive), sshloop.Authorized(SSH_DIR, needs_ssh), CronFaketime(speed_cron), \
            concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = [pool.submit(run_target, *p, targets, args, ansible_bin) for p in plan]
        for p, f in zip(plan, futures):
            if p[1] in ("run", "script"):
                f.add_done_callback(lambda f, n=p[0]: log(
                    f"done {n}: ansible {cell(f.result(), 'ansible')}, dr {cell(f.result(), 'dr')}"))
        results = [f.result() for f in futures]
    elapsed = time.monotonic() - start

    report(results, args.ansible_only)
    print(f"ansible-core {VERSION}; {elapsed:.0f} s with --jobs {args.jobs}")
    if args.json:
        args.json.write_text(json.dumps({"ansible_core": VERSION, "seconds": round(elapsed, 1),
                                         "results": results}, indent=2) + "\n")
    # Non-zero when dr fails a target ansible-playbook passes: the parity this suite measures.
    return int(any(r["dr"] and r["ansible"]["status"] == "pass" and r["dr"]["status"] != "pass"
                   for r in results))


if __name__ == "__main__":
    sys.exit(main())

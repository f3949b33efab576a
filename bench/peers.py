"""The peers bench/run.py measures dr against besides plain ansible-playbook: Ansible with
Mitogen, and pyinfra. Each comes from PyPI, pinned, into its own venv under the target dir.

- Mitogen for Ansible (strategy `mitogen_linear`): Mitogen 0.3.54 declares no upper bound on
  Ansible and runs the benchmark with ansible-core 2.19 (the trees and reports are checked),
  so it gets the same ansible-core as the plain Ansible runs, in its own venv.
- pyinfra 3 runs bench/pyinfra_deploy.py, the playbook rewritten with pyinfra's operations.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ANSIBLE_CORE = "ansible-core==2.19.14"
MITOGEN = "mitogen==0.3.54"
PYINFRA = "pyinfra==3.10.0"


def ensure_venv(venv, *packages):
    """A venv with `packages` installed (once: an existing venv is used as it is)."""
    marker = venv / ".installed"
    wanted = " ".join(packages)
    if not marker.exists() or marker.read_text() != wanted:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *packages], check=True)
        marker.write_text(wanted)
    return venv / "bin"


def ensure_mitogen(target):
    return ensure_venv(target / "bench-mitogen-venv", ANSIBLE_CORE, MITOGEN)


def ensure_pyinfra(target):
    return ensure_venv(target / "bench-pyinfra-venv", PYINFRA)


def mitogen_strategy_dir(bin_dir):
    """ansible_mitogen/plugins/strategy inside the venv that holds bin_dir."""
    found = sorted(bin_dir.parent.glob("lib/python3*/site-packages/ansible_mitogen/plugins/strategy"))
    if not found:
        raise SystemExit(f"ansible_mitogen is not installed in {bin_dir.parent}")
    return found[0]


def mitogen_env(ansible_env, bin_dir, work):
    """Ansible's environment plus Mitogen's strategy. Mitogen keeps one connection per host
    for the run and runs modules in a persistent interpreter there, so pipelining does not
    apply to it; its own control dir and temp dir keep it off Ansible's ControlPersist
    masters."""
    return dict(ansible_env, ANSIBLE_STRATEGY="mitogen_linear",
                ANSIBLE_STRATEGY_PLUGINS=str(mitogen_strategy_dir(bin_dir)),
                ANSIBLE_SSH_CONTROL_PATH_DIR=str(work / "cp-mitogen"),
                ANSIBLE_LOCAL_TEMP=str(work / "mitogen-tmp"))


def pyinfra_inventory(path, hosts, user, roots):
    """The same hosts as the Ansible inventories: name, port, login user, key, known hosts
    (strict checking), and each host's root dir as host data."""
    lines = ["hosts = ["]
    for i, port in enumerate(hosts.ports):
        data = {"ssh_hostname": "127.0.0.1", "ssh_port": port, "ssh_user": user, "ssh_key": str(hosts.client_key),
                "ssh_known_hosts_file": str(hosts.known_hosts), "ssh_strict_host_key_checking": "yes",
                "root": f"{roots}/h{i:02d}"}
        lines.append(f"    ({f'h{i:02d}'!r}, {data!r}),")
    lines.append("]")
    path.write_text("\n".join(lines) + "\n")


def pyinfra_cmds(bin_dir, inv, n, failover_host):
    """pyinfra at its best: all N hosts at once, and each host goes through the operations
    without waiting for the others after each one (`--no-wait`; dr does not wait either)."""
    base = [str(bin_dir / "pyinfra"), "--parallel", str(n), "--no-wait", str(inv), str(BENCH / "pyinfra_deploy.py")]
    return {
        "first": base[:1] + ["-y"] + base[1:],
        "converged": base[:1] + ["-y"] + base[1:],
        "plan": base + ["--dry", "--diff", "--data", f"db_host={failover_host}"],
    }


def pyinfra_env():
    return dict(os.environ, NO_COLOR="1")


def check_pyinfra(phase, n, out, failover_host):
    """pyinfra reports each operation per host: `[hNN] Success` (it changed something) or
    `[hNN] No changes`. The deploy has 17 operations per host (the loop is five; the data
    directory's parents are two more), so: 17 successes per host on the first run; converged,
    none, and `No changes` for the 15 that remain (the two guarded by a missing file are not
    added); its dry run must find exactly one change per host, the DATABASE_URL line, with its
    diff."""
    hosts = [f"h{i:02d}" for i in range(n)]
    changed = {h: 0 for h in hosts}
    for h in re.findall(r"^\s*\[(h\d+)\] Success$", out, re.M):
        changed[h] = changed.get(h, 0) + 1
    if phase == "first":
        ok = len(changed) == n and all(c == 17 for c in changed.values())
        return ok, "17 changed operations per host"
    if phase == "converged":
        unchanged = re.findall(r"^\s*\[(h\d+)\] No changes$", out, re.M)
        ok = len(changed) == n and not any(changed.values()) and all(unchanged.count(h) == 15 for h in hosts)
        return ok, "15 unchanged operations per host and no change"
    will = re.findall(r"^\s*\[(h\d+)\] Will ", out, re.M)
    diffs = re.findall(rf"^\s*\+ DATABASE_URL=postgres://app:pw@{re.escape(failover_host)}:5432/akira$", out, re.M)
    table = out.split("--> Detected changes:")[-1]
    rows = re.findall(r"^\s{4}(\S.*?)\s{2,}(\d+) \(", table, re.M)
    ok = (sorted(will) == hosts and len(diffs) == n and not any(changed.values())
          and rows == [("DATABASE_URL points at the primary", str(n))])
    return ok, "1 detected change per host (the DATABASE_URL line, with its diff)"

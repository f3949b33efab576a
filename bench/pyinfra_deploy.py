"""The benchmark playbook (bench/playbook.yml) as a pyinfra 3 deploy, with pyinfra's own
operations, leaving the same files (content and mode) on every host.

Run by bench/run.py: `pyinfra inventory.py bench/pyinfra_deploy.py` (the inventory gives each
host its `root`); the plan phase is `--dry --diff --data db_host=akira-db-03`.
"""

from io import StringIO
from pathlib import Path

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.operations import files, server

SERVICES = ["backend", "cdr-worker", "api", "scheduler", "notifier"]
TEMPLATES = Path(__file__).resolve().parent / "templates"

root = host.data.root
db_host = host.data.get("db_host", "akira-db-02")
app = f"{root}/opt/akira"
env = f"{app}/.env"
release = f"{app}/RELEASE"

files.directory(name="app directory", path=app, mode="755")
files.directory(name="config directory", path=f"{app}/conf.d", mode="755")
for service in SERVICES:
    files.put(
        name=f"config for {service}",
        src=StringIO(f"service={service}\nhost={host.name}\n"),
        dest=f"{app}/conf.d/{service}.conf",
        mode="644",
    )
# Ansible's template module renders with trim_blocks on; pyinfra's default Jinja env has it off.
files.template(
    name="compose file",
    src=str(TEMPLATES / "compose.yml.j2"),
    dest=f"{app}/docker-compose.yml",
    mode="644",
    jinja_env_kwargs={"trim_blocks": True},
    inventory_hostname=host.name,
    services=SERVICES,
)
# `copy` with `force: false` and `command` with `creates` below: the operation is added only
# when the file is missing. The fact is read while pyinfra prepares the deploy (so its dry run
# knows the answer; an `_if` guard is only evaluated on execution and shows up as a
# "conditional change"); no earlier operation creates either file.
if host.get_fact(File, path=env) is None:
    files.put(
        name="env file exists",
        src=StringIO("APP_ENV=bench\nDATABASE_URL=postgres://app:pw@akira-db-01:5432/akira\n"),
        dest=env,
        mode="600",
    )
files.line(
    name="DATABASE_URL points at the primary",
    path=env,
    line="^DATABASE_URL=",
    replace=f"DATABASE_URL=postgres://app:pw@{db_host}:5432/akira",
)
files.line(name="log level", path=env, line="^LOG_LEVEL=info$")
if host.get_fact(File, path=release) is None:
    server.shell(name="release marker", commands=[f"touch {release}"])
# Ansible's `file` gives every directory it creates the mode, pyinfra's `files.directory` only
# the last one (its parents get the umask's): the two parents are named too.
for path in ("var", "var/lib"):
    files.directory(name=f"data directory parent {path}", path=f"{root}/{path}", mode="750")
files.directory(name="data directory", path=f"{root}/var/lib/akira", mode="750")
files.directory(name="etc directory", path=f"{root}/etc", mode="755")
files.put(
    name="motd",
    src=StringIO(f"{host.name} is managed by the runbook\n"),
    dest=f"{root}/etc/motd",
    mode="644",
)

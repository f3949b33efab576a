"""Evaluates each expression of cases.txt with ansible-core's own templating engine.

Usage: python oracle.py VARS.json CASES.txt  (prints one JSON document to stdout)

Each result is {"ok": value} or {"err": message}. Values are made JSON: tuples and sets
become lists (sets sorted), other non-JSON objects their str(). Run with the python of a venv
holding ansible-core 2.19.
"""

import datetime
import json
import sys
import warnings

warnings.simplefilter("ignore")

from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.template import Templar, trust_as_template  # noqa: E402
from ansible.utils.display import Display  # noqa: E402

Display().verbosity = 0


def plain(v):
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (set, frozenset)):
        return sorted(plain(x) for x in v)
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, (int, float, str)):
        if isinstance(v, str):
            return str(v)
        if isinstance(v, int) and not isinstance(v, bool):
            return int(v)
        if isinstance(v, float):
            return float(v)
        return v
    if isinstance(v, (datetime.datetime, datetime.date)):
        return str(v)
    if hasattr(v, "__iter__"):
        return [plain(x) for x in v]
    return str(v)


def main():
    with open(sys.argv[1]) as f:
        variables = json.load(f)
    cases = []
    with open(sys.argv[2]) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cases.append(line.split(" ##", 1)[0].strip())
    out = []
    for expr in cases:
        templar = Templar(loader=DataLoader(), variables=variables)
        try:
            value = templar.template(trust_as_template("{{ " + expr + " }}"))
            out.append({"expr": expr, "ok": plain(value)})
        except BaseException as e:  # every failure is a result to compare
            out.append({"expr": expr, "err": f"{type(e).__name__}: {e}"})
    json.dump(out, sys.stdout, indent=1, sort_keys=False)


main()

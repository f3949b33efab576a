# Runs one Ansible lookup plugin on the controller for dr: the request (JSON on stdin) names
# the plugin, its terms and options, the task's variables and the playbook's directory; the
# answer (JSON on stdout) is {"values": [...]} or {"error": "..."}.
import json
import sys


def main():
    req = json.load(sys.stdin)
    try:
        from ansible.plugins.loader import init_plugin_loader, lookup_loader
        from ansible.parsing.dataloader import DataLoader
        from ansible.template import Templar

        init_plugin_loader()
        loader = DataLoader()
        loader.set_basedir(req["basedir"])
        templar = Templar(loader=loader, variables=req["vars"])
        plugin = lookup_loader.get(req["name"], loader=loader, templar=templar)
        if plugin is None:
            raise LookupError("lookup plugin %r not found" % req["name"])
        values = plugin.run(req["terms"], variables=req["vars"], **req["kwargs"])
        out = {"values": list(values) if values is not None else []}
    except Exception as e:  # the plugin's failure is the lookup's
        out = {"error": "%s: %s" % (type(e).__name__, e)}
    json.dump(out, sys.stdout, default=str)


main()

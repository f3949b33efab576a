# Runs one Ansible lookup plugin on the controller for dr: the request names the plugin, its
# terms and options, the task's variables and the playbook's directory; the answer is
# {"values": [...]}, {"undefined": true} or {"error": "..."}.

# What stands for an undefined term or value (dr's `UNDEFINED_TERM`).
UNDEFINED = "__dr_undefined__"


def lookup_answer(req):
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
    terms = req["terms"]
    if any(_undefined(t) for t in terms):
        # As Ansible: a plugin that does not take undefined values is not called, and its
        # value is the undefined one; one that does gets Ansible's marker.
        if not getattr(plugin, "accept_args_markers", False):
            return {"undefined": True}
        from ansible._internal._templating._engine import TemplateOptions
        from ansible._internal._templating._jinja_common import UndefinedMarker
        from ansible._internal._templating._utils import TemplateContext

        # A marker is made inside a templating operation, as Ansible makes it.
        with TemplateContext(template_value="", templar=templar._engine, options=TemplateOptions.DEFAULT):
            terms = [UndefinedMarker() if _undefined(t) else t for t in terms]
    values = plugin.run(terms, variables=req["vars"], **req["kwargs"])
    return {"values": list(values) if values is not None else []}


def _undefined(v):
    return isinstance(v, dict) and list(v) == [UNDEFINED]


def _encode(v):
    from ansible._internal._templating._jinja_common import Marker

    return {UNDEFINED: None} if isinstance(v, Marker) else str(v)

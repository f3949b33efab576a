# Serves dr's plugin calls, one JSON request per line on stdin, one JSON answer per line on
# stdout: {"op": "lookup", ...} (lookup_answer) or {"op": "plugin", ...} (plugin_answer);
# a failure is {"error": "..."}. What a plugin prints goes to stderr, never into the answers.
import json
import sys


def _serve():
    answers = sys.stdout
    sys.stdout = sys.stderr
    for line in sys.stdin:
        try:
            req = json.loads(line)
            answer = lookup_answer(req) if req.get("op") == "lookup" else plugin_answer(req)
        except BaseException as e:  # the plugin's failure is the call's
            answer = {"error": "%s: %s" % (type(e).__name__, e)}
        try:
            text = json.dumps(answer, default=_encode)
        except Exception as e:
            text = json.dumps({"error": "the answer is not data: %s" % e})
        answers.write(text + "\n")
        answers.flush()


_serve()

#!/usr/bin/env python3
"""Checks the layering checker: on small trees made here, what breaks the rule is named and fails the
check, and what keeps it passes. Without this, a checker whose pattern stopped matching would pass
everything. Run as the CTest test `layers_selftest`: scripts/check_layers_test.py"""
import os
import subprocess
import sys
import tempfile

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_layers.py")


def check(files):
    """Runs the checker on a tree holding `files` ({path: text}); its exit code and output."""
    with tempfile.TemporaryDirectory() as root:
        for path, text in files.items():
            os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(root, path), "w", encoding="utf-8") as f:
                f.write(text)
        r = subprocess.run([sys.executable, CHECKER, root], capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr


CASES = [
    # (what, files, the checker must fail, text the output must hold)
    ("an include that points down", {"agents/a.cc": '#include "tools/tool_set.h"\n#include <vector>\n'}, False, "layers ok"),
    ("agents reaching into the coordinator", {"agents/a.cc": '#include "orchestrator/run/coordinator.h"\n'}, True,
     "agents/a.cc:1: agents may not include orchestrator/run/coordinator.h"),
    ("the same, relative", {"agents/sub/a.cc": '#  include "../../orchestrator/store/store.h"\n'}, True,
     "agents may not include orchestrator/store/store.h"),
    ("a component's private header", {"orchestrator/run/x.cc": '#include "orchestrator/merge/internal/landing_message.h"\n'},
     True, "private to orchestrator/merge"),
    ("the gateway linking the scripted server", {"models/m.cc": '#include "models/scripted/scripted_model_server.h"\n'},
     True, "models may not include models/scripted/scripted_model_server.h"),
    ("the wire codecs reaching up to the gateway", {"models/wire/w.cc": '#include "models/model_gateway.h"\n'}, True,
     "models/wire may not include models/model_gateway.h"),
    ("a new folder under orchestrator/", {"orchestrator/newpart/p.cc": "int x;\n"}, True,
     "folder orchestrator/newpart is not a component"),
    ("a new top-level folder of code", {"stray/s.cc": "int y;\n"}, True, "stray/: a folder of code"),
    ("a test may include anything public", {"agents/a_test.cc": '#include "orchestrator/run/coordinator.h"\n'}, False,
     "layers ok"),
]


def main():
    failed = 0
    for what, files, must_fail, expected in CASES:
        code, out = check(files)
        ok = (code != 0) == must_fail and expected in out
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            print(f"     exit {code}, expected {'non-zero' if must_fail else '0'} and {expected!r} in:\n{out}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

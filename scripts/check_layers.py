#!/usr/bin/env python3
"""Checks the layering of docs/ARCHITECTURE.md: every #include of a swarm header points down.

Each component (a folder that is one library) may include its own headers and the public headers of
the components listed for it below. A header under a component's `internal/` folder is private to that
component. Tests (`*_test.cc`, testing/, tests/, bench/, fuzz/) may include any public header. Exits 1 and names every violation.
Run from anywhere: scripts/check_layers.py [SOURCE_DIR]
"""
import os
import re
import sys

# Bottom up. A component's allowed dependencies must themselves appear earlier in this list, and are
# the libraries its CMakeLists.txt links (directly or through another one listed here).
LAYERS = [
    ("proto", []),
    ("base", []),
    ("sandbox", ["base"]),
    ("git", ["base", "sandbox"]),
    ("test_results", []),
    ("models/wire", ["proto"]),
    ("models", ["base", "proto", "models/wire"]),
    ("models/scripted", ["proto", "models", "models/wire"]),
    ("tools", ["base", "proto"]),
    ("agents", ["base", "proto", "sandbox", "git", "test_results", "models/wire", "tools"]),
    ("orchestrator/plan", ["base", "proto", "sandbox", "git", "models"]),
    ("orchestrator/store", ["proto"]),
    ("orchestrator/merge", ["base", "sandbox", "git", "test_results"]),
    ("orchestrator/run", ["base", "proto", "sandbox", "git", "test_results", "models",
                          "orchestrator/plan", "orchestrator/store", "orchestrator/merge"]),
    ("orchestrator/web", ["base"]),
    ("orchestrator/dashboard", ["base", "proto", "orchestrator/store", "orchestrator/web"]),
    ("orchestrator/control", ["base", "proto", "sandbox", "git", "test_results", "models",
                              "orchestrator/plan", "orchestrator/store", "orchestrator/merge", "orchestrator/run",
                              "orchestrator/web", "orchestrator/dashboard"]),
    ("orchestrator/backlog", ["base", "proto", "sandbox", "git", "test_results", "models",
                              "orchestrator/plan", "orchestrator/store", "orchestrator/merge", "orchestrator/run"]),
    ("orchestrator/eval", ["base", "proto", "sandbox", "git", "test_results", "models",
                           "orchestrator/plan", "orchestrator/store", "orchestrator/merge", "orchestrator/run",
                           "orchestrator/backlog"]),
    ("orchestrator", ["base", "proto", "sandbox", "git", "test_results", "models", "models/scripted",
                      "orchestrator/plan", "orchestrator/store", "orchestrator/merge", "orchestrator/run",
                      "orchestrator/web", "orchestrator/dashboard", "orchestrator/control", "orchestrator/backlog",
                      "orchestrator/eval"]),
]
# Tests and benchmarks sit on top and may include any public header.
TOP = ["testing", "tests", "bench", "fuzz", "examples"]
# Not code of swarm's own: build trees and docs.
SKIP = {"build", "docs", "scripts"}

INCLUDE = re.compile(r'^\s*#\s*include\s+["<]([^">]+)[">]')


def component_of(path, components):
    """The longest component folder that holds `path` (a path relative to the source root)."""
    best = None
    for c in components:
        if path == c or path.startswith(c + "/"):
            if best is None or len(c) > len(best):
                best = c
    return best


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    names = [name for name, _ in LAYERS]
    allowed = {name: set(deps) | {name} for name, deps in LAYERS}
    order = {name: i for i, name in enumerate(names)}
    errors = []
    for name, deps in LAYERS:
        for d in deps:
            if order.get(d, len(names)) >= order[name]:
                errors.append(f"LAYERS: {name} depends on {d}, which is not below it")
    everything = names + TOP
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            known = {n.split("/")[0] for n in everything}
            for d in dirnames:
                # build/, build-asan/ and any other build directory (.gitignore's /build*/).
                if d not in known and d not in SKIP and not d.startswith((".", "build")):
                    has_code = any(fn.endswith((".cc", ".h")) for _, _, fns in os.walk(os.path.join(root, d)) for fn in fns)
                    if has_code:
                        errors.append(f"{d}/: a folder of code that is not a component in LAYERS")
            dirnames[:] = [d for d in dirnames if d in known]
            continue
        for f in filenames:
            if not f.endswith((".cc", ".h", ".h.in")):
                continue
            rel = os.path.normpath(os.path.join(rel_dir, f))
            owner = component_of(rel, everything)
            if owner is None:
                continue
            # orchestrator/ and models/ hold components in their folders: a new folder there (say
            # orchestrator/x/) would inherit its parent's rights silently. It must be added to LAYERS.
            sub = os.path.dirname(rel)
            first = sub.split("/")[1] if sub.count("/") >= 1 else ""
            if owner in ("orchestrator", "models") and sub != owner and first not in ("internal", "prompts"):
                errors.append(f"{rel}: folder {sub} is not a component in LAYERS")
            is_test = owner in TOP or f.endswith("_test.cc")
            with open(os.path.join(dirpath, f), encoding="utf-8", errors="replace") as fh:
                for lineno, line in enumerate(fh, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    inc = m.group(1)
                    if inc.startswith("."):  # relative: resolve it from the including file
                        inc = os.path.normpath(os.path.join(rel_dir, inc))
                    if inc.endswith(".pb.h") or inc.startswith("swarm/"):
                        target = "proto"  # generated from proto/swarm/ or beside it (swarm/v1/protocol.h)
                    else:
                        target = component_of(inc, names + ["testing"])
                    if target is None:
                        continue  # a header of this folder's own generated files or a third party
                    if "/internal/" in inc and target != owner:
                        errors.append(f"{rel}:{lineno}: includes {inc}, private to {target}")
                        continue
                    if is_test:
                        continue  # a test may include any public header
                    if target not in allowed[owner]:
                        errors.append(f"{rel}:{lineno}: {owner} may not include {inc} ({target} is not below it)")
    for e in errors:
        print(e)
    if errors:
        print(f"{len(errors)} layering violation(s); the rule is in docs/ARCHITECTURE.md")
        return 1
    print(f"layers ok: {len(names)} components")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""--build-cache benchmark (issue 13, item 2): a generated C project whose test command builds it with
make through ccache, N subtasks each changing one of its C files, run once without --build-cache
(every test run compiles every file: the base, a check per patch, each candidate) and once with it
(each test run compiles what differs from what some earlier test run compiled).

Columns:
  build cache   off, or on (a fresh directory, made by the run)
  wall s        `swarm run`, start to exit
  CPU s         the machine's busy CPU during the run (/proc/stat: user, nice, system), so that the
                compilers inside the sandboxes count; run it on an otherwise idle machine
  CPU s/patch   CPU s over landed patches
  merge p50 s   report.json's timing.stages.merge p50: a patch's check and queue (its test runs)
  compiles      with the cache, ccache's cache_miss count: the files compiled in the whole run (without it,
                every test run compiles every file)
  landed        subtasks landed (of N)
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

FUNCS = 60  # functions per file: about 0.1 s of `cc -O2` each file on the machine below


def write_project(repo, files):
    os.makedirs(repo)
    for i in range(files):
        with open(os.path.join(repo, f"m{i:03d}.c"), "w") as f:
            for k in range(FUNCS):
                f.write(f"double f{i}_{k}(double x) {{ double s = 0; for (int j = 0; j < {k + 3}; ++j) "
                        f"s += (x * j + {k}) / (j + 1.5); return s; }}\n")
            f.write(f"double m{i}(double x) {{ return f{i}_0(x) + f{i}_{FUNCS - 1}(x); }}\n")
    with open(os.path.join(repo, "main.c"), "w") as f:
        f.write("".join(f"double m{i}(double);\n" for i in range(files)))
        f.write("int main(void) { double s = 0;\n")
        f.write("".join(f"  s += m{i}(1.0);\n" for i in range(files)))
        f.write("  return s > 0 ? 0 : 1; }\n")
    objs = " ".join(f"m{i:03d}.o" for i in range(files))
    with open(os.path.join(repo, "Makefile"), "w") as f:
        f.write(f"CC ?= cc\nCFLAGS = -O2 -g\nprog: main.o {objs}\n\t$(CC) -o $@ $^\n"
                "%.o: %.c\n\t$(CC) $(CFLAGS) -c $< -o $@\n")
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=bench", "-c", "user.email=b@example.com", "commit", "-qm", "project"]):
        subprocess.run(["git", "-C", repo, *args], check=True, stdout=subprocess.DEVNULL)


def busy_seconds():
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    return (int(fields[0]) + int(fields[1]) + int(fields[2])) / os.sysconf("SC_CLK_TCK")


def run(swarm, repo, work, n, agents, cache):
    plan = os.path.join(work, "plan.json")
    with open(plan, "w") as f:
        json.dump({"subtasks": [{"id": f"t{i:03d}", "title": f"m{i:03d}.c", "instructions": "edit",
                                 "files": [f"m{i:03d}.c"]} for i in range(n)]}, f)
    state = os.path.join(work, "state-" + ("on" if cache else "off"))
    test = 'make -s -j2 CC="ccache cc" prog && ./prog'  # without the cache, ccache's is the run's own $HOME
    cmd = [swarm, "run", "--repo", repo, "--state-dir", state, "--plan", plan, "--agents", str(agents),
           "--agent-cmd", 'echo "double extra_$SWARM_SUBTASK_ID(void) { return 1; }" >> $SWARM_FILES',
           "--test-cmd", test]
    if cache:
        cmd += ["--build-cache", os.path.join(work, "cache")]
    start, busy = time.monotonic(), busy_seconds()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, _ = os.wait4(proc.pid, 0)
    wall, cpu = time.monotonic() - start, busy_seconds() - busy
    err = proc.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f"swarm exited {code}:\n{err}", file=sys.stderr)
    runs = os.path.join(state, "runs")
    run_dir = os.path.join(runs, sorted(os.listdir(runs))[0])
    with open(os.path.join(run_dir, "report.json")) as f:
        report = json.load(f)
    landed = report.get("counts", {}).get("landed", 0)
    merge = report.get("timing", {}).get("stages", {}).get("merge", {}).get("p50_s")
    compiles = "-"
    if cache:
        out = subprocess.run(["ccache", "--print-stats"], env={**os.environ, "CCACHE_DIR": os.path.join(work, "cache", "ccache")},
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("cache_miss\t"):
                compiles = int(line.split("\t")[1])
    return ["on" if cache else "off", f"{wall:.1f}", f"{cpu:.1f}", f"{cpu / max(landed, 1):.2f}",
            "-" if merge is None else f"{merge:.1f}", compiles, f"{landed}/{n}"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--swarm", default="build/bin/swarm")
    p.add_argument("--n", type=int, default=20, help="subtasks, each changing one C file")
    p.add_argument("--files", type=int, default=40, help="C files in the project")
    p.add_argument("--agents", type=int, default=4)
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="swarm-build-cache-bench-")
    try:
        repo = os.path.join(work, "repo")
        write_project(repo, args.files)
        print(f"build cache benchmark: a C project of {args.files} files ({FUNCS} functions each, cc -O2 -g through "
              f"ccache, make -j2), {args.n} subtasks each changing one file, {args.agents} agents, "
              f"{os.cpu_count()} cores\n")
        print("| build cache | wall s | CPU s | CPU s/patch | merge p50 s | compiles | landed |")
        print("|---|---|---|---|---|---|---|")
        for cache in (False, True):
            print("| " + " | ".join(str(c) for c in run(os.path.abspath(args.swarm), repo, work, args.n, args.agents,
                                                         cache)) + " |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

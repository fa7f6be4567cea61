#!/usr/bin/env python3
"""swarm scale benchmark (issue 13): the real binaries, a generated repository, N independent subtasks.

Each N is one run and one table row. The repository has F files (f0000.txt, ...), one commit; subtask i
(id t0000, ...) names file i in a generated plan, so no two subtasks overlap. The test command is `true`.
Each row has its own --state-dir, so the database holds that run alone.

  --backlog        `swarm backlog` instead of `swarm run`: subtask i is issue t0000... (JSON lines), a
                   lane of its own with its own merge queue and branch. Command agents write
                   issue-ID.txt instead of $SWARM_FILES; LLM agents' issues are first planned by the
                   scripted model, one call of D ms each (its reply: one subtask, the issue's file).

  --kind command   each agent runs `sleep L; echo y >> $SWARM_FILES` (`sleep L` with --no-change)
  --kind llm       the built-in LLM agent against the scripted model (--model scripted:FILE): each
                   subtask is one conversation (the gateway sends the subtask id as x-swarm-conversation)
                   of S steps, each answered after D ms plus a seeded random 0..J ms (a per-step
                   delay_ms): S-2 x read_file, edit, submit (S-1 x read_file, submit with --no-change).
                   Steps are used in order across a subtask's attempts, so the sequence is listed
                   --max-attempts times (3 unless --extra-args says so); --max-steps S when S > 40. An
                   attempt after an expired one may start mid-sequence and submit before its edit.

Columns of the main table (times in seconds unless named):
  wall        the swarm process, start to exit (measured here). Bounded below by ideal + start-up
              (base test, hosts) + the landing tail.
  ideal       L for command agents; for LLM agents the longest conversation's scripted delay, S*D
              without jitter: what infinitely fast orchestration would take.
  eff         ideal / wall.
  add/step    added latency per agent step, p50/p99 ms. Command agents (one step per attempt): lease
              to attempt_finished minus L (workspace, sandbox start, patch, store). LLM agents: for
              model call k of an attempt, from the previous call's event (the lease for k=1) to call k's
              event, minus that call's scripted delay (workspace set-up, tool run, the gateway, waiting
              on the model concurrency limit, store writes). Bounded by the rate limiter and the cores.
  expired     lease_expired events (should be 0: liveness must not depend on load).
  refused     result_refused events (results of expired leases; should be 0).
  dup         attempts beyond the first per subtask (subtask_leased events): work done twice.
  lost        subtasks that did not end as expected (LANDED; NO_CHANGE with --no-change).
  CPU s       user+sys of swarm and every descendant it (transitively) reaped: coordinator (with the
              in-process scripted model server), hosts, sandboxes, git (os.wait4's rusage).
  CPU ms/patch  CPU s per landed patch (per finished subtask with --no-change). Issue target: 30 ms.
  RSS/agent   peak of the summed RSS of the coordinator and the hosts (sampled from /proc every
              --sample-ms; host pids from agent_registered), over N, KiB. Target: 256 KiB for LLM agents.
  DB KiB      swarm.db + swarm.db-wal at exit (peak during the run in the second table).
  DB B/call   that, per model call (LLM only; includes the run's fixed records, about 80 KiB, so it
              means something at large N). Issue target: 3 KB in the 300-agent row.
  land/s      patches landed after the last attempt finished, per second of that tail (the serial
              landing path once agents are done); '-' when nothing was left to land.

The second table gives what bounds the figures: hosts, timeline marks (s from start: first and last
lease, last attempt_finished, last patch_submitted, last landed), model calls, gateway latency beyond
the scripted delay (p50/p99 ms; mostly the limiter's queue), the time from an attempt's last model
call to its attempt_finished (p50 ms: the submit and the patch; not in add/step), the mean stored
model_calls row (call, request and reply blobs: grows with an attempt's transcript), CPU per 1,000
steps (model calls, or attempts for command agents), the largest single process's ru_maxrss, the
peak database size and the coordinator's peak thread count (sampled from /proc/PID/status).

Event names used (swarm run --json: proto3 JSON, snake_case fields, int64 as strings, time_unix_ms):
agent_registered, subtask_leased, model_called, attempt_finished, patch_submitted, landed,
subtask_finished, lease_expired, result_refused.

By default XDG_CONFIG_HOME points at an empty directory, so no models.toml changes the default
configuration; --model-concurrency C writes one giving the scripted provider C requests in flight.
Run it under `nice -n 19` on a shared machine; --verify exits 1 when any subtask was lost.
"""
import argparse
import contextlib
import datetime
import json
import os
import platform
import random
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

def pct(values, p):
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))]


def fmt(v, digits=1):
    return "-" if v is None else str(v) if isinstance(v, int) else f"{v:.{digits}f}"


def md_row(cells):
    print("| " + " | ".join(str(c) for c in cells) + " |")


def git(repo, *args):
    subprocess.run(["git", "-C", repo, *args], check=True, stdout=subprocess.DEVNULL)


def make_repo(path, files):
    os.makedirs(path)
    git(path, "init", "-q")
    for i in range(files):
        with open(os.path.join(path, file_name(i, files)), "w") as f:
            f.write(f"file {i}\n")
    git(path, "add", "-A")
    git(path, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", "generated")


def file_name(i, files):
    return f"f{i:0{max(4, len(str(files - 1)))}d}.txt"


def sub_id(i, n):
    return f"t{i:0{max(4, len(str(n - 1)))}d}"


def write_plan(path, n, files):
    subtasks = [{"id": sub_id(i, n), "title": f"Change {file_name(i, files)}",
                 "instructions": f"Append a line to {file_name(i, files)}.", "files": [file_name(i, files)]}
                for i in range(n)]
    with open(path, "w") as f:
        json.dump({"subtasks": subtasks}, f)


def write_script(path, n, files, steps, delay_ms, jitter_ms, change, max_attempts, backlog=False):
    """One conversation per subtask; returns {subtask: [scripted delay of call 1, 2, ...]}."""
    conversations, delays = {}, {}
    for i in range(n):
        fname = file_name(i, files)
        if backlog:  # the issue is planned first: one subtask, which keeps the issue's id
            plan = {"subtasks": [{"id": "fix", "title": f"Change {fname}", "instructions": f"Append a line to {fname}.",
                                  "files": [fname]}]}
            conversations["planner:" + sub_id(i, n)] = [
                {"tool_calls": [{"name": "submit_plan", "arguments": plan}], "delay_ms": delay_ms}]
            delays["planner:" + sub_id(i, n)] = [delay_ms]
        read = {"tool_calls": [{"name": "read_file", "arguments": {"path": fname}}]}
        calls = [read] * (steps - 2 if change else steps - 1)
        if change:
            calls.append({"tool_calls": [{"name": "edit", "arguments":
                                          {"path": fname, "old": f"file {i}\n", "new": f"file {i}\ny\n"}}]})
        calls.append({"tool_calls": [{"name": "submit", "arguments": {"summary": "done"}}]})
        rng = random.Random(i)
        seq = []
        for _ in range(max_attempts):
            for c in calls:
                seq.append(dict(c, delay_ms=delay_ms + (rng.randint(0, jitter_ms) if jitter_ms else 0)))
        conversations[sub_id(i, n)] = seq
        delays[sub_id(i, n)] = [s["delay_ms"] for s in seq]
    with open(path, "w") as f:
        json.dump({"conversations": conversations}, f)
    return delays


class Sampler(threading.Thread):
    """Every interval: summed RSS of the coordinator and its hosts, and the database's size."""

    def __init__(self, pid, host_pids, db, interval):
        super().__init__(daemon=True)
        self.pid, self.host_pids, self.db, self.interval = pid, host_pids, db, interval
        self.peak_rss_kib = self.peak_db = self.peak_threads = 0
        self.stop = threading.Event()
        self.page_kib = os.sysconf("SC_PAGE_SIZE") // 1024

    def run(self):
        while not self.stop.wait(self.interval):
            if not self.host_pids:  # no events read as it runs (swarm backlog): its children are the hosts
                self.children = self.children_of(self.pid)
            total = 0
            for pid in [self.pid, *(list(self.host_pids) or getattr(self, "children", []))]:
                try:
                    with open(f"/proc/{pid}/statm") as f:
                        total += int(f.read().split()[1]) * self.page_kib
                except (OSError, ValueError, IndexError):
                    pass
            self.peak_rss_kib = max(self.peak_rss_kib, total)
            with contextlib.suppress(OSError, ValueError):
                with open(f"/proc/{self.pid}/status") as f:
                    threads = next(line for line in f if line.startswith("Threads:"))
                self.peak_threads = max(self.peak_threads, int(threads.split()[1]))
            self.peak_db = max(self.peak_db, db_bytes(self.db))


    @staticmethod
    def children_of(parent):
        kids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    with open(f"/proc/{entry}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == parent:
                            kids.append(int(entry))
        return kids


def db_bytes(db):
    """swarm.db and its write-ahead log (the log may vanish at a checkpoint: then it counts 0)."""
    sizes = []
    for path in (db, db + "-wal"):
        try:
            sizes.append(os.stat(path).st_size)
        except OSError:
            pass
    return sum(sizes)


def stored_per_call(db):
    """Mean bytes of a model_calls row's call, request and response blobs (None without calls)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            return con.execute("SELECT AVG(LENGTH(call) + LENGTH(request) + LENGTH(response)) "
                               "FROM model_calls").fetchone()[0]
    except sqlite3.Error:
        return None


def run_row(args, n, repo, work):
    """Runs swarm once with n subtasks and agents; returns the row's figures."""
    row_dir = os.path.join(work, f"n{n}")
    os.makedirs(row_dir)
    state, plan = os.path.join(row_dir, "state"), os.path.join(row_dir, "plan.json")
    if args.backlog:
        issues = os.path.join(row_dir, "issues.jsonl")
        with open(issues, "w") as f:
            for i in range(n):
                f.write(json.dumps({"id": sub_id(i, n), "title": f"Change {file_name(i, args.files)}",
                                    "body": f"Append a line to {file_name(i, args.files)}."}) + "\n")
        # `swarm backlog` prints no events: they are read with `swarm watch --json` once it has ended.
        cmd = [args.swarm, "backlog", "--repo", repo, "--state-dir", state, "--issues", issues, "--agents", str(n),
               "--test-cmd", "true", "--out", os.path.join(row_dir, "out")]
    else:
        write_plan(plan, n, args.files)
        cmd = [args.swarm, "run", "--repo", repo, "--state-dir", state, "--plan", plan, "--agents", str(n),
               "--test-cmd", "true", "--json"]
    delays, extra_parser = {}, argparse.ArgumentParser(add_help=False)
    extra_parser.add_argument("--max-attempts", type=int, default=3)  # swarm run's default
    extra_parser.add_argument("--max-steps", type=int)
    extra = extra_parser.parse_known_args(shlex.split(args.extra_args))[0]
    if args.kind == "command":
        target = "issue-$SWARM_SUBTASK_ID.txt" if args.backlog else "$SWARM_FILES"
        cmd += ["--agent-cmd", f"sleep {args.sleep}" + (f"; echo y >> {target}" if args.change else "")]
        ideal = args.sleep
    else:
        script = os.path.join(row_dir, "script.json")
        delays = write_script(script, n, args.files, args.steps, args.delay_ms, args.jitter_ms, args.change,
                              extra.max_attempts, args.backlog)
        cmd += ["--model", "scripted:" + script]
        if args.steps > 40 and not extra.max_steps:  # swarm run's default --max-steps is 40
            cmd += ["--max-steps", str(args.steps)]
        ideal = max(sum(d[:args.steps]) for k, d in delays.items() if not k.startswith("planner:")) / 1000.0
        if args.backlog:
            ideal += args.delay_ms / 1000.0  # each issue's planning call comes first
    cmd += shlex.split(args.extra_args)
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(work, "config"))

    events, host_pids = [], []  # a list: the sampler copies it while the reader appends
    err_path = os.path.join(row_dir, "stderr.txt")
    start_unix = time.time()
    t0 = time.monotonic()
    with open(err_path, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, env=env)

    def read():
        for line in proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("live"):  # an agent's activity: not an event of the log
                continue
            events.append(ev)
            if "agent_registered" in ev:
                host_pids.append(int(ev["agent_registered"].get("pid", 0)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sampler = Sampler(proc.pid, host_pids, os.path.join(state, "swarm.db"), args.sample_ms / 1000.0)
    sampler.start()
    try:
        _, status, ru = os.wait4(proc.pid, 0)
    except KeyboardInterrupt:  # swarm got the SIGINT too: let it cancel before its directory goes
        proc.wait()
        raise
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        with open(err_path) as f:
            sys.stderr.write(f"N={n}: swarm exited {proc.returncode}; its stderr ends:\n{f.read()[-2000:]}\n")

    if args.backlog:
        runs = os.listdir(os.path.join(state, "runs")) if os.path.isdir(os.path.join(state, "runs")) else []
        if len(runs) == 1:
            watched = subprocess.run([args.swarm, "watch", runs[0], "--json", "--state-dir", state],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
            for line in watched.stdout.splitlines():
                with contextlib.suppress(ValueError):
                    events.append(json.loads(line))
    r = analyse(events, n, args, delays, start_unix)
    r.update(n=n, wall=wall, ideal=ideal, eff=ideal / wall, exit=proc.returncode,
             cpu=ru.ru_utime + ru.ru_stime, maxrss_mib=ru.ru_maxrss / 1024.0,
             rss_per_agent=sampler.peak_rss_kib / n, db=db_bytes(os.path.join(state, "swarm.db")),
             peak_db=max(sampler.peak_db, db_bytes(os.path.join(state, "swarm.db"))),
             peak_threads=sampler.peak_threads)
    done = r["landed"] if args.change else r["finished_ok"]
    r["cpu_ms_patch"] = r["cpu"] * 1000 / done if done else None
    r["db_per_call"] = r["db"] / r["calls"] if r["calls"] else None
    r["row_per_call"] = stored_per_call(os.path.join(state, "swarm.db")) if r["calls"] else None
    r["cpu_per_1k_steps"] = r["cpu"] * 1000 / r["steps"] if r["steps"] else None
    return r


def analyse(events, n, args, delays, start_unix):
    def t(ev):  # seconds since the process started
        return int(ev["time_unix_ms"]) / 1000.0 - start_unix

    leased, attempts, finished_at, marks = {}, {}, {}, {}
    added, gateway, closing, final, calls_seen = [], [], [], {}, {}
    expired = refused = landed = calls = hosts = 0
    land_times, attempt_ends, submit_times = [], [], []
    for ev in events:
        if "agent_registered" in ev:
            hosts += 1
        elif "subtask_leased" in ev:
            e = ev["subtask_leased"]
            key = (e["subtask_id"], int(e.get("attempt", 0)))
            leased[key] = t(ev)
            attempts[e["subtask_id"]] = attempts.get(e["subtask_id"], 0) + 1
            marks.setdefault("first lease", t(ev))
            marks["last lease"] = t(ev)
        elif "model_called" in ev:
            c = ev["model_called"]["call"]
            calls += 1
            sid, key = c.get("subtask_id", ""), (c.get("subtask_id", ""), int(c.get("attempt", 0)))
            k = calls_seen.get(sid, 0)  # the conversation's k-th call: its scripted delay
            calls_seen[sid] = k + 1
            d = delays.get(sid, [])
            delay = d[k] / 1000.0 if k < len(d) else 0.0
            prev = finished_at.get(key, leased.get(key))
            if prev is not None:
                added.append((t(ev) - prev - delay) * 1000)
            finished_at[key] = t(ev)
            gateway.append(int(c.get("latency_ms", 0)) - delay * 1000)
        elif "attempt_finished" in ev:
            e = ev["attempt_finished"]
            key = (e["subtask_id"], int(e.get("attempt", 0)))
            attempt_ends.append(t(ev))
            if args.kind == "command" and key in leased and e.get("outcome") in ("patch", "no_change"):
                added.append((t(ev) - leased[key] - args.sleep) * 1000)
            elif key in finished_at:  # LLM: from the last model call to the attempt's end (the patch)
                closing.append((t(ev) - finished_at[key]) * 1000)
        elif "patch_submitted" in ev:
            submit_times.append(t(ev))
        elif "landed" in ev:
            landed += len(ev["landed"].get("subtask_ids", []))
            land_times.extend([t(ev)] * len(ev["landed"].get("subtask_ids", [])))
        elif "subtask_finished" in ev:
            final[ev["subtask_finished"]["subtask_id"]] = ev["subtask_finished"].get("state", "")
        elif "lease_expired" in ev:
            expired += 1
        elif "result_refused" in ev:
            refused += 1
    want = "LANDED" if args.change else "NO_CHANGE"
    lost = sum(1 for i in range(n) if final.get(sub_id(i, n)) != want)
    if attempt_ends:
        marks["last attempt"] = max(attempt_ends)
    if submit_times:
        marks["last submit"] = max(submit_times)
    if land_times:
        marks["last landed"] = max(land_times)
    rate = None
    if attempt_ends and land_times:
        after = [x for x in land_times if x > max(attempt_ends)]
        tail = max(land_times) - max(attempt_ends)
        rate = len(after) / tail if after and tail > 0 else None
    return dict(added_p50=pct(added, 50), added_p99=pct(added, 99), expired=expired, refused=refused,
                dup=sum(max(0, a - 1) for a in attempts.values()), lost=lost, landed=landed,
                finished_ok=n - lost, calls=calls, land_rate=rate, hosts=hosts, marks=marks,
                gw_p50=pct(gateway, 50), gw_p99=pct(gateway, 99), close_p50=pct(closing, 50),
                steps=calls if args.kind == "llm" else sum(attempts.values()))


def first_field(path, prefix, sep):
    """The value of the first line of path starting with prefix, '?' when there is none."""
    try:
        with open(path) as f:
            return next((l.split(sep, 1)[1].strip().strip('"') for l in f if l.startswith(prefix)), "?")
    except OSError:
        return "?"


def machine():
    mem = first_field("/proc/meminfo", "MemTotal:", ":").split()[0]
    mem = f"{int(mem) / 1048576:.1f} GiB" if mem.isdigit() else "?"
    return (f"{len(os.sched_getaffinity(0))} cores ({first_field('/proc/cpuinfo', 'model name', ':')}), {mem}, "
            f"Linux {platform.release()}, {first_field('/etc/os-release', 'PRETTY_NAME', '=')}; "
            f"load {os.getloadavg()[0]:.2f} at start")


def swarm_version(swarm):
    where = os.path.dirname(os.path.realpath(swarm))
    try:  # read-only: rev-parse, never status (which may take the index lock)
        rev = subprocess.run(["git", "-C", where, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    built = datetime.datetime.fromtimestamp(os.stat(swarm).st_mtime).strftime("%Y-%m-%d %H:%M")
    return f"{swarm} (source at {rev or '?'}, binary built {built})"


def print_tables(args, rows):
    llm = args.kind == "llm"
    head = ["N", "wall s", "ideal s", "eff", "add/step p50 ms", "p99 ms", "expired", "refused", "dup", "lost",
            "CPU s", "CPU ms/patch", "RSS/agent KiB", "DB KiB", "DB B/call", "land/s"]
    md_row(head)
    print("|" + "---|" * len(head))
    for r in rows:
        md_row([r["n"], fmt(r["wall"]), fmt(r["ideal"], 2), fmt(r["eff"], 2), fmt(r["added_p50"], 0),
                 fmt(r["added_p99"], 0), r["expired"], r["refused"], r["dup"], r["lost"], fmt(r["cpu"], 2),
                 fmt(r["cpu_ms_patch"], 0), fmt(r["rss_per_agent"], 0), fmt(r["db"] / 1024.0, 0),
                fmt(r["db_per_call"], 0) if llm else "-", fmt(r["land_rate"])])
    print()
    marks = ["first lease", "last lease", "last attempt", "last submit", "last landed"]
    head = ["N", "exit", "hosts"] + [m + " s" for m in marks] + [
        "model calls", "gateway beyond delay p50/p99 ms", "last call to attempt end p50 ms", "model_calls row B",
        "CPU s/1k steps", "max RSS 1 proc MiB", "peak DB KiB", "peak threads"]
    md_row(head)
    print("|" + "---|" * len(head))
    for r in rows:
        md_row([r["n"], r["exit"], r["hosts"]] + [fmt(r["marks"].get(m)) for m in marks] + [
            r["calls"] if llm else "-", f"{fmt(r['gw_p50'], 0)} / {fmt(r['gw_p99'], 0)}" if llm else "-",
            fmt(r["close_p50"], 0), fmt(r["row_per_call"], 0), fmt(r["cpu_per_1k_steps"], 1),
            fmt(r["maxrss_mib"], 1), fmt(r["peak_db"] / 1024.0, 0), r["peak_threads"]])
    print()
    print("Columns: see the docstring of bench/swarm_bench.py. Times are from the swarm process's start; "
          "CPU covers the coordinator, hosts, sandboxes and git; RSS/agent is (coordinator + hosts) / N.")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--swarm", default="build/bin/swarm", help="the swarm binary (swarm-agent beside it)")
    p.add_argument("--kind", choices=["command", "llm"], required=True)
    p.add_argument("--n", default="1,10,100", help="comma-separated agent counts, one row each")
    p.add_argument("--files", type=int, help="files in the generated repository (default: max(50, largest N))")
    p.add_argument("--sleep", type=float, default=5.0, help="command agents: seconds each sleeps (L)")
    p.add_argument("--steps", type=int, default=5, help="LLM agents: model calls per attempt (S)")
    p.add_argument("--delay-ms", type=int, default=1000, help="LLM agents: the model's delay per call (D)")
    p.add_argument("--jitter-ms", type=int, default=0, help="LLM agents: plus a random 0..J ms per call")
    p.add_argument("--change", dest="change", action="store_true", default=True, help="agents change their file")
    p.add_argument("--no-change", dest="change", action="store_false", help="agents change nothing")
    p.add_argument("--model-concurrency", type=int, help="LLM agents: the scripted provider's requests in "
                   "flight (a models.toml); default: swarm's default configuration")
    p.add_argument("--sample-ms", type=int, default=200, help="RSS and database sampling interval")
    p.add_argument("--work-dir", help="where the temporary directory goes (default: $TMPDIR or /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the repository, plans, scripts and state")
    p.add_argument("--extra-args", default="", help="more `swarm run` arguments, shell-quoted")
    p.add_argument("--verify", action="store_true", help="exit 1 when a subtask was lost or swarm failed")
    p.add_argument("--backlog", action="store_true", help="`swarm backlog` of N issues (a lane each) instead of "
                   "`swarm run` of N subtasks; LLM agents' issues are planned first")
    args = p.parse_args()
    ns = [int(x) for x in args.n.split(",") if x.strip()]
    if not ns or min(ns) < 1:
        p.error("--n needs positive counts")
    args.files = args.files or max(50, max(ns))
    if max(ns) > args.files:
        p.error(f"N = {max(ns)} needs at least as many files (--files {args.files}): one file per subtask")
    if args.kind == "llm" and args.steps < (2 if args.change else 1):
        p.error("--steps must be at least 2 to edit and submit (1 with --no-change)")
    args.swarm = os.path.abspath(args.swarm)

    work = tempfile.mkdtemp(prefix="swarm-bench-", dir=args.work_dir)
    try:
        if args.model_concurrency:
            os.makedirs(os.path.join(work, "config", "swarm"))
            with open(os.path.join(work, "config", "swarm", "models.toml"), "w") as f:
                f.write(f"[providers.scripted]\nconcurrency = {args.model_concurrency}\n")
        repo = os.path.join(work, "repo")
        make_repo(repo, args.files)
        print("# swarm scale benchmark\n")
        print("Command: `python3 " + " ".join(shlex.quote(a) for a in sys.argv) + "`  ")
        print("Swarm: " + swarm_version(args.swarm) + "  ")
        print("Machine: " + machine() + "  ")
        print("Date: " + datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z") + "  ")
        if args.kind == "command":
            what = f"command agents `sleep {args.sleep:g}" + ("; echo y >> $SWARM_FILES`" if args.change else "`")
        else:
            what = (f"LLM agents, scripted model: S = {args.steps} calls of D = {args.delay_ms} ms"
                    f" + 0..{args.jitter_ms} ms, " + ("edit then submit" if args.change else "read and submit")
                    + ", model concurrency " + (str(args.model_concurrency) if args.model_concurrency
                                                else "by default"))
        if args.backlog:
            what += "; `swarm backlog`: one issue (lane) per subtask" + (", each planned first" if args.kind == "llm"
                                                                          else "")
        print(f"Workload: {what}; {args.files}-file repository; one file per subtask; test `true`" +
              (f"; extra `{args.extra_args}`" if args.extra_args else "") + "\n", flush=True)
        rows = []
        for n in ns:
            r = run_row(args, n, repo, work)
            sys.stdout.flush()
            sys.stderr.write(f"N={n}: {r['wall']:.1f} s, {r['landed']} landed, {r['lost']} lost\n")
            rows.append(r)
        print_tables(args, rows)
        if args.keep:
            print(f"\nKept: {work}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.verify and any(r["lost"] or r["exit"] != 0 for r in rows):
        sys.stderr.write("verify: some subtask did not end as expected, or swarm failed\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

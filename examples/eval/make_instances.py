#!/usr/bin/env python3
"""Builds examples/eval's repositories and its SWE-bench instances in OUT.

    examples/eval/make_instances.py OUT
    swarm eval --instances OUT/instances.jsonl --repos-dir OUT/repos --spec examples/eval/spec.toml --model gold

OUT/repos/acme/<name> is a git repository of repos/<name> (one commit, the base of its instances, made
with a fixed author and date, so its id is the same on every machine). Each instances/<id>/ holds
instance.json (the fields a dataset has besides the patches and the base), fix/ (the files the fix
changes, whole) and tests/ (the test files, whole); the patches are their diffs against the base.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1",
           GIT_AUTHOR_NAME="acme", GIT_AUTHOR_EMAIL="dev@acme.example", GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
           GIT_COMMITTER_NAME="acme", GIT_COMMITTER_EMAIL="dev@acme.example",
           GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")


def git(cwd, *args):
    return subprocess.run(["git", "-c", "core.autocrlf=false", "-c", "diff.noprefix=false", *args], cwd=cwd,
                          env=ENV, check=True, capture_output=True, text=True).stdout


def make_repo(name, out):
    repo = os.path.join(out, "repos", "acme", name)
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(os.path.join(HERE, "repos", name), repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "acme/" + name)
    return repo, git(repo, "rev-parse", "HEAD").strip()


def diff_of(repo, base, overlay):
    """The diff that makes `overlay`'s files (whole) out of the base's."""
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "w")
        git(tmp, "clone", "-q", repo, work)
        git(work, "checkout", "-q", "--detach", base)
        shutil.copytree(overlay, work, dirs_exist_ok=True)
        git(work, "add", "-A")
        return git(work, "diff", "--cached", "--no-color", "--no-ext-diff", "--binary")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_instances.py OUT")
    out = os.path.abspath(sys.argv[1])
    bases = {}
    for name in sorted(os.listdir(os.path.join(HERE, "repos"))):
        bases["acme/" + name] = make_repo(name, out)
    lines = []
    for instance_id in sorted(os.listdir(os.path.join(HERE, "instances"))):
        d = os.path.join(HERE, "instances", instance_id)
        with open(os.path.join(d, "instance.json")) as f:
            meta = json.load(f)
        repo, base = bases[meta["repo"]]
        instance = {"instance_id": instance_id, "repo": meta["repo"], "base_commit": base,
                    "problem_statement": meta["problem_statement"],
                    "patch": diff_of(repo, base, os.path.join(d, "fix")),
                    "test_patch": diff_of(repo, base, os.path.join(d, "tests")),
                    # As the Hugging Face exports hold them: JSON strings.
                    "FAIL_TO_PASS": json.dumps(meta["FAIL_TO_PASS"]),
                    "PASS_TO_PASS": json.dumps(meta["PASS_TO_PASS"]),
                    "version": meta["version"]}
        lines.append(json.dumps(instance) + "\n")
    with open(os.path.join(out, "instances.jsonl"), "w") as f:
        f.writelines(lines)
    print(f"{len(lines)} instances in {out}/instances.jsonl, repositories in {out}/repos")


if __name__ == "__main__":
    main()

#!/bin/sh
# The demo swarm on the bundled example (examples/demo/geometry, a small C library):
#  1. a cross-file rename (compute_area -> shape_area) cut into 4 shards that only build together,
#     so they land as one atomic group after `make test` passed on the combined tree;
#  2. a plan of 5 subtasks (4 independent, 1 depending on them) started from the first run's branch;
#  3. the built-in LLM agents (--model, no --agent-cmd): each reads the repository, writes its change,
#     runs the tests on a copy and submits, by tool calls; offline, the model is the scripted model
#     server (--model scripted:FILE, examples/demo/llm-script.json), under a budget; `swarm show` then
#     prints tokens and cost per subtask;
#  4. the same subtasks done by a script of your own (examples/demo/model_agent.py) that asks the
#     run's model through the endpoint swarm gives every command agent.
# Each run leaves the example repository's own branch and files untouched and adds a swarm/<run-id>
# branch. Everything goes to a fresh directory under $TMPDIR (else /tmp), printed at the end.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARM_BUILD_DIR:-$root/build}
swarm="$build/bin/swarm"
[ -x "$swarm" ] || { echo "demo: $swarm is not built; run scripts/build.sh" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/swarm-demo.XXXXXX")
repo="$work/geometry"
cp -r "$root/examples/demo/geometry" "$repo"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=demo -c user.email=demo@example.com commit -qm "geometry: initial version"

echo "== run 1: rename compute_area -> shape_area in 4 shards (one atomic group)"
"$swarm" run --repo "$repo" --state-dir "$work/state" --agents 4 \
  --shard '*.[ch]' --parts 4 \
  --agent-cmd 'sed -i "s/\bcompute_area\b/shape_area/g" $SWARM_FILES' \
  --test-cmd 'make -s test'
first=$(git -C "$repo" for-each-ref --format='%(refname:short)' refs/heads/swarm/ | head -n 1)

echo
echo "== run 2: a plan of 5 subtasks, starting from $first"
cp "$root/examples/demo/document.sh" "$work/document.sh"
"$swarm" run --repo "$repo" --state-dir "$work/state" --agents 4 --base "$first" \
  --plan "$root/examples/demo/plan.json" \
  --sandbox-ro-bind "$work/document.sh" --agent-cmd "$work/document.sh" \
  --test-cmd 'make -s test'

second=$(git -C "$repo" for-each-ref --format='%(refname:short)' refs/heads/swarm/ | grep -vx "$first" | head -n 1)

echo
echo "== run 3: LLM agents (the scripted model, offline), starting from $second"
"$swarm" run --repo "$repo" --state-dir "$work/state" --agents 2 --base "$second" \
  --plan "$root/examples/demo/model-plan.json" \
  --model "scripted:$root/examples/demo/llm-script.json" --budget-usd 0.50 \
  --test-cmd 'make -s test'
third=$(ls -t "$work/state/runs" | head -n 1)
"$swarm" show "$third" --state-dir "$work/state" | grep -E '^(run|model|[a-z-]+  )|model:'

echo
echo "== run 4: the same subtasks by a script of your own asking the model (examples/demo/model_agent.py)"
cp "$root/examples/demo/model_agent.py" "$work/model_agent.py"
"$swarm" run --repo "$repo" --state-dir "$work/state" --agents 2 --base "$second" \
  --plan "$root/examples/demo/model-plan.json" \
  --model "scripted:$root/examples/demo/model-script.json" --budget-usd 0.50 \
  --sandbox-ro-bind "$work/model_agent.py" --agent-cmd "python3 $work/model_agent.py" \
  --test-cmd 'make -s test'

echo
echo "== the example repository afterwards: main is untouched, each run added a branch"
git -C "$repo" log --oneline --graph --all
echo
echo "demo state and logs: $work/state"

#!/bin/sh
# The demo's plan agent: a tiny "codemod" that documents the files of its subtask.
# It runs in its workspace, inside the sandbox, with SWARM_SUBTASK_ID and SWARM_FILES set by swarm.
set -eu
for f in $SWARM_FILES; do
  case "$f" in
    README.md) printf '\n## Area functions\n\ncircle_area, square_area, rectangle_area, triangle_area: documented in src/.\n' >> "$f" ;;
    *) fn=$(basename "$f" .c)_area
       { printf '/* %s: the area of one shape (documented by swarm subtask %s). */\n' "$fn" "$SWARM_SUBTASK_ID"; cat "$f"; } > "$f.new"
       mv "$f.new" "$f" ;;
  esac
done

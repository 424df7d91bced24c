#!/usr/bin/env bash
# Review what this branch does to the synthesized Terraform: synth the merge base of
# HEAD with the base ref (in a throwaway git worktree) and the working tree, then
# print tools/review.py's Markdown diff + topology on stdout.
#   Base ref: $REVIEW_BASE, else origin/main if it exists, else main.
#   Python:   ${PYTHON:-.venv/bin/python}; DEPLOYMENT_CONFIG is passed through as is
#             (a relative path resolves inside each checkout, so each side uses its own config).
#   Extra arguments go to tools/review.py (e.g. --output review.md).
#   REVIEW_OUTDIRS=dir keeps both synths as dir/old and dir/new (CI plans and applies them).
set -euo pipefail

root=$(git rev-parse --show-toplevel)
cd "$root"
py=${PYTHON:-.venv/bin/python}
[[ $py == */* && $py != /* ]] && py="$root/$py"   # the worktree is elsewhere: make it absolute

if [[ -n ${REVIEW_BASE:-} ]]; then base=$REVIEW_BASE
elif git rev-parse -q --verify origin/main >/dev/null; then base=origin/main
else base=main; fi
mb=$(git merge-base HEAD "$base" 2>/dev/null) ||
  { echo "error: $base: no merge base with HEAD (not fetched? use fetch-depth: 0)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/base" >/dev/null 2>&1 || true; git worktree prune; rm -rf "$tmp"' EXIT
git worktree add --quiet --detach "$tmp/base" "$mb"
out=$tmp
if [[ -n ${REVIEW_OUTDIRS:-} ]]; then
  mkdir -p "$REVIEW_OUTDIRS" && out=$(cd "$REVIEW_OUTDIRS" && pwd)
  rm -rf "$out/old" "$out/new"
fi

# Synth logs go to stderr: stdout is the review only (CI redirects it to review.md).
synth() { (cd "$1" && CDKTF_OUTDIR="$2" "$py" main.py) >&2; }
if [[ -f $tmp/base/main.py ]]; then
  synth "$tmp/base" "$out/old"
else  # the base predates the app: everything is new
  mkdir -p "$out/old" && echo '{"version": "", "stacks": {}}' >"$out/old/manifest.json"
fi
synth "$root" "$out/new"

"$py" "$root/tools/review.py" "$out/old" "$out/new" \
  --old-label "merge base $(git rev-parse --short "$mb") ($base)" --new-label "working tree" "$@"

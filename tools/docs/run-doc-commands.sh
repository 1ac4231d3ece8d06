#!/usr/bin/env bash
# Runs the shell commands the docs tell a reader to run: every fenced block opened with ```bash run, in the order of
# each file, in a scratch copy of the repository (its tracked and untracked files, as the working tree has them), one
# copy per doc file, as a reader following that doc would. Each block runs with `bash -euo pipefail`; a block that
# fails is printed with its doc, line and the end of its output. Blocks fenced as plain ```bash are transcripts or
# commands that cannot run here (each says why). Usage: tools/docs/run-doc-commands.sh DOC...
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ran=0
failed=0
for doc in "$@"; do
  blocks=$(mktemp -d)
  # Each block into a file of its own, named by its opening line.
  awk -v out="$blocks" '
    /^```bash run[[:space:]]*$/ { n++; file = sprintf("%s/%03d-%d", out, n, NR); next }
    file && /^```[[:space:]]*$/ { close(file); file = ""; next }
    file { print > file }
  ' "$root/$doc"
  if ! compgen -G "$blocks/*" > /dev/null; then
    rm -rf "$blocks"
    continue
  fi
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/doc-commands.XXXXXX")
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [[ -e "$f" ]] && cp --parents -P "$f" "$scratch/"
  done)
  for block in "$blocks"/*; do
    line=${block##*-}
    log=$(mktemp)
    ran=$((ran + 1))
    if (cd "$scratch" && bash -euo pipefail "$block") > "$log" 2>&1; then
      echo "run-doc-commands: $doc:$line ok"
    else
      failed=$((failed + 1))
      echo "run-doc-commands: $doc:$line FAILED; the block:" >&2
      sed 's/^/  | /' "$block" >&2
      echo "  its output, last 40 lines:" >&2
      tail -n 40 "$log" | sed 's/^/  > /' >&2
    fi
    rm -f "$log"
  done
  rm -rf "$blocks" "$scratch"
done
echo "run-doc-commands: $ran blocks run, $failed failed"
((ran > 0 && failed == 0))

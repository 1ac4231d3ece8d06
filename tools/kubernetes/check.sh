#!/usr/bin/env bash
# Offline checks of deploy/kubernetes/ (no cluster needed), one per subcommand; ./test.sh runs each as a suite.
#   check.sh generated       the committed generated files equal what their sources generate now
#   check.sh schemas         every overlay renders (kubectl kustomize) and every object validates: the JSON schemas
#                            (validate.mjs: types, required fields) and the typed models (strict.cs: unknown fields)
#   check.sh rules           each overlay's PrometheusRule passes prometheus/*.test.yml rendered with its selector
#   check.sh bad-manifests   a misspelled field and a missing required field each fail the schema check
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
overlays=$(cd "$root/deploy/kubernetes/overlays" && ls)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/install.sh"

render() { # overlay -> file
  kubectl kustomize "$root/deploy/kubernetes/overlays/$1" > "$work/$1.yaml"
  echo "$work/$1.yaml"
}

validate() { # files...
  node "$here/validate.mjs" "$@" && dotnet run --file "$here/strict.cs" -- "$@"
}

case "${1:-}" in
  generated)
    node "$here/generate.mjs" --check
    ;;
  schemas)
    files=()
    for overlay in $overlays; do files+=("$(render "$overlay")"); done
    validate "${files[@]}"
    ;;
  rules)
    for overlay in $overlays; do
      selector=$(node --input-type=module -e "import { overlaySelector } from '$here/generate.mjs'; console.log(overlaySelector('$overlay'))")
      mkdir -p "$work/$overlay-rules"
      # The rules as the cluster gets them: the PrometheusRule's spec from the rendered overlay, not the source file.
      (cd "$here" && node --input-type=module -e "
        import { readFileSync } from 'node:fs'; import { parseAllDocuments, stringify } from 'yaml';
        const rule = parseAllDocuments(readFileSync('$(render "$overlay")', 'utf8')).map((d) => d.toJS()).find((o) => o?.kind === 'PrometheusRule');
        if (!rule) { console.error('overlay $overlay renders no PrometheusRule'); process.exit(1); }
        process.stdout.write(stringify(rule.spec, { lineWidth: 0 }));") > "$work/$overlay-rules/alerts.yml"
      "$root/tools/rules/render-rule-tests.sh" --selector "$selector" "$work/$overlay-rules"
      tests=("$work/$overlay-rules"/*.test.yml)
      echo "overlay $overlay, selector $selector:"
      promtool check rules "$work/$overlay-rules/alerts.yml"
      promtool test rules "${tests[@]}"
    done
    ;;
  bad-manifests)
    good=$(render dev)
    validate "$good" > /dev/null || { echo "the dev overlay itself does not validate" >&2; exit 1; }
    # Each mutant must fail, and name what is wrong.
    sed -E 's/^(        )image: /\1imagee: /' "$good" > "$work/misspelled.yaml"
    sed -E '/^        name: api$/d' "$good" > "$work/missing.yaml"
    for mutant in "misspelled:imagee" "missing:must have required property name"; do
      file="$work/${mutant%%:*}.yaml" expected=${mutant#*:}
      cmp -s "$good" "$file" && { echo "the ${mutant%%:*} mutant changed nothing: the rendered Deployment moved" >&2; exit 1; }
      if output=$(validate "$file" 2>&1); then
        echo "a manifest with a ${mutant%%:*} field passed the validation" >&2; exit 1
      fi
      grep -qF "$expected" <<< "$output" || { echo "the ${mutant%%:*} mutant failed without naming '$expected':" >&2; echo "$output" >&2; exit 1; }
      echo "${mutant%%:*} field: rejected ($(grep -F "$expected" <<< "$output" | head -n 1))"
    done
    ;;
  *)
    echo "usage: $0 generated|schemas|rules|bad-manifests" >&2
    exit 2
    ;;
esac

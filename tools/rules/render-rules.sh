#!/usr/bin/env bash
# Renders the shipped Prometheus rules (or their promtool tests) for a platform that names the app's job differently,
# as the monitoring mixins' `_config.*Selector` does: every app selector in the input is the literal `job="api"`, and
# this replaces each one with the selector given. Under a Prometheus Operator ServiceMonitor, for instance, `job` is
# the Service's name and a namespace tells two copies apart:
#   tools/rules/render-rules.sh --selector 'job="orders",namespace="shop"' prometheus/alerts.yml > alerts.yml
# What changes, so the rendered rules mean the same thing:
#   - `job="api"` (a PromQL selector) becomes the selector;
#   - `by (job` and `on (job` (the rules' grouping) also keep the selector's other labels, so a namespace survives
#     aggregation and two copies of the app are not summed together;
#   - `job: api` (a label map in a promtool test file) becomes the selector's labels, so the same tests run on the
#     rendered rules. That needs equality matchers (`=`).
# The input must contain the default selector at least once: a file with none is not the file you meant.
set -euo pipefail

usage() {
  echo "usage: $0 --selector 'job=\"orders\",namespace=\"shop\"' INPUT.yml > OUTPUT.yml" >&2
  exit 2
}

[[ $# -eq 3 && "$1" == "--selector" ]] || usage
selector=$2
input=$3
[[ -f "$input" ]] || { echo "$0: $input: no such file" >&2; exit 2; }

matcher='[a-zA-Z_][a-zA-Z0-9_]*[[:space:]]*(=~|!~|!=|=)[[:space:]]*"([^"\\]|\\.)*"'
if ! grep -qxE "[[:space:]]*${matcher}([[:space:]]*,[[:space:]]*${matcher})*[[:space:]]*" <<< "$selector"; then
  echo "$0: --selector must be PromQL label matchers without braces, such as 'job=\"orders\",namespace=\"shop\"'; got: $selector" >&2
  exit 2
fi

if ! grep -qF 'job="api"' "$input"; then
  echo "$0: $input holds no app selector (the literal job=\"api\"): nothing to render" >&2
  exit 1
fi

SELECTOR=$selector perl -0777 -pe '
  BEGIN {
    my $s = $ENV{SELECTOR};
    my (@names, %seen, @labels, $equalOnly);
    $equalOnly = 1;
    while ($s =~ /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g) {
      my ($name, $op, $value) = ($1, $2, $3);
      push @names, $name unless $seen{$name}++;
      push @labels, "$name: \"$value\"";
      $equalOnly = 0 unless $op eq "=";
    }
    our $selector = join(",", map { s/^\s+|\s+$//gr } split /,(?=\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*")/, $s);
    our $grouping = join(", ", "job", grep { $_ ne "job" } @names);
    our $labelMap = join(", ", @labels);
    our $equalOnly = $equalOnly;
  }
  our ($selector, $grouping, $labelMap, $equalOnly);
  s/\Qjob="api"\E/$selector/g;
  s/\b(by|on)(\s*)\(\s*job\b/$1$2($grouping/g;
  if (/\bjob: api\b/) {
    die "render-rules.sh: the input has label maps (job: api), which need a selector of equality matchers only\n" unless $equalOnly;
    s/\bjob: api\b/$labelMap/g;
  }
' "$input"

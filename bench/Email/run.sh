#!/usr/bin/env bash
# Email jobs benchmark: jobs/s from enqueue to SMTP delivery through Redis job storage, loopback only, bounded.
# Usage: bench/Email/run.sh [jobs, default 10000] [API workers, default 20] [enqueue threads, default 4]
set -euo pipefail
cd "$(dirname "$0")/../.."
# The API this starts signs up users from one address: no sign-up rate limit (README, Security).
export RateLimit__Enabled=false
command -v redis-server > /dev/null || { echo "needs redis-server: apt-get install -y --no-install-recommends redis-server" >&2; exit 1; }
dotnet build -c Release src/Api --nologo -v q > /dev/null
dotnet build -c Release bench/Email --nologo -v q > /dev/null
dotnet bench/Email/bin/Release/net10.0/Email.Bench.dll src/Api/bin/Release/net10.0/Api.dll "${1:-10000}" "${2:-20}" "${3:-4}"

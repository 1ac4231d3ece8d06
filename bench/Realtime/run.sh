#!/usr/bin/env bash
# Real-time benchmark: concurrent SignalR connections one instance holds, server memory per connection, broadcast
# latency to 1,000 clients. Loopback only; bounded (the client gives up after 8 minutes).
# Usage: bench/Realtime/run.sh [target connections, default 10000]
set -euo pipefail
cd "$(dirname "$0")/../.."
# The API this starts signs up users from one address: no sign-up rate limit (README, Security).
export RateLimit__Enabled=false

# Each side of 10,000 connections needs 10,000 file descriptors (the API and the client are separate processes).
ulimit -n 65536 2> /dev/null || ulimit -n "$(ulimit -Hn)"
echo "ulimit -n: $(ulimit -n)"

dotnet build -c Release src/Api --nologo -v q > /dev/null
dotnet build -c Release bench/Realtime --nologo -v q > /dev/null
dotnet bench/Realtime/bin/Release/net10.0/Realtime.Bench.dll src/Api/bin/Release/net10.0/Api.dll "${1:-10000}"

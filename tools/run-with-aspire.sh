#!/usr/bin/env bash
# tools/run-with-aspire.sh [dotnet run arguments…]: the API (dotnet run) with its traces, logs and metrics in the Aspire
# dashboard, no Docker. Restores the dashboard from NuGet (Aspire.Dashboard.Sdk.linux-x64) on first use, starts it on
# http://localhost:18888 (OTLP/HTTP on 127.0.0.1:4318, anonymous: loopback only), runs the API pointed at it, and stops
# the dashboard when the API stops.
set -euo pipefail
cd "$(dirname "$0")/.."
DASHBOARD=$(tools/restore-aspire-dashboard.sh)

ASPNETCORE_URLS=http://localhost:18888 ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=http://127.0.0.1:4318 \
  ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true "$DASHBOARD" > /dev/null 2>&1 &
dashboard=$!
trap 'kill $dashboard 2> /dev/null || true' EXIT
echo "Aspire dashboard: http://localhost:18888 (traces, structured logs, metrics of backend-boilerplate)" >&2

OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
  dotnet run --project src/Api "$@"

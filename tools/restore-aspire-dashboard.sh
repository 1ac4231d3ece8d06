#!/usr/bin/env bash
# tools/restore-aspire-dashboard.sh: prints the path of the Aspire dashboard's executable, restoring its NuGet package
# (Aspire.Dashboard.Sdk.linux-x64) first when the cache lacks it. The one place its version is written: the tests
# (Infrastructure/AspireDashboard.cs), bench/Tracing/run.sh and tools/run-with-aspire.sh all call this.
set -euo pipefail
VERSION=13.6.5
DASHBOARD=${NUGET_PACKAGES:-$HOME/.nuget/packages}/aspire.dashboard.sdk.linux-x64/$VERSION/tools/Aspire.Dashboard
if [[ ! -x $DASHBOARD ]]; then
  # PackageDownload fetches a package without referencing it: the one way to get a tool package restored.
  restore=$(mktemp -d)
  trap 'rm -rf "$restore"' EXIT
  printf '%s\n' '<Project Sdk="Microsoft.NET.Sdk">' '  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>' \
    "  <ItemGroup><PackageDownload Include=\"Aspire.Dashboard.Sdk.linux-x64\" Version=\"[$VERSION]\" /></ItemGroup>" '</Project>' > "$restore/restore.csproj"
  dotnet restore "$restore/restore.csproj" > /dev/null
  [[ -x $DASHBOARD ]] || { echo "Aspire.Dashboard.Sdk.linux-x64 $VERSION was restored, but $DASHBOARD is missing" >&2; exit 1; }
fi
echo "$DASHBOARD"

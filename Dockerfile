# syntax=docker/dockerfile:1
# Build with the SDK, run on the smaller ASP.NET Core runtime image as its non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source
# Restore first, from the project files alone, so that a code change does not invalidate the package layer.
# .editorconfig too: it sets the analyzer severities that TreatWarningsAsErrors enforces.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Api/Api.csproj src/Api/
RUN dotnet restore src/Api/Api.csproj
COPY src/Api/ src/Api/
RUN dotnet publish src/Api/Api.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# What the app writes, all of it, so the root filesystem can be read-only (deploy/kubernetes mounts an emptyDir on each):
#   /app/data  the SQLite fallback's file (ConnectionStrings__Sqlite, default data/app.db under the content root /app)
#              and the mail pickup folder when no SMTP host is set (Email__PickupDirectory, default data/mail)
#   /tmp       the runtime's diagnostics socket (TMPDIR moves it)
# Nothing goes to $HOME: the Data Protection keys live in Redis or the database (src/Api/ScaleOut/KeyRing.cs), and
# with neither (an in-memory database) in memory when the home is not writable. The app user owns data/ only.
RUN mkdir -p /app/data && chown "$APP_UID" /app/data
USER $APP_UID
# Urls, not ASPNETCORE_URLS: appsettings.json sets Urls (localhost), and it overrides ASPNETCORE_-prefixed variables;
# an unprefixed environment variable overrides appsettings.json.
ENV Urls=http://0.0.0.0:3000
EXPOSE 3000
# The runtime image has neither curl nor wget, but it has bash: a plain HTTP/1.0 request through bash's /dev/tcp
# reads the status line of /health/live. (A dotnet-based probe would start a second runtime every 30 s.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3000 && printf 'GET /health/live HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "Api.dll"]

namespace Api.Tests.Infrastructure;

/// <summary>
/// A real haproxy (Debian's package) in front of app instances on 127.0.0.1, configured as a production balancer
/// would be for this service: round robin, <c>option httpchk GET /health/ready</c> every second with <c>fall 1 rise
/// 1</c>, <c>option forwardfor</c> (the app trusts it through ForwardedHeaders:KnownProxies), WebSockets tunnelled.
/// With <c>retries 0</c> and no <c>option redispatch</c>: a request haproxy cannot hand to its server (a closed port, a
/// refused or reset connection) is a 503 to the client, never retried on the same or another server. So a rolling
/// restart without failures is the instances' drain at work, not haproxy hiding it: with retries 3 its same-server
/// retries (1 s apart, while the 1 s check marks the server down) absorbed a closed port with the drain off.
/// </summary>
public sealed class HaproxyServer : ServerProcess
{
    private HaproxyServer(Started started) : base(started)
    {
    }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public static async Task<HaproxyServer> StartAsync(IReadOnlyList<int> backendPorts)
    {
        var binary = Binaries.Find("haproxy", "haproxy", "/usr/sbin/haproxy");
        var servers = string.Join("\n", backendPorts.Select((p, i) => $"  server app{i} 127.0.0.1:{p} check inter 1s fall 1 rise 1"));
        // Its frontend answers only what the backends do, so ready is when it listens.
        return new(await LaunchAsync("haproxy", (folder, port) =>
        {
            var config = Path.Combine(folder, "haproxy.cfg");
            File.WriteAllText(config, $"""
                global
                  maxconn 2000
                defaults
                  mode http
                  timeout connect 2s
                  timeout client 60s
                  timeout server 60s
                  timeout tunnel 1h
                  retries 0
                frontend fleet
                  bind 127.0.0.1:{port}
                  default_backend api
                backend api
                  balance roundrobin
                  option httpchk GET /health/ready
                  option forwardfor
                {servers}

                """);
            // -db: stay in the foreground, as the test's child, so disposing the process stops it.
            return NativeProcess.Start(binary, ["-f", config, "-db"]);
        }, readyPath: null, TimeSpan.FromSeconds(15), dataFolder: "api-tests-haproxy"));
    }
}

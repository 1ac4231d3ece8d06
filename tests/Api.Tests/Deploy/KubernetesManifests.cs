using Api.Tests.Monitoring;
using YamlDotNet.Serialization;

namespace Api.Tests.Deploy;

/// <summary>An overlay of deploy/kubernetes/ as <c>kubectl kustomize</c> renders it, with the objects the tests read.</summary>
public sealed class KubernetesManifests
{
    private readonly List<Dictionary<object, object>> _objects;

    private KubernetesManifests(List<Dictionary<object, object>> objects) => _objects = objects;

    public static async Task<KubernetesManifests> RenderAsync(string overlay)
    {
        var kubectl = Binaries.Find("kubectl", "kubectl");
        var yaml = await NativeProcess.RunAsync(kubectl, ["kustomize", MonitoringConfig.RepositoryFile($"deploy/kubernetes/overlays/{overlay}")]);
        var deserializer = new DeserializerBuilder().Build();
        var objects = yaml.Split("\n---\n")
            .Select(document => deserializer.Deserialize<Dictionary<object, object>?>(document))
            .OfType<Dictionary<object, object>>()
            .ToList();
        return new KubernetesManifests(objects);
    }

    public Dictionary<object, object> Named(string kind, string name) =>
        _objects.SingleOrDefault(o => (string)o["kind"] == kind && (string)Map(o, "metadata")["name"] == name)
        ?? throw new InvalidOperationException($"The overlay renders no {kind} {name}; it has: " +
            string.Join(", ", _objects.Select(o => $"{o["kind"]} {Map(o, "metadata")["name"]}")));

    public Dictionary<object, object> Only(string kind) => _objects.Single(o => (string)o["kind"] == kind);

    public Dictionary<object, object> Container => (Dictionary<object, object>)List(PodSpec, "containers").Single();

    public Dictionary<object, object> PodSpec => Map(Map(Map(Named("Deployment", "api"), "spec"), "template"), "spec");

    /// <summary>The settings the container gets from its ConfigMap(s), keyed as configuration reads them (<c>__</c> is <c>:</c>).</summary>
    public Dictionary<string, string?> ConfigMapSettings()
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var source in List(Container, "envFrom").Cast<Dictionary<object, object>>())
        {
            var name = (string)Map(source, "configMapRef")["name"];
            foreach (var (key, value) in Map(Named("ConfigMap", name), "data"))
            {
                settings[((string)key).Replace("__", ":", StringComparison.Ordinal)] = (string)value;
            }
        }

        return settings;
    }

    /// <summary>The container port a probe or Service names, by name or number.</summary>
    public int ContainerPort(object port)
    {
        if (int.TryParse(port.ToString(), out var number))
        {
            return number;
        }

        var named = List(Container, "ports").Cast<Dictionary<object, object>>().SingleOrDefault(p => (string)p["name"] == (string)port)
            ?? throw new InvalidOperationException($"The container has no port named {port}.");
        return int.Parse((string)named["containerPort"]);
    }

    public static Dictionary<object, object> Map(Dictionary<object, object> parent, string key) =>
        parent.TryGetValue(key, out var value) && value is Dictionary<object, object> map
            ? map
            : throw new InvalidOperationException($"'{key}' is missing or not a map.");

    public static List<object> List(Dictionary<object, object> parent, string key) =>
        parent.TryGetValue(key, out var value) && value is List<object> list ? list : [];
}

#:package KubernetesClient
#:property CentralPackageTransitivePinningEnabled=false
// (Unpinned: KubernetesClient needs YamlDotNet 18, the tests pin 16.3 centrally; this script takes its own.)
// Reads rendered manifests as the Kubernetes client's typed models with unknown fields refused, which the JSON
// schemas of validate.mjs allow: a misspelled field (`imagee`) or one at the wrong level fails here, for every core
// kind (the custom resources have no typed model; validate.mjs checks their schemas).
// Run: dotnet run tools/kubernetes/strict.cs -- FILE...   Exits 1 naming each object that does not read.
using k8s;
using System.Text.RegularExpressions;

var problems = new List<string>();
var read = 0;
foreach (var file in args)
{
    // kubectl kustomize separates objects by a line holding only "---".
    foreach (var document in Regex.Split(File.ReadAllText(file), @"^---\s*$", RegexOptions.Multiline))
    {
        var apiVersion = Regex.Match(document, @"^apiVersion:\s*(\S+)", RegexOptions.Multiline).Groups[1].Value;
        var kind = Regex.Match(document, @"^kind:\s*(\S+)", RegexOptions.Multiline).Groups[1].Value;
        if (string.IsNullOrWhiteSpace(document) || apiVersion.StartsWith("monitoring.coreos.com/", StringComparison.Ordinal))
        {
            continue;
        }

        try
        {
            var objects = KubernetesYaml.LoadAllFromString(document, strict: true);
            if (objects.Count != 1 || objects[0] is not IKubernetesObject)
            {
                problems.Add($"{file}: {kind}: not read as one Kubernetes object");
                continue;
            }

            read++;
        }
        catch (Exception exception)
        {
            problems.Add($"{file}: {apiVersion} {kind}: {exception.Message}");
        }
    }
}

foreach (var problem in problems)
{
    Console.Error.WriteLine(problem);
}

Console.WriteLine($"{read} core objects read strictly");
return problems.Count == 0 ? 0 : 1;

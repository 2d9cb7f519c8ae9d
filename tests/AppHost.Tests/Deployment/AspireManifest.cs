using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace DataStack.AppHost.Tests.Deployment;

/// <summary>
/// The published Aspire manifest, read as a deployment tool reads it (azd for Azure Container Apps): every expression
/// (<c>{postgres.bindings.tcp.host}</c>, <c>{analytics.connectionString}</c>, <c>{processing-api-key.value}</c>) resolves to
/// what a deployment gives it: secret parameters generated once, each service reached by its resource name on the
/// deployment's network, on its target port. Only what the manifest says is used.
/// </summary>
internal sealed partial class AspireManifest
{
    /// <summary>The port a deployment tool gives a project's http endpoint (azd: 8080; the deploy image listens there).</summary>
    public const int ProjectHttpPort = 8080;

    private const int MaxDepth = 20;

    private readonly Dictionary<string, JsonElement> _resources;
    private readonly string _directory;
    private readonly Dictionary<string, string> _inputs = [];

    private AspireManifest(Dictionary<string, JsonElement> resources, string directory)
    {
        _resources = resources;
        _directory = directory;
    }

    public IReadOnlyCollection<string> ResourceNames => _resources.Keys;

    /// <summary>The values of the secret parameters (generated here, as a deployment tool would): they must appear nowhere else.</summary>
    public IReadOnlyList<string> Secrets =>
    [
        .. from name in _resources.Keys
           where TypeOf(name) == "parameter.v0" && IsSecret(name)
           select Resolve($"{{{name}.value}}"),
    ];

    /// <summary>Reads a manifest that was written to <paramref name="directory"/> (its build paths are relative to it).</summary>
    public static AspireManifest Parse(string json, string directory)
    {
        using var document = JsonDocument.Parse(json);
        return new AspireManifest(document.RootElement.GetProperty("resources").EnumerateObject().ToDictionary(r => r.Name, r => r.Value.Clone()), directory);
    }

    public string TypeOf(string resource) => Resource(resource).GetProperty("type").GetString()!;

    public JsonElement Resource(string resource) =>
        _resources.TryGetValue(resource, out var element) ? element : throw new KeyNotFoundException($"The manifest has no resource '{resource}'.");

    /// <summary>The environment the manifest declares for <paramref name="resource"/>, every expression resolved.</summary>
    public IReadOnlyDictionary<string, string> Environment(string resource) =>
        Resource(resource).TryGetProperty("env", out var env)
            ? env.EnumerateObject().ToDictionary(variable => variable.Name, variable => Resolve(variable.Value.GetString()!))
            : new Dictionary<string, string>();

    /// <summary>The port a container resource listens on: the target port of its first declared binding.</summary>
    public int FirstTargetPort(string resource) =>
        Resource(resource).GetProperty("bindings").EnumerateObject().First().Value.GetProperty("targetPort").GetInt32();

    /// <summary>The volumes the manifest declares for a container: (name, path in the container).</summary>
    public IReadOnlyList<(string Name, string Target)> Volumes(string resource) =>
        Resource(resource).TryGetProperty("volumes", out var volumes)
            ? [.. volumes.EnumerateArray().Select(v => (v.GetProperty("name").GetString()!, v.GetProperty("target").GetString()!))]
            : [];

    /// <summary>
    /// How a <c>container.v1</c> resource's image is built: context and Dockerfile (full paths), stage, and build
    /// arguments resolved; null for a container that runs a published image.
    /// </summary>
    public ImageBuild? Build(string resource)
    {
        if (!Resource(resource).TryGetProperty("build", out var build))
        {
            return null;
        }

        string Full(string path) => Path.GetFullPath(Path.Combine(_directory, path));
        var arguments = build.TryGetProperty("args", out var args)
            ? args.EnumerateObject().ToDictionary(arg => arg.Name, arg => Resolve(arg.Value.GetString() ?? ""))
            : [];
        return new ImageBuild(
            Full(build.GetProperty("context").GetString()!),
            Full(build.GetProperty("dockerfile").GetString()!),
            build.TryGetProperty("stage", out var stage) ? stage.GetString() : null,
            arguments);
    }

    /// <summary>The bind mounts the manifest declares for a container (a deployment would have to provide these folders).</summary>
    public IReadOnlyList<string> BindMounts(string resource) =>
        Resource(resource).TryGetProperty("bindMounts", out var mounts)
            ? [.. mounts.EnumerateArray().Select(m => m.GetProperty("target").GetString()!)]
            : [];

    /// <summary>Replaces every <c>{resource.path}</c> in <paramref name="text"/> with its value.</summary>
    public string Resolve(string text) => Resolve(text, depth: 0);

    private string Resolve(string text, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidOperationException($"The manifest's expressions nest deeper than {MaxDepth} levels: '{text}'.");
        }

        return Expression().Replace(text, match => Value(match.Groups["resource"].Value, match.Groups["path"].Value, depth + 1));
    }

    private string Value(string resource, string path, int depth)
    {
        var element = Resource(resource);
        var type = TypeOf(resource);
        if (path.StartsWith("bindings.", StringComparison.Ordinal))
        {
            return Binding(resource, type, path["bindings.".Length..]);
        }

        return (type, path) switch
        {
            (_, "connectionString") => Resolve(element.GetProperty("connectionString").GetString()!, depth),
            ("parameter.v0", "value") => Resolve(element.GetProperty("value").GetString()!, depth),
            ("parameter.v0", _) when path.StartsWith("inputs.", StringComparison.Ordinal) => Input(resource, path["inputs.".Length..]),
            ("annotated.string", "value") => Filter(element, Resolve(element.GetProperty("value").GetString()!, depth)),
            ("value.v0", "value") => Resolve(element.GetProperty("value").GetString()!, depth),
            _ => throw new NotSupportedException($"The rehearsal cannot resolve '{{{resource}.{path}}}' (a {type} resource)."),
        };
    }

    /// <summary>host: the resource's name on the deployment's network; port and targetPort: the port it listens on there.</summary>
    private string Binding(string resource, string type, string path)
    {
        var parts = path.Split('.', 2);
        var binding = Resource(resource).GetProperty("bindings").GetProperty(parts[0]);
        var scheme = binding.GetProperty("scheme").GetString()!;
        int Port() => binding.TryGetProperty("targetPort", out var target)
            ? target.GetInt32()
            : type == "project.v0" && scheme == "http"
                ? ProjectHttpPort
                : throw new NotSupportedException($"The {parts[0]} endpoint of '{resource}' declares no target port, and a deployment of a {type} gives it none.");

        return parts[1] switch
        {
            "host" => resource,
            "port" or "targetPort" => Port().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "scheme" => scheme,
            "url" => $"{scheme}://{resource}:{Port()}",
            _ => throw new NotSupportedException($"The rehearsal cannot resolve binding property '{parts[1]}' of '{resource}'."),
        };
    }

    /// <summary>A parameter's input: its default value, or one generated as the manifest asks (once per deployment).</summary>
    private string Input(string resource, string path)
    {
        var key = $"{resource}.{path}";
        if (_inputs.TryGetValue(key, out var known))
        {
            return known;
        }

        var input = Resource(resource).GetProperty("inputs").GetProperty(path);
        if (!input.TryGetProperty("default", out var defaults))
        {
            throw new InvalidOperationException($"Parameter '{resource}' has no default: a deployment would ask the operator for it.");
        }

        var value = defaults.TryGetProperty("value", out var given)
            ? given.GetString()!
            : Generate(defaults.GetProperty("generate"));
        _inputs[key] = value;
        return value;
    }

    private bool IsSecret(string parameter) =>
        Resource(parameter).TryGetProperty("inputs", out var inputs)
        && inputs.EnumerateObject().Any(input => input.Value.TryGetProperty("secret", out var secret) && secret.GetBoolean());

    /// <summary>Letters and digits (the manifest's "special": false), at least minLength of them.</summary>
    private static string Generate(JsonElement generate)
    {
        if (generate.TryGetProperty("special", out var special) && special.GetBoolean())
        {
            throw new NotSupportedException("The rehearsal generates letters and digits only; this parameter asks for special characters.");
        }

        var length = generate.TryGetProperty("minLength", out var minLength) ? Math.Max(minLength.GetInt32(), 1) : 22;
        return RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", length);
    }

    private static string Filter(JsonElement annotated, string value) =>
        annotated.TryGetProperty("filter", out var filter) ? filter.GetString() switch
        {
            "uri" => Uri.EscapeDataString(value),
            var other => throw new NotSupportedException($"Unknown annotated.string filter '{other}'."),
        } : value;

    public sealed record ImageBuild(string Context, string Dockerfile, string? Stage, IReadOnlyDictionary<string, string> Arguments);

    [GeneratedRegex(@"\{(?<resource>[A-Za-z0-9_-]+)\.(?<path>[A-Za-z0-9_.-]+)\}")]
    private static partial Regex Expression();
}

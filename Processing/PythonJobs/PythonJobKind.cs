using System.Text.Json;
using System.Text.RegularExpressions;
using DataStack.Processing.Jobs;
using DataStack.Processing.Text;
using Microsoft.Extensions.Options;

namespace DataStack.Processing.PythonJobs;

/// <summary>
/// Job kind <c>python</c>: the team's own code, a function of the <c>pipelines</c> package (<c>args.entrypoint</c>,
/// <c>pipelines.module:function</c>) or one of its notebooks (<c>args.notebook</c>, <c>pipelines/….ipynb</c>), called with
/// <c>args.parameters</c>. Its jobs go to the <c>python</c> queue, which runners claim from (docs/runners.md); this
/// service only checks and queues them. Nothing outside the pipelines package can be named.
/// </summary>
public sealed partial class PythonJobKind(IOptions<PythonJobOptions> options) : IJobKind
{
    public const string KindName = "python";
    public const string QueueName = "python";
    public const int MaxTimeoutSeconds = 86_400;

    private static readonly HashSet<string> s_arguments = ["entrypoint", "notebook", "parameters", "timeoutSeconds"];

    public string Kind => KindName;

    public string Queue => QueueName;

    public IReadOnlyDictionary<string, string[]> Validate(JsonElement args)
    {
        var errors = new Dictionary<string, string[]>();
        if (args.ValueKind != JsonValueKind.Object)
        {
            errors["args"] = ["Must be a JSON object with entrypoint or notebook, and parameters."];
            return errors;
        }

        foreach (var unknown in args.EnumerateObject().Where(p => !s_arguments.Contains(p.Name)))
        {
            errors[$"args.{UserInput.Excerpt(unknown.Name, 40)}"] = ["Unknown: a python job takes entrypoint or notebook, parameters and timeoutSeconds."];
        }

        var entrypoint = args.TryGetProperty("entrypoint", out var e) ? e : default;
        var notebook = args.TryGetProperty("notebook", out var n) ? n : default;
        if ((entrypoint.ValueKind == JsonValueKind.Undefined) == (notebook.ValueKind == JsonValueKind.Undefined))
        {
            errors["args.entrypoint"] = ["Give either an entrypoint (pipelines.module:function) or a notebook (pipelines/….ipynb)."];
        }
        else if (entrypoint.ValueKind != JsonValueKind.Undefined
                 && (entrypoint.ValueKind != JsonValueKind.String || !Entrypoint().IsMatch(entrypoint.GetString()!)))
        {
            errors["args.entrypoint"] = [$"Only functions of the pipelines package run: 'pipelines.module:function', names not starting with '_' (got {Describe(entrypoint)})."];
        }
        else if (notebook.ValueKind != JsonValueKind.Undefined
                 && (notebook.ValueKind != JsonValueKind.String || !NotebookPath().IsMatch(notebook.GetString()!)))
        {
            errors["args.notebook"] = [$"Only notebooks inside the pipelines folder run: 'pipelines/….ipynb' (got {Describe(notebook)})."];
        }

        if (args.TryGetProperty("parameters", out var parameters) && parameters.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
        {
            errors["args.parameters"] = ["A JSON object of parameter names and values."];
        }

        if (args.TryGetProperty("timeoutSeconds", out var timeout)
            && (!timeout.TryGetInt32(out var seconds) || seconds is < 1 or > MaxTimeoutSeconds))
        {
            errors["args.timeoutSeconds"] = [$"Whole seconds, between 1 and {MaxTimeoutSeconds}."];
        }

        return errors;
    }

    public int? TimeoutSeconds(JsonElement args) =>
        args.TryGetProperty("timeoutSeconds", out var timeout) && timeout.TryGetInt32(out var seconds)
            ? seconds
            : options.Value.PythonJobTimeoutSeconds;

    private static string Describe(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? $"'{UserInput.Excerpt(value.GetString()!)}'" : $"a {value.ValueKind.ToString().ToLowerInvariant()}";

    /// <summary><c>pipelines</c>, then modules, then the function: Python identifiers that do not start with '_'.</summary>
    [GeneratedRegex(@"^pipelines(\.[A-Za-z][A-Za-z0-9_]*)*:[A-Za-z][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Entrypoint();

    /// <summary><c>pipelines/</c>, folders and a file name that start with a letter or digit (so never '.' or '..'), <c>.ipynb</c>.</summary>
    [GeneratedRegex(@"^pipelines/([A-Za-z0-9][A-Za-z0-9_.-]*/)*[A-Za-z0-9][A-Za-z0-9_.-]*\.ipynb$", RegexOptions.CultureInvariant)]
    private static partial Regex NotebookPath();
}

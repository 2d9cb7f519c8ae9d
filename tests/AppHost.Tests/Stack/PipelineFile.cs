namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// A module a developer adds to the checkout's <c>Jupyter/pipelines</c> while the stack runs, removed on dispose. The
/// runners read that folder through their bind mount, so its functions run as jobs without a rebuild.
/// </summary>
internal sealed class PipelineFile : IDisposable
{
    private readonly string _path;

    public PipelineFile(string source)
    {
        // Starts with a letter, as the entrypoint rule asks; .gitignore keeps a left-over one out of commits.
        Module = $"stacktest_{Guid.NewGuid():N}"[..22];
        _path = Path.Combine(Projects.AppHost.ProjectPath, "..", "Jupyter", "pipelines", Module + ".py");
        File.WriteAllText(_path, source);
    }

    /// <summary>The module's name in the package: <c>pipelines.{Module}:function</c>.</summary>
    public string Module { get; }

    public string Entrypoint(string function) => $"pipelines.{Module}:{function}";

    public void Dispose() => File.Delete(_path);
}

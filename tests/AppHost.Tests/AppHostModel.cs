using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataStack.AppHost.Tests;

/// <summary>
/// Creates the AppHost's app model without starting anything (no container runtime needed) and reads it.
/// </summary>
internal static class AppHostModel
{
    public static TimeSpan Timeout { get; } = TimeSpan.FromMinutes(1);

    public static Task<IDistributedApplicationTestingBuilder> CreateAsync(DistributedApplicationOperation operation, CancellationToken cancellationToken) =>
        CreateAsync(operation, [], cancellationToken);

    public static Task<IDistributedApplicationTestingBuilder> CreateAsync(DistributedApplicationOperation operation, string[] args, CancellationToken cancellationToken)
    {
        // `--operation publish` is what `--publisher manifest` and `aspire publish` switch on under the hood.
        string[] operationArgs = operation == DistributedApplicationOperation.Publish ? ["--operation", "publish"] : [];
        return DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>([.. operationArgs, .. CommittedImageSettings.Value, .. args], cancellationToken);
    }

    /// <summary>
    /// The image settings as <c>AppHost/appsettings.json</c> commits them, passed as arguments so that the model
    /// tests see the committed defaults even where the environment points the AppHost elsewhere (CI sets
    /// <c>Images__Postgres</c> and friends to the local stand-ins for the stack tests). A test's own arguments
    /// still win: they come later.
    /// </summary>
    private static Lazy<string[]> CommittedImageSettings { get; } = new(() =>
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(Projects.AppHost.ProjectPath, "appsettings.json")));
        return
        [
            .. from section in (string[])["Images", "Jupyter", "Runner"]
               from setting in settings.RootElement.GetProperty(section).EnumerateObject()
               select $"--{section}:{setting.Name}={setting.Value}",
        ];
    });

    public static T GetResource<T>(this IDistributedApplicationTestingBuilder builder, string name)
        where T : IResource =>
        Assert.IsType<T>(Assert.Single(builder.Resources, resource => resource.Name == name));

    /// <summary>The command-line arguments <paramref name="resource"/> is started with, evaluated in the builder's mode.</summary>
    public static async Task<List<string>> GetArgumentsAsync(this IDistributedApplicationTestingBuilder builder, IResource resource, CancellationToken cancellationToken)
    {
        var configuration = await ExecutionConfigurationBuilder.Create(resource)
            .WithArgumentsConfig()
            .BuildAsync(builder.ExecutionContext, NullLogger.Instance, cancellationToken);

        if (configuration.Exception is not null)
        {
            ExceptionDispatchInfo.Throw(configuration.Exception);
        }

        return [.. configuration.Arguments.Select(argument => argument.Value)];
    }

    /// <summary>
    /// The environment <paramref name="resource"/> receives, evaluated in the builder's mode. In publish mode
    /// values are manifest expressions (<c>{analytics.connectionString}</c>), so nothing has to run.
    /// </summary>
    public static async Task<Dictionary<string, string>> GetEnvironmentAsync(this IDistributedApplicationTestingBuilder builder, IResource resource, CancellationToken cancellationToken)
    {
        var configuration = await ExecutionConfigurationBuilder.Create(resource)
            .WithEnvironmentVariablesConfig()
            .BuildAsync(builder.ExecutionContext, NullLogger.Instance, cancellationToken);

        if (configuration.Exception is not null)
        {
            ExceptionDispatchInfo.Throw(configuration.Exception);
        }

        return configuration.EnvironmentVariables.ToDictionary();
    }
}

using System.Runtime.ExceptionServices;
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
        return DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>([.. operationArgs, .. args], cancellationToken);
    }

    public static T GetResource<T>(this IDistributedApplicationTestingBuilder builder, string name)
        where T : IResource =>
        Assert.IsType<T>(Assert.Single(builder.Resources, resource => resource.Name == name));

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

using Microsoft.Extensions.Options;

namespace DataStack.Processing.Jobs;

public static class JobQueueServiceCollectionExtensions
{
    /// <summary>
    /// The durable job queue: its store, the submitter, LISTEN/NOTIFY, the worker that runs this replica's jobs, and the
    /// queue's own kind (<c>noop</c>). Features add their kinds with <see cref="AddJobHandler{THandler}"/>.
    /// </summary>
    public static IServiceCollection AddJobQueue(this IServiceCollection services)
    {
        services.AddOptions<JobQueueOptions>()
            .BindConfiguration(JobQueueOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Let running jobs use their grace period on shutdown before the host gives up on them.
        services.AddOptions<HostOptions>()
            .Configure<IOptions<JobQueueOptions>>((host, queue) => host.ShutdownTimeout = TimeSpan.FromSeconds(queue.Value.ShutdownGraceSeconds + 15));

        services.AddSingleton<JobStore>();
        services.AddSingleton<JobSubmitter>();
        services.AddSingleton<JobNotifications>();
        services.AddHostedService(provider => provider.GetRequiredService<JobNotifications>());
        services.AddSingleton<JobWorker>();
        services.AddHostedService(provider => provider.GetRequiredService<JobWorker>());
        services.AddSingleton<RunnerLeases>();
        return services.AddJobHandler<NoopJobHandler>();
    }

    /// <summary>Lets the queue accept and this service's workers run jobs of <typeparamref name="THandler"/>'s kind.</summary>
    public static IServiceCollection AddJobHandler<THandler>(this IServiceCollection services)
        where THandler : class, IJobHandler
    {
        services.AddSingleton<THandler>();
        services.AddSingleton<IJobHandler>(provider => provider.GetRequiredService<THandler>());
        return services.AddSingleton<IJobKind>(provider => provider.GetRequiredService<THandler>());
    }

    /// <summary>Lets the queue accept jobs of <typeparamref name="TKind"/>'s kind, into its own queue, for runners to run.</summary>
    public static IServiceCollection AddRunnerJobKind<TKind>(this IServiceCollection services)
        where TKind : class, IJobKind =>
        services.AddSingleton<IJobKind, TKind>();
}

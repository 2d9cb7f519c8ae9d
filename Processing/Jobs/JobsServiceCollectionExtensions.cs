using DataStack.Processing.Datasets;
using DataStack.Processing.Ingest;
using DataStack.Processing.Profiles;
using DataStack.Processing.Transforms;

namespace DataStack.Processing.Jobs;

public static class JobsServiceCollectionExtensions
{
    /// <summary>The catalog, the queue, its runner and one handler per job kind.</summary>
    public static IServiceCollection AddProcessingJobs(this IServiceCollection services)
    {
        services.AddSingleton<DatasetCatalog>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<JobSubmitter>();
        services.AddSingleton<UploadReceiver>();

        services.AddSingleton<IJobHandler, IngestJobHandler>();
        services.AddSingleton<IJobHandler, ProfileJobHandler>();
        services.AddSingleton<IJobHandler, TransformJobHandler>();
        services.AddSingleton<IJobHandler, NoopJobHandler>();

        services.AddSingleton<JobNotifications>();
        services.AddHostedService(provider => provider.GetRequiredService<JobNotifications>());
        services.AddSingleton<JobWorker>();
        services.AddHostedService(provider => provider.GetRequiredService<JobWorker>());
        services.AddSingleton<UploadSweeper>();
        services.AddHostedService(provider => provider.GetRequiredService<UploadSweeper>());
        return services;
    }
}

using DataStack.Processing.Ingest.Receiving;
using DataStack.Processing.Jobs;

namespace DataStack.Processing.Ingest;

public static class IngestServiceCollectionExtensions
{
    /// <summary>
    /// Ingest: the request half of an upload (<see cref="UploadReceiver"/>), the <c>ingest</c> job that lands uploads and
    /// loads files of the data folder, and the sweeper of the tables ingests set aside.
    /// </summary>
    public static IServiceCollection AddIngest(this IServiceCollection services)
    {
        services.AddOptions<IngestOptions>()
            .BindConfiguration(IngestOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<UploadReceiver>();
        services.AddSingleton<UploadHandover>();
        services.AddJobHandler<IngestJobHandler>();
        services.AddSingleton<StagedTableSweeper>();
        services.AddHostedService(provider => provider.GetRequiredService<StagedTableSweeper>());
        return services;
    }
}

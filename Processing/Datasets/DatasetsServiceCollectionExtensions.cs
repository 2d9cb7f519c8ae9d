namespace DataStack.Processing.Datasets;

public static class DatasetsServiceCollectionExtensions
{
    /// <summary>The catalog of datasets (<c>datastack.datasets</c>).</summary>
    public static IServiceCollection AddDatasets(this IServiceCollection services) =>
        services.AddSingleton<DatasetCatalog>();
}

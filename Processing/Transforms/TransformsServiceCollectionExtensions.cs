using DataStack.Processing.Jobs;

namespace DataStack.Processing.Transforms;

public static class TransformsServiceCollectionExtensions
{
    /// <summary>The <c>transform</c> job (a read-only SELECT materialised as a dataset), and the start-up check of its sandbox role.</summary>
    public static IServiceCollection AddTransforms(this IServiceCollection services)
    {
        services.AddOptions<TransformOptions>()
            .BindConfiguration(TransformOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddJobHandler<TransformJobHandler>();
        services.AddHostedService<TransformRoleCheck>();
        return services;
    }
}

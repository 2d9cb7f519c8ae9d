using DataStack.Processing.Jobs;

namespace DataStack.Processing.PythonJobs;

public static class PythonJobsServiceCollectionExtensions
{
    /// <summary>The <c>python</c> job kind, queued here for runners to run (docs/runners.md).</summary>
    public static IServiceCollection AddPythonJobs(this IServiceCollection services)
    {
        services.AddOptions<PythonJobOptions>()
            .BindConfiguration(PythonJobOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return services.AddRunnerJobKind<PythonJobKind>();
    }
}

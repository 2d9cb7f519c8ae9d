using DataStack.Processing.Jobs;

namespace DataStack.Processing.Profiles;

public static class ProfilesServiceCollectionExtensions
{
    /// <summary>The <c>profile</c> job: column statistics, stored on the dataset.</summary>
    public static IServiceCollection AddProfiles(this IServiceCollection services) =>
        services.AddJobHandler<ProfileJobHandler>();
}

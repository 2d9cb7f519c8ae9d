namespace DataStack.Testing;

/// <summary>The settings a test gives a Processing process itself: none of them may leak in from the test's own environment.</summary>
internal static class ContractSettings
{
    /// <summary>Removes the wiring contract's, telemetry's and logging's settings the process would otherwise inherit.</summary>
    public static void RemoveInherited(IDictionary<string, string?> environment)
    {
        foreach (var inherited in environment.Keys.Where(IsContractSetting).ToList())
        {
            environment.Remove(inherited);
        }
    }

    private static bool IsContractSetting(string key) =>
        key.StartsWith("Processing__", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("ConnectionStrings__", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase)
        || key.Equals("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase);
}

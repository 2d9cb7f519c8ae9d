namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// A stack fact that also needs a browser: Node.js, Debian's Chromium (<c>/usr/bin/chromium</c>) and the npm
/// packages of <c>tests/browser</c>. Skipped with what to install where they are missing, failed on CI.
/// </summary>
public sealed class DashboardBrowserFactAttribute : FactAttribute
{
    public DashboardBrowserFactAttribute()
    {
        if (ContainerRuntime.IsRequired)
        {
            return;
        }

        if (ContainerRuntime.Unavailability is { } reason)
        {
            Skip = $"Needs a running container runtime: {reason}";
        }
        else if (MissingBrowserPieces() is { Count: > 0 } missing)
        {
            Skip = $"Needs {string.Join(", ", missing)}. On CI (CI=true) this test fails instead of skipping.";
        }
    }

    private static List<string> MissingBrowserPieces()
    {
        var root = Path.GetFullPath(Path.Combine(Projects.AppHost.ProjectPath, ".."));
        var missing = new List<string>();
        if (!File.Exists("/usr/bin/chromium"))
        {
            missing.Add("Chromium (apt-get install chromium)");
        }

        if (!Directory.Exists(Path.Combine(root, "tests", "browser", "node_modules", "playwright-core")))
        {
            missing.Add("the browser test's packages (npm ci --prefix tests/browser)");
        }

        return missing;
    }
}

using System.Text.RegularExpressions;
using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.DependencyInjection;

namespace DataStack.Processing.Tests;

/// <summary><c>Processing/Processing.http</c> has a request for every route Processing maps, and only for those.</summary>
public sealed partial class ProcessingHttpFileTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    private static readonly string s_httpFile = Path.Combine(RepositoryRoot(), "Processing", "Processing.http");

    [Fact]
    public void EveryRouteHasARequestAndEveryRequestARoute()
    {
        // Arrange
        var requests = Requests().ToList();
        var routes = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(endpoint => (endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(method => (Method: method, Pattern: endpoint.RoutePattern)))
            .ToList();

        // Act
        bool Matches((string Method, string Path) request, (string Method, Microsoft.AspNetCore.Routing.Patterns.RoutePattern Pattern) route) =>
            request.Method == route.Method && new TemplateMatcher(new RouteTemplate(route.Pattern), []).TryMatch(request.Path, []);
        var uncovered = routes.Where(route => !requests.Any(request => Matches(request, route))).Select(r => $"{r.Method} {r.Pattern.RawText}");
        var stale = requests.Where(request => !routes.Any(route => Matches(request, route))).Select(r => $"{r.Method} {r.Path}");

        // Assert
        Assert.Empty(uncovered);
        Assert.Empty(stale);
    }

    [Fact]
    public void TheFilesItSendsExistAndNothingReadsADotEnvFile()
    {
        // Arrange
        var text = File.ReadAllText(s_httpFile);

        // Act
        var bodies = BodyFile().Matches(text).Select(m => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(s_httpFile)!, m.Groups[1].Value))).ToList();

        // Assert
        Assert.NotEmpty(bodies);
        Assert.All(bodies, body => Assert.True(File.Exists(body), body));
        Assert.DoesNotContain("$dotenv", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSampleColumnsBodyUploads()
    {
        // Arrange
        var body = Path.Combine(RepositoryRoot(), "data", "samples", "stations.columns");
        var name = TestDatasets.NewName("stations");

        // Act
        var job = await app.UploadBytesAndWaitAsync(name, await File.ReadAllBytesAsync(body), "application/vnd.datastack.columns");

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(3, (await app.GetAsync(name))!.RowCount);
    }

    /// <summary>Each request line's method and path (variables filled in, query dropped).</summary>
    private static IEnumerable<(string Method, string Path)> Requests() =>
        RequestLine().Matches(File.ReadAllText(s_httpFile)).Select(m => (
            m.Groups[1].Value,
            m.Groups[2].Value.Replace("{{job}}", Guid.Empty.ToString(), StringComparison.Ordinal).Split('?')[0]));

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Processing", "Processing.http")))
            {
                return dir.FullName;
            }
        }

        throw new FileNotFoundException("Processing/Processing.http not found above the test assembly.");
    }

    [GeneratedRegex(@"^(GET|POST|PUT|DELETE|PATCH) \{\{processing\}\}(\S*)", RegexOptions.Multiline)]
    private static partial Regex RequestLine();

    [GeneratedRegex(@"^< (\S+)", RegexOptions.Multiline)]
    private static partial Regex BodyFile();
}

using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests;

/// <summary>
/// Under Aspire, Processing connects as the postgres container's superuser. A transform must still not
/// gain a superuser's powers: the user's query runs as the datasets-only role <c>datastack_transform</c>.
/// </summary>
public sealed class TransformRoleTests : IAsyncLifetime
{
    private ProcessingApp _app = null!;
    private string _connectionString = "";

    public async Task InitializeAsync()
    {
        var postgres = await PostgresServer.SharedAsync();
        var database = TestDatasets.NewName("superuser");
        await Sql.ExecuteAsync(postgres.AdminConnectionString, $"CREATE DATABASE \"{database}\"");
        _connectionString = postgres.ConnectionStringFor(database, "postgres", postgres.SuperUserPassword);
        _app = new ProcessingApp().With("ConnectionStrings:analytics", _connectionString);
        await _app.InitializeAsync();
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task TransformCannotReadServerFilesWhenProcessingIsASuperuser()
    {
        // Arrange
        var name = TestDatasets.NewName("files");

        // Act
        var job = await _app.TransformAndWaitAsync(name, "select pg_read_file('PG_VERSION') as version");

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("invalid_query", job.Error?.Code);
        Assert.Contains("permission denied", job.Error?.Message);
        Assert.Null(await Sql.ScalarAsync<string>(_connectionString, "SELECT to_regclass($1)::text", $"datasets.{name}"));
    }

    [Fact]
    public async Task TransformAsTheRestrictedRoleStillReadsDatasetsProcessingCreated()
    {
        // Arrange
        var source = TestDatasets.NewName("source");
        var target = TestDatasets.NewName("target");
        var upload = await _app.UploadAndWaitAsync(source, "id,amount\n1,2.5\n2,4\n");

        // Act
        var job = await _app.TransformAndWaitAsync(target, $"select sum(amount) as total from {source}");

        // Assert
        Assert.Equal(JobStatus.Succeeded, upload.Status);
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(6.5, await Sql.ScalarAsync<double>(_connectionString, $"SELECT total FROM datasets.\"{target}\""));
    }
}

using System.Net;
using System.Text.Json;
using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests;

public sealed class TransformTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    private static readonly (long Id, string City, double Fare, string Day)[] s_trips =
    [
        (1, "Oslo", 12.5, "2024-03-01"),
        (2, "Bergen", 30.0, "2024-03-02"),
        (3, "Oslo", 7.25, "2024-02-28"),
        (4, "Oslo", 20.0, "2024-03-05"),
        (5, "Bergen", 5.0, "2024-03-01"),
        (6, "Tromsø", 44.75, "2024-01-10"),
    ];

    [Fact]
    public async Task TransformMaterialisesTheQueryAsATypedDatasetInTheCatalog()
    {
        // Arrange
        var trips = await CreateTripsAsync("trips");
        var daily = TestDatasets.NewName("daily");
        var query = $"""
            -- fares per city
            select city, count(*) as trips, sum(fare) as total, min(day) as first_day
            from {trips}
            group by city
            order by city;
            """;

        // Act
        var job = await app.TransformAndWaitAsync(daily, query);

        // Assert
        Assert.True(job.Status == JobStatus.Succeeded, $"{job.Status}: {job.Error}");
        var expected = s_trips.GroupBy(t => t.City).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        var result = job.Result!.Value;
        Assert.Equal(daily, result.GetProperty("dataset").GetString());
        Assert.Equal(expected.Count, result.GetProperty("rows").GetInt64());
        Assert.Equal(
            [("city", "text"), ("trips", "bigint"), ("total", "double precision"), ("first_day", "date")],
            result.GetProperty("columns").EnumerateArray().Select(c => (c.GetProperty("name").GetString()!, c.GetProperty("type").GetString()!)));
        Assert.Equal(expected.Count, job.Progress.Rows);

        var dataset = await app.GetAsync(daily);
        Assert.NotNull(dataset);
        Assert.Equal("transform", dataset.Source);
        Assert.Equal(expected.Count, dataset.RowCount);
        Assert.Equal(job.Id, dataset.JobId);
        Assert.Equal(["city", "trips", "total", "first_day"], dataset.Columns.Select(c => c.Name));
        Assert.NotNull(dataset.Checksum);

        var rows = await Sql.RowsAsync(app.ConnectionString, $"SELECT city, trips, total, first_day FROM datasets.\"{daily}\" ORDER BY city COLLATE \"C\"");
        Assert.Equal(
            expected.Select(g => (g.Key, (long)g.Count(), g.Sum(t => t.Fare), DateOnly.Parse(g.Min(t => t.Day)!, System.Globalization.CultureInfo.InvariantCulture))),
            rows.Select(r => ((string)r[0]!, (long)r[1]!, (double)r[2]!, r[3] as DateOnly? ?? DateOnly.FromDateTime((DateTime)r[3]!))));
        Assert.Equal(0, await TestDatasets.StagingTablesAsync(app.ConnectionString));
    }

    [Fact]
    public async Task TransformKeepsTypeModifiersAndTypesBeyondTheIngestOnes()
    {
        // Arrange
        var target = TestDatasets.NewName("typed");
        var query = """
            select x::numeric(10,2) as amount, 'ab'::varchar(5) as code, x::integer as n, array[x, x + 1] as pair, gen_random_uuid() as u
            from generate_series(1, 1000) x
            """;

        // Act
        var job = await app.TransformAndWaitAsync(target, query);

        // Assert
        Assert.True(job.Status == JobStatus.Succeeded, $"{job.Status}: {job.Error}");
        Assert.Equal(
            ["numeric(10,2)", "character varying(5)", "integer", "integer[]", "uuid"],
            job.Result!.Value.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("type").GetString()));
        Assert.Equal(1000, job.Result.Value.GetProperty("rows").GetInt64());
        Assert.Equal(500500m, await Sql.ScalarAsync<decimal>(app.ConnectionString, $"SELECT sum(amount) FROM datasets.\"{target}\""));
    }

    [Fact]
    public async Task TransformCanReplaceTheDatasetItReads()
    {
        // Arrange
        var trips = await CreateTripsAsync("self");

        // Act
        var job = await app.TransformAndWaitAsync(trips, $"select * from {trips} where fare > 10");

        // Assert
        Assert.True(job.Status == JobStatus.Succeeded, $"{job.Status}: {job.Error}");
        var expected = s_trips.Where(t => t.Fare > 10).Select(t => t.Id).ToList();
        var ids = await Sql.RowsAsync(app.ConnectionString, $"SELECT id FROM datasets.\"{trips}\" ORDER BY id");
        Assert.Equal(expected, ids.Select(r => (long)r[0]!));
        var dataset = await app.GetAsync(trips);
        Assert.Equal(expected.Count, dataset!.RowCount);
        Assert.Equal("transform", dataset.Source);
        Assert.Equal(0, await TestDatasets.StagingTablesAsync(app.ConnectionString));
    }

    [Fact]
    public async Task ATransformsChecksumHasTheSameFormAsAnUploadsChecksum()
    {
        // Arrange
        var target = TestDatasets.NewName("sum");
        const string Query = "select 1 as a";

        // Act
        var job = await app.TransformAndWaitAsync(target, Query);
        var dataset = await app.GetAsync(target);

        // Assert: sha256:{hex of the query text}, as an ingest's is sha256:{hex of the file}.
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Query))), dataset!.Checksum);
    }

    [Theory]
    [InlineData("with d as (delete from {victim} returning *) select * from d")]
    [InlineData("with d as (update {victim} set fare = 0 returning *) select * from d")]
    [InlineData("select * from {victim} for update")]
    public async Task AQueryThatWouldWriteIsRefusedAtSubmission(string template)
    {
        // Arrange
        var victim = await CreateTripsAsync("ro");
        var target = TestDatasets.NewName("ro");

        // Act
        using var response = await app.TransformAsync(target, template.Replace("{victim}", victim, StringComparison.Ordinal));

        // Assert: 400 before any job, saying what a transform is; nothing was queued for the target.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("A transform must be one read-only SELECT", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await Sql.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM datastack.jobs WHERE args->>'dataset' = $1", target));
    }

    [Theory]
    [InlineData("delete from {victim}")]
    [InlineData("drop table {victim}")]
    [InlineData("insert into {victim} (id) values (99)")]
    [InlineData("update {victim} set fare = 0")]
    [InlineData("truncate {victim}")]
    [InlineData("select 1; drop table {victim}")]
    [InlineData("select 1 as a; commit; drop table {victim}")]
    [InlineData("select 1) AS q) TO STDOUT; drop table {victim}; --")]
    [InlineData("with d as (delete from {victim} returning *) select * from d")]
    [InlineData("select * from {victim} for update")]
    [InlineData("select set_config('transaction_read_only', 'off', true) as flipped from {victim}")]
    public async Task AnythingButOneSelectIsRefusedAndTheVictimStaysIntact(string template)
    {
        // Arrange
        var victim = await CreateTripsAsync("victim");
        var target = TestDatasets.NewName("bad");
        var query = template.Replace("{victim}", victim, StringComparison.Ordinal);

        // Act
        using var response = await app.TransformAsync(target, query);
        var refusal = await response.Content.ReadAsStringAsync();
        Job? job = null;
        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            job = await app.WaitAsync(JsonSerializer.Deserialize<Job>(refusal, JsonSerializerOptions.Web)!.Id);
        }

        // Assert: refused at submission (400), or by PostgreSQL when run (failed, invalid_query).
        if (job is null)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("query", refusal);
        }
        else
        {
            Assert.Equal(JobStatus.Failed, job.Status);
            Assert.Equal("invalid_query", job.Error?.Code);
            Assert.Equal(1, job.Attempts);
        }

        Assert.Equal(s_trips.Length, await Sql.ScalarAsync<long>(app.ConnectionString, $"SELECT count(*) FROM datasets.\"{victim}\" WHERE fare > 0"));
        Assert.Null(await app.GetAsync(target));
    }

    [Theory]
    [InlineData("select public.{function}() as v")]
    [InlineData("select nextval('public.{function}_seq') as v")]
    public async Task AFunctionThatWritesFailsInTheReadOnlyTransactionAndWritesNothing(string template)
    {
        // Arrange: a function that writes into a dataset table, as a user could have created it.
        var victim = await CreateTripsAsync("ro");
        var function = TestDatasets.NewName("sneaky");
        await Sql.ExecuteAsync(app.ConnectionString, $"""
            CREATE SEQUENCE public.{function}_seq;
            CREATE FUNCTION public.{function}() RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                INSERT INTO datasets."{victim}" (id, city, fare, day) VALUES (99, 'Nowhere', 1, '2024-01-01');
                RETURN 1;
            END
            $$;
            """);
        var target = TestDatasets.NewName("ro_target");
        var largeObjects = await Sql.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM pg_largeobject_metadata");

        // Act
        var job = await app.TransformAndWaitAsync(target, template.Replace("{function}", function, StringComparison.Ordinal));

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("invalid_query", job.Error?.Code);
        Assert.Contains("read-only transaction", job.Error?.Message);
        Assert.Equal(s_trips.Length, await Sql.ScalarAsync<long>(app.ConnectionString, $"SELECT count(*) FROM datasets.\"{victim}\""));
        Assert.Equal(largeObjects, await Sql.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM pg_largeobject_metadata"));
        Assert.Null(await app.GetAsync(target));
        Assert.Equal(0, await TestDatasets.StagingTablesAsync(app.ConnectionString));
    }

    [Fact]
    public async Task AWriteThatReadOnlyDoesNotCatchIsStillRolledBack()
    {
        // Arrange: PostgreSQL 15 lets the large-object functions (lo_create, lo_from_bytea) write in a READ ONLY
        // transaction; the transaction that runs the user's query is never committed, so nothing they do stays.
        var largeObjects = await Sql.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM pg_largeobject_metadata");

        // Act
        var job = await app.TransformAndWaitAsync(TestDatasets.NewName("lo"), "select lo_create(0) as created");

        // Assert
        Assert.True(job.Status == JobStatus.Succeeded, $"{job.Status}: {job.Error}");
        Assert.Equal(largeObjects, await Sql.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM pg_largeobject_metadata"));
    }

    [Fact]
    public async Task AFailingTransformLeavesTheExistingDatasetExactlyAsItWas()
    {
        // Arrange: the query fails at the third row, after rows have streamed into the staging table.
        var trips = await CreateTripsAsync("keep");
        var before = await app.GetAsync(trips);
        var rowsBefore = await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.\"{trips}\" ORDER BY id");

        // Act
        var job = await app.TransformAndWaitAsync(trips, $"select id, 10 / (id - 3) as x from {trips} order by id");

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("invalid_query", job.Error?.Code);
        Assert.Contains("division by zero", job.Error?.Message);
        Assert.Equal(1, job.Attempts);
        var after = await app.GetAsync(trips);
        Assert.Equal(JsonSerializer.Serialize(before), JsonSerializer.Serialize(after));
        Assert.Equal(rowsBefore, await Sql.RowsAsync(app.ConnectionString, $"SELECT * FROM datasets.\"{trips}\" ORDER BY id"));
        Assert.Equal(0, await TestDatasets.StagingTablesAsync(app.ConnectionString));
    }

    [Fact]
    public async Task AnInvalidQueryFailsWithPostgresMessageAndWhereInTheQuery()
    {
        // Arrange
        var trips = await CreateTripsAsync("typo");

        // Act
        var job = await app.TransformAndWaitAsync(TestDatasets.NewName("typo_out"), $"select city,\n       farez\nfrom {trips}");

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("invalid_query", job.Error?.Code);
        Assert.Contains("column \"farez\" does not exist", job.Error?.Message);
        Assert.Equal(2, job.Error?.Row);
        Assert.Equal(8, job.Error?.Column);
    }

    [Theory]
    [InlineData("select 1, 2", "more than one column named '?column?'")]
    [InlineData("select 1 as a, 2 as a", "more than one column named 'a'")]
    [InlineData("select from generate_series(1, 3)", "no columns")]
    public async Task ResultColumnsMustHaveUniqueNames(string query, string expected)
    {
        // Act
        var job = await app.TransformAndWaitAsync(TestDatasets.NewName("cols"), query);

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("invalid_columns", job.Error?.Code);
        Assert.Contains(expected, job.Error?.Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("  -- nothing here\n")]
    [InlineData("select 1 as a; select 2 as b")]
    public async Task AMissingEmptyOrMultiStatementQueryIsABadRequest(string? query)
    {
        // Act
        using var response = await app.TransformAsync(TestDatasets.NewName("empty"), query);

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"query\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AQueryRunningPastTheTimeoutFailsWithTimeout()
    {
        // Arrange: a service whose transforms may run one second.
        await using var quick = new ProcessingApp().With("Processing:TransformTimeoutSeconds", "1");
        await quick.InitializeAsync();

        // Act
        var job = await quick.TransformAndWaitAsync("sleepy", "select 1 as slept from pg_sleep(10)");

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.True(job.Error?.Code == "timeout", $"{job.Error}");
        Assert.Equal(1, job.Attempts);
        Assert.Null(await quick.GetAsync("sleepy"));
    }

    private async Task<string> CreateTripsAsync(string prefix)
    {
        var name = TestDatasets.NewName(prefix);
        var values = string.Join(", ", s_trips.Select(t => $"({t.Id}, '{t.City}', {t.Fare.ToString(System.Globalization.CultureInfo.InvariantCulture)}, '{t.Day}')"));
        await TestDatasets.CreateAsync(app.ConnectionString, name, "id bigint, city text, fare double precision, day date", $"INSERT INTO {{table}} VALUES {values}");
        return name;
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests;

public sealed class ProfileTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    private static readonly long?[] s_ids = [10, 20, 30, null, 40, 20];
    private static readonly double?[] s_amounts = [1.5, 2.5, null, 4.0, 2.5, -3.25];
    private static readonly string?[] s_cities = ["Oslo", "Bergen", "Oslo", null, "Åsane", "Oslo"];
    private static readonly bool?[] s_active = [true, false, true, null, true, true];
    private static readonly DateOnly?[] s_days = [new(2024, 3, 1), null, new(2023, 12, 31), new(2024, 1, 15), null, new(2024, 3, 1)];
    private static readonly DateTime?[] s_times = [new(2024, 1, 2, 3, 4, 5), new(2024, 1, 2, 3, 4, 6), null, null, new(2020, 6, 1, 0, 0, 0), null];

    [Fact]
    public async Task ProfileComputesEachColumnsStatisticsFromTheData()
    {
        // Arrange
        var name = TestDatasets.NewName("profile");
        await TestDatasets.CreateAsync(
            app.ConnectionString, name,
            "id bigint, amount double precision, city text, active boolean, day date, at timestamp, at_utc timestamptz",
            $"INSERT INTO {{table}} VALUES {string.Join(", ", Enumerable.Range(0, s_ids.Length).Select(RowSql))}");

        // Act
        var job = await app.ProfileAndWaitAsync(name);

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        var profile = job.Result!.Value;
        Assert.Equal(s_ids.Length, profile.GetProperty("rowCount").GetInt64());
        Assert.True(profile.GetProperty("computedAt").TryGetDateTimeOffset(out _));
        var columns = profile.GetProperty("columns").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal(["id", "amount", "city", "active", "day", "at", "at_utc"], profile.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("name").GetString()));

        var ids = s_ids.OfType<long>().ToArray();
        var id = columns["id"];
        Assert.Equal("bigint", id.GetProperty("type").GetString());
        AssertCounts(id, ids.Length, s_ids.Length - ids.Length, ids.Distinct().Count());
        Assert.Equal(ids.Min(), id.GetProperty("min").GetInt64());
        Assert.Equal(ids.Max(), id.GetProperty("max").GetInt64());
        Assert.Equal(ids.Average(), id.GetProperty("mean").GetDouble(), 9);
        Assert.Equal(SampleStddev(ids.Select(i => (double)i).ToArray()), id.GetProperty("stddev").GetDouble(), 9);
        Assert.Equal(JsonValueKind.Null, id.GetProperty("top").ValueKind);
        Assert.Equal(JsonValueKind.Null, id.GetProperty("minLength").ValueKind);

        var amounts = s_amounts.OfType<double>().ToArray();
        var amount = columns["amount"];
        AssertCounts(amount, amounts.Length, 1, amounts.Distinct().Count());
        Assert.Equal(amounts.Min(), amount.GetProperty("min").GetDouble());
        Assert.Equal(amounts.Max(), amount.GetProperty("max").GetDouble());
        Assert.Equal(amounts.Average(), amount.GetProperty("mean").GetDouble(), 9);
        Assert.Equal(SampleStddev(amounts), amount.GetProperty("stddev").GetDouble(), 9);

        var cities = s_cities.OfType<string>().ToArray();
        var city = columns["city"];
        AssertCounts(city, cities.Length, 1, cities.Distinct().Count());
        Assert.Equal(cities.Min(StringComparer.Ordinal), city.GetProperty("min").GetString());
        Assert.Equal(cities.Max(StringComparer.Ordinal), city.GetProperty("max").GetString());
        Assert.Equal(cities.Min(c => c.Length), city.GetProperty("minLength").GetInt32());
        Assert.Equal(cities.Max(c => c.Length), city.GetProperty("maxLength").GetInt32());
        Assert.Equal(JsonValueKind.Null, city.GetProperty("mean").ValueKind);
        var expectedTop = cities.GroupBy(c => c).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(5).Select(g => (g.Key, (long)g.Count()));
        Assert.Equal(expectedTop, city.GetProperty("top").EnumerateArray().Select(t => (t.GetProperty("value").GetString()!, t.GetProperty("count").GetInt64())));

        var flags = s_active.OfType<bool>().ToArray();
        var active = columns["active"];
        AssertCounts(active, flags.Length, 1, flags.Distinct().Count());
        Assert.False(active.GetProperty("min").GetBoolean());
        Assert.True(active.GetProperty("max").GetBoolean());
        Assert.Equal(
            [(true, (long)flags.Count(f => f)), (false, (long)flags.Count(f => !f))],
            active.GetProperty("top").EnumerateArray().Select(t => (t.GetProperty("value").GetBoolean(), t.GetProperty("count").GetInt64())));

        var days = s_days.OfType<DateOnly>().ToArray();
        var day = columns["day"];
        AssertCounts(day, days.Length, s_days.Length - days.Length, days.Distinct().Count());
        Assert.Equal(days.Min().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), day.GetProperty("min").GetString());
        Assert.Equal(days.Max().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), day.GetProperty("max").GetString());
        Assert.Equal(JsonValueKind.Null, day.GetProperty("mean").ValueKind);

        var times = s_times.OfType<DateTime>().ToArray();
        var at = columns["at"];
        AssertCounts(at, times.Length, s_times.Length - times.Length, times.Distinct().Count());
        Assert.Equal(times.Min(), DateTime.Parse(at.GetProperty("min").GetString()!, CultureInfo.InvariantCulture));
        Assert.Equal(times.Max(), DateTime.Parse(at.GetProperty("max").GetString()!, CultureInfo.InvariantCulture));

        var atUtc = columns["at_utc"];
        Assert.Equal("timestamp with time zone", atUtc.GetProperty("type").GetString());
        Assert.Equal(new DateTimeOffset(times.Min(), TimeSpan.Zero), atUtc.GetProperty("min").GetDateTimeOffset());
        Assert.Equal(new DateTimeOffset(times.Max(), TimeSpan.Zero), atUtc.GetProperty("max").GetDateTimeOffset());
    }

    [Fact]
    public async Task ProfileIsStoredOnTheDataset()
    {
        // Arrange
        var name = TestDatasets.NewName("stored");
        await TestDatasets.CreateAsync(app.ConnectionString, name, "n bigint", "INSERT INTO {table} SELECT g FROM generate_series(1, 100) g");

        // Act
        var job = await app.ProfileAndWaitAsync(name);
        var dataset = await app.GetAsync(name);

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.NotNull(dataset?.Profile);
        Assert.Equal(job.Result!.Value.GetRawText(), dataset.Profile.Value.GetRawText());
        var n = dataset.Profile.Value.GetProperty("columns")[0];
        Assert.Equal(100, n.GetProperty("distinct").GetInt64());
        Assert.Equal(50.5, n.GetProperty("mean").GetDouble(), 9);
        Assert.Equal(100L, job.Progress.Rows);
    }

    [Fact]
    public async Task ProfileOfAnEmptyDatasetHasZeroCountsAndNoValues()
    {
        // Arrange
        var name = TestDatasets.NewName("empty");
        await TestDatasets.CreateAsync(app.ConnectionString, name, "n bigint, s text, b boolean");

        // Act
        var job = await app.ProfileAndWaitAsync(name);

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        var profile = job.Result!.Value;
        Assert.Equal(0, profile.GetProperty("rowCount").GetInt64());
        foreach (var column in profile.GetProperty("columns").EnumerateArray())
        {
            AssertCounts(column, 0, 0, 0);
            Assert.Equal(JsonValueKind.Null, column.GetProperty("min").ValueKind);
            Assert.Equal(JsonValueKind.Null, column.GetProperty("max").ValueKind);
        }

        Assert.Empty(profile.GetProperty("columns")[1].GetProperty("top").EnumerateArray());
        Assert.Empty(profile.GetProperty("columns")[2].GetProperty("top").EnumerateArray());
    }

    [Fact]
    public async Task ProfileCoversWideTablesAndQuotesEveryColumnName()
    {
        // Arrange: more columns than one aggregate query takes, with names that need quoting.
        var name = TestDatasets.NewName("wide");
        var names = Enumerable.Range(0, 120).Select(i => i % 3 == 0 ? $"Col \"{i}\"" : $"c{i}").ToArray();
        var columnsSql = string.Join(", ", names.Select(n => $"{Quote(n)} bigint"));
        var values = string.Join(", ", names.Select((_, i) => $"g * {i}"));
        await TestDatasets.CreateAsync(app.ConnectionString, name, columnsSql, $"INSERT INTO {{table}} SELECT {values} FROM generate_series(1, 10) g");

        // Act
        var job = await app.ProfileAndWaitAsync(name);

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        var columns = job.Result!.Value.GetProperty("columns").EnumerateArray().ToArray();
        Assert.Equal(names, columns.Select(c => c.GetProperty("name").GetString()));
        for (var i = 0; i < names.Length; i++)
        {
            Assert.Equal(10, columns[i].GetProperty("count").GetInt64());
            Assert.Equal(i == 0 ? 1 : 10, columns[i].GetProperty("distinct").GetInt64());
            Assert.Equal(10L * i, columns[i].GetProperty("max").GetInt64());
        }
    }

    [Fact]
    public async Task ProfileOfAnUnknownDatasetIsNotFound()
    {
        // Act
        using var response = await app.Client.PostAsync($"/datasets/{TestDatasets.NewName("nothing")}/profile", null);

        // Assert
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task ProfileJobOfADatasetGoneByRunTimeFailsNotFound()
    {
        // Arrange: queued straight on the queue, as if the dataset was deleted after submission.
        using var response = await app.Client.PostAsJsonAsync("/jobs", new { kind = "profile", args = new { dataset = TestDatasets.NewName("gone") } });
        var queued = await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);

        // Act
        var job = await app.WaitAsync(queued!.Id);

        // Assert
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("not_found", job.Error?.Code);
        Assert.Equal(1, job.Attempts);
    }

    private static void AssertCounts(JsonElement column, long count, long nulls, long distinct)
    {
        Assert.Equal(count, column.GetProperty("count").GetInt64());
        Assert.Equal(nulls, column.GetProperty("nulls").GetInt64());
        Assert.Equal(distinct, column.GetProperty("distinct").GetInt64());
    }

    private static double SampleStddev(double[] values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string RowSql(int i)
    {
        static string Literal(object? value) => value switch
        {
            null => "NULL",
            string s => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'",
            bool b => b ? "true" : "false",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            long l => l.ToString(CultureInfo.InvariantCulture),
            DateOnly d => $"'{d:yyyy-MM-dd}'",
            DateTime t => $"'{t:yyyy-MM-dd HH:mm:ss}'",
            _ => throw new ArgumentOutOfRangeException(nameof(value)),
        };

        var row = new StringBuilder("(");
        row.AppendJoin(", ", new[] { Literal(s_ids[i]), Literal(s_amounts[i]), Literal(s_cities[i]), Literal(s_active[i]), Literal(s_days[i]), Literal(s_times[i]) });
        row.Append(", ").Append(s_times[i] is { } utc ? $"'{utc:yyyy-MM-dd HH:mm:ss}+00'" : "NULL").Append(')');
        return row.ToString();
    }
}

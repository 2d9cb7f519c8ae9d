using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DataStack.Processing.Datasets;
using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests;

public sealed class CatalogTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    [Fact]
    public async Task RowsComeBackAsTypedJson()
    {
        // Arrange
        var name = await CreateDatasetAsync("rows_json");

        // Act
        var rows = await app.Client.GetFromJsonAsync<JsonElement>($"/datasets/{name}/rows?limit=10");

        // Assert
        Assert.Equal(2, rows.GetArrayLength());
        var first = rows[0];
        Assert.Equal(1, first.GetProperty("id").GetInt64());
        Assert.Equal("a, \"quoted\" one", first.GetProperty("label").GetString());
        Assert.Equal(2.5, first.GetProperty("amount").GetDouble());
        Assert.True(first.GetProperty("ok").GetBoolean());
        Assert.Equal("2024-01-05T08:13:00", first.GetProperty("at").GetString());
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("label").ValueKind);
    }

    [Fact]
    public async Task RowsComeBackAsCsvWhenAsked()
    {
        // Arrange
        var name = await CreateDatasetAsync("rows_csv");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/datasets/{name}/rows?limit=1");
        request.Headers.Accept.ParseAdd("text/csv");

        // Act
        using var response = await app.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        // Assert
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("id,label,amount,ok,at\n1,\"a, \"\"quoted\"\" one\",2.5,true,2024-01-05T08:13:00\n", body);
    }

    [Fact]
    public async Task RowsPageWithLimitAndOffset()
    {
        // Arrange
        var name = await CreateDatasetAsync("rows_page");

        // Act
        var rows = await app.Client.GetFromJsonAsync<JsonElement>($"/datasets/{name}/rows?limit=1&offset=1");

        // Assert
        Assert.Equal(1, rows.GetArrayLength());
        Assert.Equal(2, rows[0].GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task DatasetShowsItsColumnsAndRowCount()
    {
        // Arrange
        var name = await CreateDatasetAsync("catalog_get");

        // Act
        var dataset = await app.Client.GetFromJsonAsync<Dataset>($"/datasets/{name}", JsonSerializerOptions.Web);
        var all = await app.Client.GetFromJsonAsync<List<Dataset>>("/datasets", JsonSerializerOptions.Web);

        // Assert
        Assert.Equal(2, dataset!.RowCount);
        Assert.Equal(["id", "label", "amount", "ok", "at"], dataset.Columns.Select(c => c.Name));
        Assert.Contains(all!, d => d.Name == name);
    }

    [Fact]
    public async Task DeleteDropsTheTableAndTheCatalogEntry()
    {
        // Arrange
        var name = await CreateDatasetAsync("catalog_delete");

        // Act
        using var deleted = await app.Client.DeleteAsync($"/datasets/{name}");
        using var again = await app.Client.DeleteAsync($"/datasets/{name}");
        using var get = await app.Client.GetAsync($"/datasets/{name}");

        // Assert
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Null(await Sql.ScalarAsync<string>(app.ConnectionString, "SELECT to_regclass($1)::text", $"datasets.{name}"));
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("a;drop table x")]
    [InlineData("1starts_with_digit")]
    [InlineData("robert');--")]
    public async Task InvalidDatasetNamesAreBadRequests(string name)
    {
        // Act
        using var response = await app.Client.GetAsync($"/datasets/{Uri.EscapeDataString(name)}");

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ATooLongDatasetNameIsABadRequest()
    {
        // Act
        using var response = await app.Client.GetAsync($"/datasets/{new string('a', 64)}");

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private async Task<string> CreateDatasetAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..40];
        await Sql.ExecuteAsync(app.ConnectionString, $$"""
            CREATE TABLE datasets."{{name}}" (id bigint, label text, amount double precision, ok boolean, at timestamp);
            INSERT INTO datasets."{{name}}" VALUES (1, 'a, "quoted" one', 2.5, true, '2024-01-05 08:13:00'), (2, NULL, -1, false, NULL);
            INSERT INTO datastack.datasets (name, columns, row_count, source) VALUES ('{{name}}', '[
                {"name": "id", "type": "bigint"}, {"name": "label", "type": "text"},
                {"name": "amount", "type": "double precision"}, {"name": "ok", "type": "boolean"},
                {"name": "at", "type": "timestamp"}]', 2, 'test');
            """);
        return name;
    }
}

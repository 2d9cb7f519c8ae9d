using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;
using System.Text.Json;
using DataStack.Processing.Datasets;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using Npgsql;

namespace DataStack.Processing.Api;

/// <summary><c>GET /datasets/{name}/rows</c>: a page of rows, streamed as JSON objects or as CSV.</summary>
public static class DatasetRows
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 100_000;

    public static async Task<Results<EmptyHttpResult, ProblemHttpResult, ValidationProblem>> GetRows(
        string name,
        [Range(0, MaxLimit)] int? limit,
        [Range(0, long.MaxValue)] long? offset,
        HttpContext context,
        DatasetCatalog catalog,
        NpgsqlDataSource dataSource,
        CancellationToken cancellationToken)
    {
        if (!DatasetName.IsValid(name))
        {
            return Problems.InvalidDatasetName(name);
        }

        if (limit is < 0 or > MaxLimit)
        {
            return Problems.Validation("limit", $"Between 0 and {MaxLimit}.");
        }

        if (offset is < 0)
        {
            return Problems.Validation("offset", "Zero or more.");
        }

        if (await catalog.GetAsync(name, cancellationToken) is null)
        {
            return Problems.DatasetNotFound(name);
        }

        await using var command = dataSource.CreateCommand($"SELECT * FROM {DatasetName.QualifiedTable(name)} LIMIT $1 OFFSET $2");
        command.Parameters.Add(new() { Value = limit ?? DefaultLimit });
        command.Parameters.Add(new() { Value = offset ?? 0 });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);

        var response = context.Response;
        if (WantsCsv(context.Request))
        {
            response.ContentType = "text/csv; charset=utf-8";
            await WriteCsvAsync(reader, response.BodyWriter.AsStream(), cancellationToken);
        }
        else
        {
            response.ContentType = "application/json; charset=utf-8";
            await WriteJsonAsync(reader, response.BodyWriter.AsStream(), cancellationToken);
        }

        return TypedResults.Empty;
    }

    private static bool WantsCsv(HttpRequest request) =>
        MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted)
        && accepted.Any(a => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase));

    private static async Task WriteJsonAsync(NpgsqlDataReader reader, Stream body, CancellationToken cancellationToken)
    {
        await using var writer = new Utf8JsonWriter(body);
        var names = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
        writer.WriteStartArray();
        while (await reader.ReadAsync(cancellationToken))
        {
            writer.WriteStartObject();
            for (var i = 0; i < names.Length; i++)
            {
                writer.WritePropertyName(names[i]);
                if (reader.IsDBNull(i))
                {
                    writer.WriteNullValue();
                    continue;
                }

                switch (reader.GetValue(i))
                {
                    case bool b: writer.WriteBooleanValue(b); break;
                    case long l: writer.WriteNumberValue(l); break;
                    case int n: writer.WriteNumberValue(n); break;
                    case double d when double.IsFinite(d): writer.WriteNumberValue(d); break;
                    case double d: writer.WriteStringValue(d.ToString(CultureInfo.InvariantCulture)); break;
                    case decimal m: writer.WriteNumberValue(m); break;
                    case DateTime dt: writer.WriteStringValue(FormatTimestamp(dt)); break;
                    case DateOnly date: writer.WriteStringValue(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)); break;
                    case var other: writer.WriteStringValue(Convert.ToString(other, CultureInfo.InvariantCulture)); break;
                }
            }

            writer.WriteEndObject();
            if (writer.BytesPending > 32 * 1024)
            {
                await writer.FlushAsync(cancellationToken);
            }
        }

        writer.WriteEndArray();
        await writer.FlushAsync(cancellationToken);
    }

    private static async Task WriteCsvAsync(NpgsqlDataReader reader, Stream body, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 15);
        var line = new StringBuilder();
        for (var i = 0; i < reader.FieldCount; i++)
        {
            AppendField(line, i, reader.GetName(i));
        }

        await writer.WriteAsync(line.Append('\n'), cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            line.Clear();
            for (var i = 0; i < reader.FieldCount; i++)
            {
                AppendField(line, i, reader.IsDBNull(i) ? "" : FormatCsvValue(reader.GetValue(i)));
            }

            await writer.WriteAsync(line.Append('\n'), cancellationToken);
        }

        await writer.FlushAsync(cancellationToken);
    }

    private static string FormatCsvValue(object value) => value switch
    {
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        DateTime dt => FormatTimestamp(dt),
        DateOnly date => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static string FormatTimestamp(DateTime value) => value.Kind == DateTimeKind.Utc
        ? value.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture)
        : value.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);

    private static void AppendField(StringBuilder line, int index, string value)
    {
        if (index > 0)
        {
            line.Append(',');
        }

        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            line.Append(value);
            return;
        }

        line.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }
}

using System.Text.Json;
using DataStack.Processing.Http;
using DataStack.Processing.Ingest;
using DataStack.Processing.Jobs;
using DataStack.Processing.OpenApi;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Npgsql;

namespace DataStack.Processing.Datasets;

/// <summary><c>/datasets</c>: upload, ingest, profile, transform, and the catalog.</summary>
public static class DatasetEndpoints
{
    /// <summary>Header that makes a submission safe to retry: the same key never queues a second job.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private static readonly string[] s_csvMediaTypes = ["text/csv", "application/csv", "text/plain"];

    public static RouteGroupBuilder MapDatasetEndpoints(this IEndpointRouteBuilder routes)
    {
        // Answers beyond the handlers' result types, for the OpenAPI document (401 and 503: ProcessingOpenApi).
        var group = routes.MapGroup("/datasets").WithTags("Datasets");
        group.MapGet("/", ListDatasets).WithName("ListDatasets").WithSummary("Every dataset in the catalog.");
        group.MapGet("/{name}", GetDataset).WithName("GetDataset").WithSummary("One dataset: columns, row count, source, profile.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{name}", DeleteDataset).WithName("DeleteDataset").WithSummary("Drop a dataset and its table.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPut("/{name}", UploadDataset).WithName("UploadDataset")
            .WithSummary("Upload a CSV body (text/csv; types inferred) or a DataFrame's columns (application/vnd.datastack.columns; types declared) into a dataset.")
            .Accepts<Stream>("text/csv", ColumnsReader.ContentType)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithMetadata(AcceptsIdempotencyKey.Instance);
        group.MapPost("/{name}/ingest", IngestDataset).WithName("IngestDataset")
            .WithSummary("Ingest a CSV file from the data folder into a dataset.")
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithMetadata(AcceptsIdempotencyKey.Instance);
        group.MapPost("/{name}/profile", ProfileDataset).WithName("ProfileDataset")
            .WithSummary("Compute column statistics and store them on the dataset.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithMetadata(AcceptsIdempotencyKey.Instance);
        group.MapPost("/{name}/transform", TransformDataset).WithName("TransformDataset")
            .WithSummary("Materialise one read-only SELECT query as this dataset.")
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithMetadata(AcceptsIdempotencyKey.Instance);
        group.MapGet("/{name}/rows", DatasetRows.GetRows).WithName("GetDatasetRows")
            .WithSummary("Rows of a dataset as JSON, or CSV with Accept: text/csv.")
            .Produces(StatusCodes.Status200OK, typeof(IEnumerable<Dictionary<string, object?>>), "application/json", "text/csv")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    public static async Task<Ok<IReadOnlyList<Dataset>>> ListDatasets(DatasetCatalog catalog, CancellationToken cancellationToken) =>
        TypedResults.Ok(await catalog.ListAsync(cancellationToken));

    public static async Task<Results<Ok<Dataset>, ProblemHttpResult>> GetDataset(
        string name, DatasetCatalog catalog, CancellationToken cancellationToken)
    {
        if (!DatasetName.IsValid(name))
        {
            return Problems.InvalidDatasetName(name);
        }

        return await catalog.GetAsync(name, cancellationToken) is { } dataset ? TypedResults.Ok(dataset) : Problems.DatasetNotFound(name);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteDataset(
        string name, DatasetCatalog catalog, CancellationToken cancellationToken)
    {
        if (!DatasetName.IsValid(name))
        {
            return Problems.InvalidDatasetName(name);
        }

        return await catalog.DeleteAsync(name, cancellationToken) ? TypedResults.NoContent() : Problems.DatasetNotFound(name);
    }

    /// <summary>
    /// Checks the upload, has <see cref="UploadReceiver"/> copy its rows into a staged table (never into memory or onto
    /// a disk another replica would need), then queues the ingest job in the same transaction: the job, on any
    /// replica, swaps the table in. The body is limited to <c>Processing:MaxUploadBytes</c> (413 beyond). A body that
    /// cannot be staged is still answered 202: its job fails with the row and column of the first problem.
    /// </summary>
    public static async Task<Results<Accepted<Job>, Ok<Job>, ProblemHttpResult, ValidationProblem>> UploadDataset(
        string name,
        string? mode,
        string? delimiter,
        bool? header,
        HttpRequest request,
        DatasetCatalog catalog,
        UploadReceiver receiver,
        JobSubmitter submitter,
        IOptions<ProcessingOptions> options,
        CancellationToken cancellationToken)
    {
        if (!DatasetName.IsValid(name))
        {
            return Problems.InvalidDatasetName(name);
        }

        var format = IsColumnsContentType(request.ContentType) ? IngestFormat.Columns : IngestFormat.Csv;
        if (format == IngestFormat.Csv && !IsCsvContentType(request.ContentType))
        {
            return UnsupportedMediaType(request.ContentType);
        }

        var (ingestMode, separator, problem) = ParseOptions(mode, delimiter);
        if (problem is not null)
        {
            return problem;
        }

        if (ingestMode == IngestMode.Fail && await catalog.GetAsync(name, cancellationToken) is not null)
        {
            return Problems.DatasetExists(name);
        }

        var limit = options.Value.MaxUploadBytes;
        if (request.ContentLength > limit)
        {
            return TooLarge(limit);
        }

        var received = await receiver.ReceiveAsync(request, new UploadRequest(name, format, ingestMode, separator[0], header ?? true), cancellationToken);
        if (received.IsTooLarge)
        {
            return TooLarge(limit);
        }

        await using var staging = received.Staging;
        var args = new IngestArgs
        {
            Dataset = name,
            Mode = ingestMode,
            Delimiter = separator,
            Header = header ?? true,
            Upload = true,
            Format = format,
            Staged = staging?.Upload,
            Rejected = received.Rejection,
        };

        // The job is queued in the transaction that holds the staged table: they commit together. Not queued (invalid,
        // or an earlier submission with the same key): the staged table goes with its transaction.
        var result = await SubmitAsync(JobKinds.Ingest, args.ToJson(), request, submitter, staging?.Connection, cancellationToken);
        if (result.Result is Accepted<Job> && staging is not null)
        {
            await staging.CommitAsync();
        }

        return result;
    }

    public static async Task<Results<Accepted<Job>, Ok<Job>, ProblemHttpResult, ValidationProblem>> IngestDataset(
        string name,
        IngestFileRequest body,
        HttpRequest request,
        DatasetCatalog catalog,
        JobSubmitter submitter,
        IOptions<ProcessingOptions> options,
        CancellationToken cancellationToken)
    {
        if (!DatasetName.IsValid(name))
        {
            return Problems.InvalidDatasetName(name);
        }

        var (ingestMode, separator, problem) = ParseOptions(body.Mode, body.Delimiter);
        if (problem is not null)
        {
            return problem;
        }

        if (!DataFolder.Exists(options.Value.DataDir))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "No data folder", detail: DataFolder.NoDataFolderMessage);
        }

        if (!DataFolder.TryResolve(options.Value.DataDir, body.Path, out var fullPath, out var pathError))
        {
            return Problems.Validation("path", pathError);
        }

        if (!File.Exists(fullPath))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "File not found",
                detail: DataFolder.MissingFileMessage(options.Value.DataDir, body.Path!));
        }

        if (ingestMode == IngestMode.Fail && await catalog.GetAsync(name, cancellationToken) is not null)
        {
            return Problems.DatasetExists(name);
        }

        var args = new IngestArgs
        {
            Dataset = name,
            Path = Path.GetRelativePath(Path.GetFullPath(options.Value.DataDir), fullPath),
            Mode = ingestMode,
            Delimiter = separator,
            Header = body.Header ?? true,
        };
        return await SubmitAsync(JobKinds.Ingest, args.ToJson(), request, submitter, connection: null, cancellationToken);
    }

    public static async Task<Results<Accepted<Job>, Ok<Job>, ProblemHttpResult, ValidationProblem>> ProfileDataset(
        string name, HttpRequest request, DatasetCatalog catalog, JobSubmitter submitter, CancellationToken cancellationToken)
    {
        if (!DatasetName.IsValid(name))
        {
            return Problems.InvalidDatasetName(name);
        }

        if (await catalog.GetAsync(name, cancellationToken) is null)
        {
            return Problems.DatasetNotFound(name);
        }

        var args = JsonSerializer.SerializeToElement(new { dataset = name });
        return await SubmitAsync(JobKinds.Profile, args, request, submitter, connection: null, cancellationToken);
    }

    public static async Task<Results<Accepted<Job>, Ok<Job>, ProblemHttpResult, ValidationProblem>> TransformDataset(
        string name, TransformRequest body, HttpRequest request, JobSubmitter submitter, CancellationToken cancellationToken)
    {
        if (!DatasetName.IsValid(name))
        {
            return Problems.InvalidDatasetName(name);
        }

        var args = JsonSerializer.SerializeToElement(new { dataset = name, query = body.Query });
        return await SubmitAsync(JobKinds.Transform, args, request, submitter, connection: null, cancellationToken);
    }

    private static async Task<Results<Accepted<Job>, Ok<Job>, ProblemHttpResult, ValidationProblem>> SubmitAsync(
        string kind, JsonElement args, HttpRequest request, JobSubmitter submitter, NpgsqlConnection? connection, CancellationToken cancellationToken)
    {
        var errors = submitter.Validate(kind, args);
        if (errors.Count > 0)
        {
            return Problems.Validation(new Dictionary<string, string[]>(errors));
        }

        string? key = request.Headers[IdempotencyKeyHeader];
        if (key?.Length > JobSubmitter.MaxIdempotencyKeyLength)
        {
            return Problems.Validation(IdempotencyKeyHeader, $"At most {JobSubmitter.MaxIdempotencyKeyLength} characters.");
        }

        var (job, created) = await submitter.SubmitAsync(connection, kind, args, string.IsNullOrEmpty(key) ? null : key, cancellationToken);
        return created ? TypedResults.Accepted($"/jobs/{job.Id}", job) : TypedResults.Ok(job);
    }

    private static (IngestMode Mode, string Delimiter, ValidationProblem? Problem) ParseOptions(string? mode, string? delimiter)
    {
        if (!IngestArgs.TryParseMode(mode, out var ingestMode))
        {
            return (default, ",", Problems.Validation("mode", "One of fail (default), replace, append."));
        }

        var separator = delimiter switch
        {
            null or "" => ",",
            "tab" or "\\t" => "\t",
            _ => delimiter,
        };
        if (separator.Length != 1 || !CsvReader.IsValidDelimiter(separator[0]))
        {
            return (default, ",", Problems.Validation("delimiter", "A single ASCII character other than a quote or a line break (or 'tab')."));
        }

        return (ingestMode, separator, null);
    }

    private static bool IsColumnsContentType(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && parsed.MediaType.Equals(ColumnsReader.ContentType, StringComparison.OrdinalIgnoreCase);

    private static bool IsCsvContentType(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed))
        {
            return false;
        }

        var charset = parsed.Charset.Value;
        return s_csvMediaTypes.Contains(parsed.MediaType.Value, StringComparer.OrdinalIgnoreCase)
            && (charset is null || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase));
    }

    private static ProblemHttpResult UnsupportedMediaType(string? contentType) => TypedResults.Problem(
        statusCode: StatusCodes.Status415UnsupportedMediaType,
        title: "Unsupported media type",
        detail: $"Send the CSV with 'Content-Type: text/csv' (UTF-8), or a DataFrame's columns with '{ColumnsReader.ContentType}'; got '{Problems.Truncate(contentType ?? "none")}'.");

    private static ProblemHttpResult TooLarge(long limit) => TypedResults.Problem(
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "Upload too large",
        detail: $"The upload exceeds the limit of {limit} bytes (Processing:MaxUploadBytes).");
}

/// <summary>Body of <c>POST /datasets/{name}/ingest</c>.</summary>
public sealed record IngestFileRequest(string? Path, string? Mode, string? Delimiter, bool? Header);

/// <summary>Body of <c>POST /datasets/{name}/transform</c>.</summary>
public sealed record TransformRequest(string? Query);

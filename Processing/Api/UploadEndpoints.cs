using DataStack.Processing.Datasets;
using DataStack.Processing.Ingest;
using DataStack.Processing.Ingest.Columns;
using DataStack.Processing.Ingest.Copying;
using DataStack.Processing.Ingest.Csv;
using DataStack.Processing.Ingest.Receiving;
using DataStack.Processing.Jobs;
using DataStack.Processing.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace DataStack.Processing.Api;

/// <summary>
/// <c>PUT /datasets/{name}</c> (an upload) and <c>POST /datasets/{name}/ingest</c> (a file of the data folder): the
/// request halves of an ingest. An upload reads in one direction: validate, receive (<see cref="UploadReceiver"/>: the
/// rows into a staged table), hand over (<see cref="UploadHandover"/>: the job queued with them), answer.
/// </summary>
public static class UploadEndpoints
{
    private static readonly string[] s_csvMediaTypes = ["text/csv", "application/csv", "text/plain"];

    /// <summary>
    /// An upload: a CSV body (types inferred) or a DataFrame's columns (types declared), within
    /// <c>Processing:MaxUploadBytes</c> (413 beyond). A body that cannot be staged is still answered 202: its job fails
    /// with the row and column of the first problem.
    /// </summary>
    public static async Task<Results<Accepted<Job>, Ok<Job>, ProblemHttpResult, ValidationProblem>> UploadDataset(
        string name,
        string? mode,
        string? delimiter,
        bool? header,
        HttpRequest request,
        DatasetCatalog catalog,
        UploadReceiver receiver,
        UploadHandover handover,
        IOptions<IngestOptions> options,
        CancellationToken cancellationToken)
    {
        // Validate.
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
        var (key, keyProblem) = JobSubmission.ReadIdempotencyKey(request);
        if ((problem ?? keyProblem) is { } invalid)
        {
            return invalid;
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

        // Receive: the rows go into a staged table, never into memory.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        var upload = new UploadRequest(name, format, ingestMode, separator[0], header ?? true);
        ReceivedUpload received;
        try
        {
            received = await receiver.ReceiveAsync(request.Body, upload, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(limit);
        }

        // Hand over, then answer.
        var (job, created) = await handover.HandOverAsync(upload, received, key, cancellationToken);
        return JobSubmission.Answer(job, created);
    }

    /// <summary>An ingest of a CSV file the user put in the data folder (<c>422</c> where Processing has none).</summary>
    public static async Task<Results<Accepted<Job>, Ok<Job>, ProblemHttpResult, ValidationProblem>> IngestDataset(
        string name,
        IngestFileRequest body,
        HttpRequest request,
        DatasetCatalog catalog,
        JobSubmitter submitter,
        IOptions<IngestOptions> options,
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

        var dataDir = options.Value.DataDir;
        if (!DataFolder.Exists(dataDir))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "No data folder", detail: DataFolder.NoDataFolderMessage);
        }

        if (!DataFolder.TryResolve(dataDir, body.Path, out var fullPath, out var pathError))
        {
            return Problems.Validation("path", pathError);
        }

        if (!File.Exists(fullPath))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "File not found",
                detail: DataFolder.MissingFileMessage(dataDir, body.Path!));
        }

        if (ingestMode == IngestMode.Fail && await catalog.GetAsync(name, cancellationToken) is not null)
        {
            return Problems.DatasetExists(name);
        }

        var args = new IngestArgs
        {
            Dataset = name,
            Path = Path.GetRelativePath(Path.GetFullPath(dataDir), fullPath),
            Mode = ingestMode,
            Delimiter = separator,
            Header = body.Header ?? true,
        };
        return await JobSubmission.SubmitAsync(IngestJobHandler.KindName, args.ToJson(), request, submitter, cancellationToken);
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
        detail: $"Send the CSV with 'Content-Type: text/csv' (UTF-8), or a DataFrame's columns with '{ColumnsReader.ContentType}'; got '{UserInput.Excerpt(contentType ?? "none")}'.");

    private static ProblemHttpResult TooLarge(long limit) => TypedResults.Problem(
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "Upload too large",
        detail: $"The upload exceeds the limit of {limit} bytes (Processing:MaxUploadBytes).");
}

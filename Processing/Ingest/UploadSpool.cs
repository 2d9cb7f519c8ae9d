using DataStack.Processing.Telemetry;
using Microsoft.AspNetCore.Http.Features;
using Npgsql;

namespace DataStack.Processing.Ingest;

/// <summary>
/// Receives an upload's body into a spool file in the data folder's <c>.uploads</c> folder, never into memory,
/// within <c>Processing:MaxUploadBytes</c>. A CSV body gets ingest's first pass (<see cref="IngestScan"/>) over the
/// same bytes as they arrive, so its job reads the spool file once; a columns body may be copied into its staged
/// table as it arrives (<see cref="UploadStaging"/>). Whatever goes wrong, nothing is left behind.
/// </summary>
internal static partial class UploadSpool
{
    private const int BufferSize = 1 << 16;

    /// <summary>
    /// Spools <paramref name="request"/>'s body. Returns null when the body is over the limit (the file is removed);
    /// rethrows a client that went away or a disk that failed, after removing the file and logging why. With
    /// <paramref name="stageWith"/>, a columns body is also copied into its staged table as it arrives.
    /// </summary>
    public static async Task<SpooledUpload?> ReceiveAsync(
        HttpRequest request,
        string dataset,
        IngestFormat format,
        char delimiter,
        bool header,
        NpgsqlDataSource? stageWith,
        ProcessingOptions options,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        var limit = options.MaxUploadBytes;
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        try
        {
            Directory.CreateDirectory(options.UploadsDirectory);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new DataFolderNotWritableException(ex);
        }

        var spoolName = $"{Guid.NewGuid():N}{(format == IngestFormat.Columns ? ".columns" : ".csv")}";
        var spoolPath = Path.Combine(options.UploadsDirectory, spoolName);
        UploadStaging? staging = null;
        try
        {
            long received;
            IngestScan? scan = null;
            await using (var file = new FileStream(spoolPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous))
            {
                if (format == IngestFormat.Columns && stageWith is not null)
                {
                    staging = await UploadStaging.CopyWhileSpoolingAsync(stageWith, request.Body, file, spoolName, logger, cancellationToken);
                }
                else if (format == IngestFormat.Columns)
                {
                    await request.Body.CopyToAsync(file, BufferSize, cancellationToken);
                }
                else
                {
                    scan = await ScanWhileSpoolingAsync(request.Body, file, delimiter, header, cancellationToken);
                }

                received = file.Length;
            }

            if (received > limit)
            {
                await DiscardAsync(staging, spoolPath);
                return null;
            }

            return new SpooledUpload(spoolPath, Path.Combine(".uploads", spoolName), scan, staging);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await DiscardAsync(staging, spoolPath);
            return null;
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or BadHttpRequestException)
        {
            // The client went away or the disk failed: nothing was queued, so leave nothing behind.
            await DiscardAsync(staging, spoolPath);
            Log.UploadAborted(logger, dataset, ex.Message);
            throw;
        }
    }

    /// <summary>
    /// Writes the upload to <paramref name="spool"/> and runs ingest's first pass over the same bytes as they
    /// arrive, so the job reads the spool file once. Input the first pass rejects is still spooled whole and
    /// queued without a scan: its job then fails with the same error, row and column as a file's would.
    /// </summary>
    private static async Task<IngestScan?> ScanWhileSpoolingAsync(
        Stream body, Stream spool, char delimiter, bool header, CancellationToken cancellationToken)
    {
        using var activity = ProcessingTelemetry.ActivitySource.StartActivity("ingest infer");
        try
        {
            var scan = await IngestScan.ScanAsync(new CopyingReadStream(body, spool), delimiter, header, progress: null, cancellationToken);
            activity?.SetTag("datastack.ingest.rows", scan.Rows);
            activity?.SetTag("datastack.ingest.bytes", scan.Bytes);
            return scan;
        }
        catch (IngestFormatException ex)
        {
            activity?.SetTag("datastack.ingest.error", ex.Code);
            await body.CopyToAsync(spool, BufferSize, cancellationToken);
            return null;
        }
    }

    private static async Task DiscardAsync(UploadStaging? staging, string spoolPath)
    {
        if (staging is not null)
        {
            await staging.DisposeAsync();
        }

        File.Delete(spoolPath);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Upload to dataset {Dataset} aborted: {Reason}")]
        public static partial void UploadAborted(ILogger logger, string dataset, string reason);
    }
}

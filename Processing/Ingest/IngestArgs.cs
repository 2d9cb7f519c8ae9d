using System.Text.Json;
using System.Text.Json.Serialization;
using DataStack.Processing.Ingest.Copying;
using DataStack.Processing.Ingest.Receiving;
using DataStack.Processing.Jobs;

namespace DataStack.Processing.Ingest;

/// <summary>
/// Arguments of an <c>ingest</c> job, as stored on the job. A file ingest names <see cref="Path"/>, relative to
/// the data folder. An upload (<see cref="Upload"/> true) names no file: its request copied the rows into a staged
/// table (<see cref="Staged"/>), committed with this job, or found the body malformed (<see cref="Rejected"/>), so
/// its job can run on any replica.
/// </summary>
public sealed record IngestArgs
{
    public required string Dataset { get; init; }

    /// <summary>The file to load, relative to the data folder; absent for an upload.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Path { get; init; }

    public IngestMode Mode { get; init; } = IngestMode.Fail;

    public string Delimiter { get; init; } = ",";

    public bool Header { get; init; } = true;

    public bool Upload { get; init; }

    /// <summary>CSV unless said otherwise; <see cref="Delimiter"/> and <see cref="Header"/> apply to CSV only.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public IngestFormat Format { get; init; }

    /// <summary>The table an upload's request copied its rows into; the job swaps it in (or appends it). Set by the upload endpoint.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public StagedUpload? Staged { get; init; }

    /// <summary>
    /// Why an upload's body could not be staged (malformed, or columns that do not match the dataset appended to),
    /// with the row and column of the first problem: its job fails with this error. Set by the upload endpoint.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JobError? Rejected { get; init; }

    /// <summary>The arguments of an upload's job: its staged rows, or the reason they could not be staged.</summary>
    public static IngestArgs ForUpload(UploadRequest upload, ReceivedUpload received) => new()
    {
        Dataset = upload.Dataset,
        Mode = upload.Mode,
        Delimiter = upload.Delimiter.ToString(),
        Header = upload.Header,
        Upload = true,
        Format = upload.Format,
        Staged = received.Staging?.Upload,
        Rejected = received.Rejection,
    };

    public JsonElement ToJson() => JsonSerializer.SerializeToElement(this, JsonSerializerOptions.Web);

    public static IngestArgs? FromJson(JsonElement args) => args.Deserialize<IngestArgs>(JsonSerializerOptions.Web);

    public static bool TryParseMode(string? value, out IngestMode mode)
    {
        switch (value)
        {
            case null or "" or "fail": mode = IngestMode.Fail; return true;
            case "replace": mode = IngestMode.Replace; return true;
            case "append": mode = IngestMode.Append; return true;
            default: mode = default; return false;
        }
    }
}

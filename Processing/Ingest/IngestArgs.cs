using System.Text.Json;
using System.Text.Json.Serialization;
using DataStack.Processing.Jobs;

namespace DataStack.Processing.Ingest;

/// <summary>How a CSV file lands in a dataset.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<IngestMode>))]
public enum IngestMode
{
    /// <summary>Refuse if the dataset exists (the default).</summary>
    [JsonStringEnumMemberName("fail")]
    Fail,

    /// <summary>Swap the dataset for the new data atomically.</summary>
    [JsonStringEnumMemberName("replace")]
    Replace,

    /// <summary>Add rows to the dataset; the columns must match.</summary>
    [JsonStringEnumMemberName("append")]
    Append,
}

/// <summary>The format of the file an ingest loads.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<IngestFormat>))]
public enum IngestFormat
{
    /// <summary>CSV (RFC 4180); types are inferred.</summary>
    [JsonStringEnumMemberName("csv")]
    Csv,

    /// <summary>The columns format <c>datastack.upload(DataFrame)</c> sends (docs/columns-format.md); types are declared.</summary>
    [JsonStringEnumMemberName("columns")]
    Columns,
}

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

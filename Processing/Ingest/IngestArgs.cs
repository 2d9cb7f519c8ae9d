using System.Text.Json;
using System.Text.Json.Serialization;

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
/// Arguments of an <c>ingest</c> job, as stored on the job. <see cref="Path"/> is relative to the data
/// folder; uploads are spooled to <c>.uploads/</c> there (<see cref="Upload"/> true) and removed once the
/// job has ended.
/// </summary>
public sealed record IngestArgs
{
    public required string Dataset { get; init; }

    public required string Path { get; init; }

    public IngestMode Mode { get; init; } = IngestMode.Fail;

    public string Delimiter { get; init; } = ",";

    public bool Header { get; init; } = true;

    public bool Upload { get; init; }

    /// <summary>CSV unless said otherwise; <see cref="Delimiter"/> and <see cref="Header"/> apply to CSV only.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public IngestFormat Format { get; init; }

    /// <summary>
    /// An upload's first pass, run while the body was received, so the job only runs the COPY pass (which
    /// checks the file against it). Set by the upload endpoint; absent for files of the data folder.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IngestScan? Scan { get; init; }

    /// <summary>
    /// A columns upload (mode fail or replace) copied while it was received: the job swaps the table in instead
    /// of loading the spool file. Set by the upload endpoint only.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public StagedUpload? Staged { get; init; }

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

using System.Text.Json.Serialization;

namespace DataStack.Processing.Ingest.Receiving;

/// <summary>The format of an upload's body, or of a file an ingest loads.</summary>
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

using System.Text.Json.Serialization;

namespace DataStack.Processing.Ingest.Copying;

/// <summary>How an ingest lands in its dataset.</summary>
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

using DataStack.Processing.Ingest.Copying;

namespace DataStack.Processing.Ingest.Csv;

/// <summary>
/// The errors <see cref="CsvReader"/> raises, one factory per job error code, so the reader's hot loop holds
/// only the checks. Record numbers and fields are 1-based; the byte offset is where the
/// record starts in the file.
/// </summary>
internal static class CsvErrors
{
    public static IngestFormatException RecordTooLarge(long recordNumber, long byteOffset) => new(
        "record_too_large",
        $"Record {recordNumber} is larger than {CsvReader.MaxRecordBytes / (1 << 20)} MiB.",
        recordNumber,
        byteOffset: byteOffset);

    public static IngestFormatException TooManyColumns(long recordNumber, int field, long byteOffset) => new(
        "too_many_columns",
        $"Record {recordNumber} has more than {CsvReader.MaxColumns} fields (PostgreSQL's column limit).",
        recordNumber,
        field,
        byteOffset);

    public static IngestFormatException UnterminatedQuote(long recordNumber, int field, long byteOffset) => new(
        "unterminated_quote",
        $"Record {recordNumber}, field {field}: a quoted field is not closed before the end of the file.",
        recordNumber,
        field,
        byteOffset);

    public static IngestFormatException TextAfterQuote(long recordNumber, int field, long byteOffset) => new(
        "text_after_quote",
        $"Record {recordNumber}, field {field}: text follows the closing quote of a quoted field (quotes inside a field must be doubled).",
        recordNumber,
        field,
        byteOffset);

    public static IngestFormatException RaggedRow(long recordNumber, int fieldCount, int expectedFieldCount, long byteOffset) => new(
        "ragged_row",
        $"Record {recordNumber} has {fieldCount} fields; the first record has {expectedFieldCount}.",
        recordNumber,
        Math.Min(fieldCount, expectedFieldCount) + 1,
        byteOffset);

    public static IngestFormatException InvalidUtf8(long recordNumber, int field, long byteOffset) => new(
        "invalid_utf8",
        $"Record {recordNumber}, field {field}: the bytes are not valid UTF-8 (save the file as UTF-8).",
        recordNumber,
        field,
        byteOffset);

    public static IngestFormatException NulByte(long recordNumber, int field, long byteOffset) => new(
        "nul_byte",
        $"Record {recordNumber}, field {field}: contains a NUL byte, which PostgreSQL text cannot store.",
        recordNumber,
        field,
        byteOffset);

    public static IngestFormatException FieldTooLarge(long recordNumber, int field, long byteOffset) => new(
        "field_too_large",
        $"Record {recordNumber}, field {field} is larger than {CsvReader.MaxFieldBytes / (1 << 20)} MiB.",
        recordNumber,
        field,
        byteOffset);
}

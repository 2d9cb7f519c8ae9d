using System.Text;

namespace DataStack.Processing.Tests.Telemetry;

/// <summary>
/// Just enough of the OTLP protobuf messages (opentelemetry-proto, trace/metrics/logs v1) to check what a
/// service exported, decoded by hand from the wire format: no protobuf package needed.
/// </summary>
public static class OtlpPayload
{
    // ExportTraceServiceRequest.resource_spans = 1; ResourceSpans: resource = 1, scope_spans = 2;
    // ScopeSpans: scope = 1, spans = 2; Span: trace_id = 1, span_id = 2, parent_span_id = 4, name = 5,
    // kind = 6, attributes = 9, links = 13; Link: trace_id = 1, span_id = 2.
    public static IEnumerable<OtlpSpan> ReadSpans(byte[] body)
    {
        foreach (var resourceSpans in Messages(body, 1))
        {
            var resource = ReadResource(resourceSpans);
            foreach (var scopeSpans in Messages(resourceSpans, 2))
            {
                var scope = ReadScopeName(scopeSpans);
                foreach (var span in Messages(scopeSpans, 2))
                {
                    string traceId = "", spanId = "", parentSpanId = "", name = "";
                    var kind = 0;
                    var attributes = new Dictionary<string, string>();
                    var links = new List<(string TraceId, string SpanId)>();
                    foreach (var field in Fields(span))
                    {
                        switch (field.Number)
                        {
                            case 1: traceId = Hex(field.Bytes); break;
                            case 2: spanId = Hex(field.Bytes); break;
                            case 4: parentSpanId = Hex(field.Bytes); break;
                            case 5: name = Utf8(field.Bytes); break;
                            case 6: kind = (int)field.Varint; break;
                            case 9: AddKeyValue(attributes, field.Bytes); break;
                            case 13:
                                var link = Fields(field.Bytes).ToList();
                                links.Add((Hex(link.First(f => f.Number == 1).Bytes), Hex(link.First(f => f.Number == 2).Bytes)));
                                break;
                        }
                    }

                    yield return new OtlpSpan(resource, scope, traceId, spanId, parentSpanId, name, kind, attributes, links);
                }
            }
        }
    }

    // ExportLogsServiceRequest.resource_logs = 1; ResourceLogs: resource = 1, scope_logs = 2;
    // ScopeLogs: scope = 1, log_records = 2; LogRecord: severity_number = 2, body = 5, attributes = 6,
    // trace_id = 9, span_id = 10.
    public static IEnumerable<OtlpLogRecord> ReadLogs(byte[] body)
    {
        foreach (var resourceLogs in Messages(body, 1))
        {
            var resource = ReadResource(resourceLogs);
            foreach (var scopeLogs in Messages(resourceLogs, 2))
            {
                var scope = ReadScopeName(scopeLogs);
                foreach (var record in Messages(scopeLogs, 2))
                {
                    string text = "", traceId = "", spanId = "";
                    var severity = 0;
                    var attributes = new Dictionary<string, string>();
                    foreach (var field in Fields(record))
                    {
                        switch (field.Number)
                        {
                            case 2: severity = (int)field.Varint; break;
                            case 5: text = AnyValueText(field.Bytes); break;
                            case 6: AddKeyValue(attributes, field.Bytes); break;
                            case 9: traceId = Hex(field.Bytes); break;
                            case 10: spanId = Hex(field.Bytes); break;
                        }
                    }

                    yield return new OtlpLogRecord(resource, scope, severity, text, attributes, traceId, spanId);
                }
            }
        }
    }

    // ExportMetricsServiceRequest.resource_metrics = 1; ResourceMetrics: resource = 1, scope_metrics = 2;
    // ScopeMetrics: scope = 1, metrics = 2; Metric: name = 1.
    public static IEnumerable<OtlpMetric> ReadMetrics(byte[] body)
    {
        foreach (var resourceMetrics in Messages(body, 1))
        {
            var resource = ReadResource(resourceMetrics);
            foreach (var scopeMetrics in Messages(resourceMetrics, 2))
            {
                var scope = ReadScopeName(scopeMetrics);
                foreach (var metric in Messages(scopeMetrics, 2))
                {
                    var name = Fields(metric).Where(f => f.Number == 1).Select(f => Utf8(f.Bytes)).FirstOrDefault() ?? "";
                    yield return new OtlpMetric(resource, scope, name);
                }
            }
        }
    }

    // Resource: attributes = 1 (KeyValue).
    private static IReadOnlyDictionary<string, string> ReadResource(ReadOnlyMemory<byte> container)
    {
        var attributes = new Dictionary<string, string>();
        foreach (var resource in Messages(container, 1))
        {
            foreach (var keyValue in Messages(resource, 1))
            {
                AddKeyValue(attributes, keyValue);
            }
        }

        return attributes;
    }

    // InstrumentationScope: name = 1.
    private static string ReadScopeName(ReadOnlyMemory<byte> container) =>
        Messages(container, 1).SelectMany(scope => Fields(scope)).Where(f => f.Number == 1).Select(f => Utf8(f.Bytes)).FirstOrDefault() ?? "";

    // KeyValue: key = 1, value = 2 (AnyValue).
    private static void AddKeyValue(Dictionary<string, string> target, ReadOnlyMemory<byte> keyValue)
    {
        string? key = null;
        var value = "";
        foreach (var field in Fields(keyValue))
        {
            if (field.Number == 1)
            {
                key = Utf8(field.Bytes);
            }
            else if (field.Number == 2)
            {
                value = AnyValueText(field.Bytes);
            }
        }

        if (key is not null)
        {
            target[key] = value;
        }
    }

    // AnyValue: string_value = 1, bool_value = 2, int_value = 3, double_value = 4 (others shown as "…").
    private static string AnyValueText(ReadOnlyMemory<byte> anyValue)
    {
        foreach (var field in Fields(anyValue))
        {
            return field.Number switch
            {
                1 => Utf8(field.Bytes),
                2 => field.Varint != 0 ? "true" : "false",
                3 => ((long)field.Varint).ToString(System.Globalization.CultureInfo.InvariantCulture),
                4 => BitConverter.Int64BitsToDouble((long)field.Varint).ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => "…",
            };
        }

        return "";
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Messages(ReadOnlyMemory<byte> container, int number) =>
        Fields(container).Where(f => f.Number == number && f.WireType == 2).Select(f => f.Bytes);

    /// <summary>The fields of one message: varints, fixed-size values (as their bits) and length-delimited bytes.</summary>
    private static IEnumerable<Field> Fields(ReadOnlyMemory<byte> message)
    {
        var position = 0;
        while (position < message.Length)
        {
            var tag = ReadVarint(message.Span, ref position);
            var number = (int)(tag >> 3);
            var wireType = (int)(tag & 7);
            switch (wireType)
            {
                case 0:
                    yield return new Field(number, wireType, ReadVarint(message.Span, ref position), default);
                    break;
                case 1:
                    yield return new Field(number, wireType, BitConverter.ToUInt64(message.Span.Slice(position, 8)), default);
                    position += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(message.Span, ref position);
                    yield return new Field(number, wireType, 0, message.Slice(position, length));
                    position += length;
                    break;
                case 5:
                    yield return new Field(number, wireType, BitConverter.ToUInt32(message.Span.Slice(position, 4)), default);
                    position += 4;
                    break;
                default:
                    throw new FormatException($"Unsupported protobuf wire type {wireType} (field {number}).");
            }
        }
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new FormatException("Malformed protobuf varint.");
    }

    private static string Hex(ReadOnlyMemory<byte> bytes) => Convert.ToHexStringLower(bytes.Span);

    private static string Utf8(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    private readonly record struct Field(int Number, int WireType, ulong Varint, ReadOnlyMemory<byte> Bytes);
}

/// <summary>A span as exported; ids in lowercase hex (empty parent id for a root span). Kind: 2 = server, 3 = client.</summary>
public sealed record OtlpSpan(
    IReadOnlyDictionary<string, string> Resource,
    string Scope,
    string TraceId,
    string SpanId,
    string ParentSpanId,
    string Name,
    int Kind,
    IReadOnlyDictionary<string, string> Attributes,
    IReadOnlyList<(string TraceId, string SpanId)> Links);

/// <summary>
/// A log record as exported; <see cref="Body"/> is the formatted message or the template. Severity numbers:
/// 1–4 trace, 5–8 debug, 9–12 info, 13–16 warn, 17–20 error, 21–24 fatal.
/// </summary>
public sealed record OtlpLogRecord(
    IReadOnlyDictionary<string, string> Resource,
    string Scope,
    int Severity,
    string Body,
    IReadOnlyDictionary<string, string> Attributes,
    string TraceId,
    string SpanId);

/// <summary>A metric as exported (name only; values are not needed here).</summary>
public sealed record OtlpMetric(IReadOnlyDictionary<string, string> Resource, string Scope, string Name);

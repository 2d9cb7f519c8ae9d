using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// A notebook run in the jupyter container's kernel as JupyterLab runs it (nbclient, the container's <c>python3</c>
/// kernelspec, the image's IPython startup file), followed in the dashboard's telemetry API: the notebook's half of
/// the trace, down to a pipeline the notebook ran as a job in a runner.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class NotebookTraceTests(StackFixture stack, ITestOutputHelper output)
{
    [DockerFact]
    public async Task NotebookCellsReachTheDashboardAsOneWaterfallWithTheirSecretsMasked()
    {
        // Arrange: each cell carries a marker in its first line, so its span can be told from every other.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        using var dashboard = await DashboardTelemetry.CreateAsync(stack, cts.Token);
        var run = Guid.NewGuid().ToString("N")[..10];
        var name = $"nbt_{run}";
        string Marker(string cell) => $"# {cell} {run}";
        string[] cells =
        [
            $"{Marker("setup")}\nimport os\nimport pandas as pd\nimport datastack as ds\nfrom datastack import tracing\nclient = ds.connect(progress=False)\nprint(tracing.status())",
            $"{Marker("upload")}\nuploaded = client.upload(pd.DataFrame({{\"x\": [1, 2, 3]}}), \"{name}\", mode=\"replace\")\nuploaded.row_count",
            $"%%sql\n-- sql {run}\nselect count(*) as n from {name}",
            $"{Marker("password")}\nwarehouse_password = \"{stack.NotebookPassword}\"\nlen(warehouse_password)",
            $"{Marker("failing")}\nraise RuntimeError(\"the warehouse refused the key \" + os.environ[\"DATASTACK_API_KEY\"])",
            $"{Marker("trips")}\nclient.ingest(\"samples/trips.csv\", \"trips_{run}\", mode=\"replace\").row_count",
            $"{Marker("run")}\nclient.run(\"pipelines.daily:summary\", day=\"2024-01-05\", source=\"trips_{run}\", target=\"zones_{run}\")",
            $"{Marker("status")}\nprint(tracing.flush())\nprint(tracing.status())",
        ];

        // Act
        var executed = await stack.RunNotebookInJupyterAsync(Notebook(cells), cts.Token);
        var outputs = OutputsOf(executed);
        output.WriteLine(string.Join("\n", outputs));
        Assert.True(
            outputs[0].Contains("tracing on, every cell is a span", StringComparison.Ordinal),
            $"The kernel does not trace its cells: {outputs[0]} (the jupyter image needs the OpenTelemetry SDK: tests/images/build-standins.sh installs it from ../shared/wheelhouse)");
        // The last cell flushed and printed the exporter's health: an untrusted certificate shows here, with its reason.
        Assert.True(
            outputs[^1].Contains("exports succeeding", StringComparison.Ordinal),
            $"The kernel's spans do not reach the dashboard: {outputs[^1]} (trust the developer certificate as the README's 'The developer certificate' says)");
        var spans = await dashboard.WaitForAllSpansAsync(
            all => cells.Select(CellKey).All(key => all.Any(span => IsCell(span, key))) && all.Any(span => span.IsJobIngest),
            cts.Token);

        // Assert: the upload cell is the root of one waterfall: cell → requests' PUT → processing's PUT → job ingest → SQL.
        var upload = spans.Single(span => IsCell(span, CellKey(cells[1])));
        Assert.Equal("jupyter", upload.Service);
        Assert.Null(upload.ParentSpanId);
        var trace = await dashboard.WaitForSpansAsync(upload.TraceId, t => t.Any(span => span.IsJobIngest) && t.Any(span => span.IsSql), cts.Token);
        var client = Assert.Single(trace, span => span.ParentSpanId == upload.SpanId && span.Attributes.GetValueOrDefault("http.method") == "PUT");
        Assert.Equal("jupyter", client.Service);
        var put = Assert.Single(trace, span => span.ParentSpanId == client.SpanId);
        Assert.Equal("processing", put.Service);
        Assert.StartsWith("PUT /datasets/", put.Name, StringComparison.Ordinal);
        var job = Assert.Single(trace, span => span.IsJobIngest && span.ParentSpanId == put.SpanId);
        Assert.Contains(trace, span => span.IsSql && span.Service == "processing" && Descends(trace, span, job));
        output.WriteLine($"Trace {upload.TraceId}: {string.Join(" | ", trace.Select(span => $"{span.Service}: {span.Name}"))}");

        // ... the %%sql cell has psycopg's span under it ...
        var sql = spans.Single(span => IsCell(span, CellKey(cells[2])));
        var sqlTrace = await dashboard.WaitForSpansAsync(sql.TraceId, t => t.Any(span => span.ParentSpanId == sql.SpanId && span.IsSql), cts.Token);
        Assert.Contains(sqlTrace, span => span.ParentSpanId == sql.SpanId && span.Service == "jupyter" && span.Attributes.GetValueOrDefault("db.system") == "postgresql");

        // ... the cell that runs a pipeline is the root of another: cell → POST /jobs → job python in a runner → the
        // pipeline's own HTTP calls and SQL, made by the runner ...
        var runCell = spans.Single(span => IsCell(span, CellKey(cells[6])));
        var runTrace = await dashboard.WaitForSpansAsync(
            runCell.TraceId, t => t.Any(span => span.Name == "job python") && t.Any(span => span.IsSql && span.Service.StartsWith("runner", StringComparison.Ordinal)), cts.Token);
        var post = Assert.Single(runTrace, span => span.Service == "processing" && span.Name.StartsWith("POST /jobs", StringComparison.Ordinal));
        Assert.True(Descends(runTrace, post, runCell), "POST /jobs is not under the cell that ran the pipeline");
        var pythonJob = Assert.Single(runTrace, span => span.Name == "job python" && span.ParentSpanId == post.SpanId);
        Assert.StartsWith("runner", pythonJob.Service, StringComparison.Ordinal);
        Assert.Contains(runTrace, span => span.IsSql && span.Service == pythonJob.Service && Descends(runTrace, span, pythonJob));
        Assert.Contains(runTrace, span => span.Service == pythonJob.Service && span.Attributes.ContainsKey("http.method") && Descends(runTrace, span, pythonJob));
        output.WriteLine($"Trace {runCell.TraceId}: {string.Join(" | ", runTrace.Select(span => $"{span.Service}: {span.Name}"))}");

        // ... the failing cell is an error span, and neither its exception nor the password cell gives a secret away.
        var failing = spans.Single(span => IsCell(span, CellKey(cells[4])));
        Assert.True(failing.IsError, "the failing cell's span is not in error");
        var failingJson = await dashboard.GetTraceJsonAsync(failing.TraceId, cts.Token);
        Assert.Contains("RuntimeError", failingJson, StringComparison.Ordinal);
        Assert.Contains("the warehouse refused the key ***", failingJson, StringComparison.Ordinal);
        Assert.DoesNotContain(stack.ApiKey, failingJson, StringComparison.Ordinal);
        var password = spans.Single(span => IsCell(span, CellKey(cells[3])));
        Assert.Contains("warehouse_password = \"***\"", password.Attributes["jupyter.cell.code"], StringComparison.Ordinal);
        Assert.DoesNotContain(stack.NotebookPassword, await dashboard.GetTraceJsonAsync(password.TraceId, cts.Token), StringComparison.Ordinal);

        // ... and the kernel's flush said the spans left (its status line said they arrive, above).
        Assert.StartsWith("True", outputs[^1], StringComparison.Ordinal);
    }

    /// <summary>The line of a cell that carries its marker (the excerpt in the span has it, masked secrets aside).</summary>
    private static string CellKey(string cell) => cell.Split('\n').First(line => line.StartsWith("# ", StringComparison.Ordinal) || line.StartsWith("-- ", StringComparison.Ordinal));

    private static bool IsCell(DashboardTelemetry.Span span, string key) =>
        span.Service == "jupyter" && span.Name.StartsWith("cell", StringComparison.Ordinal)
        && span.Attributes.GetValueOrDefault("jupyter.cell.code")?.Contains(key, StringComparison.Ordinal) == true;


    private static bool Descends(List<DashboardTelemetry.Span> trace, DashboardTelemetry.Span span, DashboardTelemetry.Span ancestor)
    {
        for (var current = span; current.ParentSpanId is { } parent;)
        {
            if (parent == ancestor.SpanId)
            {
                return true;
            }

            current = trace.FirstOrDefault(s => s.SpanId == parent);
            if (current is null)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>A notebook (nbformat 4.5) of code cells, as JupyterLab saves one.</summary>
    private static string Notebook(IEnumerable<string> cells) =>
        new JsonObject
        {
            ["nbformat"] = 4,
            ["nbformat_minor"] = 5,
            ["metadata"] = new JsonObject { ["kernelspec"] = new JsonObject { ["name"] = "python3", ["display_name"] = "Python 3 (ipykernel)", ["language"] = "python" } },
            ["cells"] = new JsonArray([.. cells.Select((source, index) => (JsonNode)new JsonObject
            {
                ["cell_type"] = "code",
                ["id"] = $"cell-{index}",
                ["metadata"] = new JsonObject(),
                ["execution_count"] = null,
                ["outputs"] = new JsonArray(),
                ["source"] = source,
            })]),
        }.ToJsonString();

    /// <summary>The text each cell printed or returned (an error's name and message for a failing one).</summary>
    private static List<string> OutputsOf(string notebook)
    {
        using var document = JsonDocument.Parse(notebook);
        return
        [
            .. document.RootElement.GetProperty("cells").EnumerateArray().Select(cell => string.Concat(cell.GetProperty("outputs").EnumerateArray().Select(o =>
                o.TryGetProperty("text", out var text) ? Text(text)
                : o.TryGetProperty("data", out var data) && data.TryGetProperty("text/plain", out var plain) ? Text(plain)
                : o.TryGetProperty("ename", out var ename) ? $"{ename.GetString()}: {o.GetProperty("evalue").GetString()}"
                : ""))),
        ];

        static string Text(JsonElement value) => value.ValueKind == JsonValueKind.Array ? string.Concat(value.EnumerateArray().Select(v => v.GetString())) : value.GetString() ?? "";
    }
}

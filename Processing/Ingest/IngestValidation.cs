using System.Text.Json;
using DataStack.Processing.Datasets;

namespace DataStack.Processing.Ingest;

/// <summary>Checks an <c>ingest</c> job's arguments, naming the argument at fault (<c>args.path</c>, <c>args.mode</c>, …).</summary>
internal static class IngestValidation
{
    public static Dictionary<string, string[]> Validate(JsonElement args, ProcessingOptions options)
    {
        var errors = new Dictionary<string, string[]>();
        if (!TryReadArgs(args, out var ingest, out var key, out var problem))
        {
            errors[key] = [problem];
            return errors;
        }

        if (!DatasetName.IsValid(ingest.Dataset))
        {
            errors["args.dataset"] = [$"Use {DatasetName.Rule}."];
        }

        if (!DataFolder.TryResolve(options.DataDir, ingest.Path, out var fullPath, out var pathError))
        {
            errors["args.path"] = [pathError];
        }
        else if (ingest.Upload && !IsInUploadsFolder(fullPath, options))
        {
            // The spool file of an upload is deleted after the job: it must never be one of the user's files.
            errors["args.path"] = ["An upload's file must be in the data folder's .uploads folder."];
        }

        if (!Enum.IsDefined(ingest.Format))
        {
            errors["args.format"] = ["csv or columns."];
        }

        if (ingest.Scan is not null)
        {
            if (!ingest.Upload || ingest.Format != IngestFormat.Csv)
            {
                errors["args.scan"] = ["Only a CSV upload's job carries a scan (the upload endpoint sets it)."];
            }
            else if (ingest.Scan.Problem() is { } scanProblem)
            {
                errors["args.scan"] = [scanProblem];
            }
        }

        if (ingest.Staged is { } staged
            && (!ingest.Upload || ingest.Format != IngestFormat.Columns || ingest.Mode == IngestMode.Append
                || staged.Table != StagedUpload.TableFor(Path.GetFileName(ingest.Path)) || staged.Rows < 1 || staged.Bytes < 1))
        {
            errors["args.staged"] = ["Only a columns upload's job (fail or replace) carries its staged table (the upload endpoint sets it)."];
        }

        if (!Enum.IsDefined(ingest.Mode))
        {
            errors["args.mode"] = ["One of fail, replace, append."];
        }

        if (ingest.Delimiter is not { Length: 1 } || !CsvReader.IsValidDelimiter(ingest.Delimiter[0]))
        {
            errors["args.delimiter"] = ["One ASCII character other than a quote or a line break."];
        }

        return errors;
    }

    private static bool IsInUploadsFolder(string fullPath, ProcessingOptions options) =>
        string.Equals(Path.GetDirectoryName(fullPath), options.UploadsDirectory, StringComparison.Ordinal);

    private static bool TryReadArgs(JsonElement args, out IngestArgs ingest, out string key, out string problem)
    {
        ingest = null!;
        key = "args";
        problem = "";
        if (args.ValueKind != JsonValueKind.Object)
        {
            problem = "Must be a JSON object with dataset, path, mode, delimiter, header.";
            return false;
        }

        foreach (var required in (ReadOnlySpan<string>)["dataset", "path"])
        {
            if (!args.TryGetProperty(required, out _))
            {
                key = "args." + required;
                problem = "Required.";
                return false;
            }
        }

        try
        {
            ingest = IngestArgs.FromJson(args)!;
            return true;
        }
        catch (JsonException ex)
        {
            // "$.mode" → "args.mode".
            key = ex.Path is { Length: > 2 } jsonPath ? "args" + jsonPath[1..] : "args";
            problem = "Has the wrong type or value.";
            return false;
        }
    }
}

using System.Text.Json;
using DataStack.Processing.Datasets;
using DataStack.Processing.Ingest.Copying;
using DataStack.Processing.Ingest.Csv;

namespace DataStack.Processing.Ingest;

/// <summary>Checks an <c>ingest</c> job's arguments, naming the argument at fault (<c>args.path</c>, <c>args.mode</c>, …).</summary>
internal static class IngestValidation
{
    public static Dictionary<string, string[]> Validate(JsonElement args, IngestOptions options)
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

        if (ingest.Upload)
        {
            ValidateUpload(ingest, errors);
        }
        else
        {
            ValidateFile(ingest, options, errors);
        }

        if (!Enum.IsDefined(ingest.Format))
        {
            errors["args.format"] = ["csv or columns."];
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

    /// <summary>A file ingest names a file of the data folder, and nothing an upload's job carries.</summary>
    private static void ValidateFile(IngestArgs ingest, IngestOptions options, Dictionary<string, string[]> errors)
    {
        if (ingest.Staged is not null || ingest.Rejected is not null)
        {
            errors["args.upload"] = ["Only an upload's job (the upload endpoint sets upload: true) carries staged or rejected."];
        }

        if (!DataFolder.Exists(options.DataDir))
        {
            errors["args.path"] = [DataFolder.NoDataFolderMessage];
        }
        else if (!DataFolder.TryResolve(options.DataDir, ingest.Path, out _, out var pathError))
        {
            errors["args.path"] = [pathError];
        }
    }

    /// <summary>An upload's job names no file: its request staged the rows in a table, or recorded why it could not.</summary>
    private static void ValidateUpload(IngestArgs ingest, Dictionary<string, string[]> errors)
    {
        if (ingest.Path is not null)
        {
            errors["args.path"] = ["An upload names no file: its rows are in its staged table."];
        }

        var valid = (ingest.Staged, ingest.Rejected) switch
        {
            ({ } staged, null) => StagedUpload.IsTableName(staged.Table) && staged.Rows >= 0 && staged.Bytes >= 1 && !string.IsNullOrEmpty(staged.Checksum),
            (null, { } rejected) => !string.IsNullOrEmpty(rejected.Code) && !string.IsNullOrEmpty(rejected.Message),
            _ => false,
        };
        if (!valid)
        {
            errors["args.staged"] = ["An upload's job carries either its staged table or the reason it was rejected (the upload endpoint sets them)."];
        }
    }

    private static bool TryReadArgs(JsonElement args, out IngestArgs ingest, out string key, out string problem)
    {
        ingest = null!;
        key = "args";
        problem = "";
        if (args.ValueKind != JsonValueKind.Object)
        {
            problem = "Must be a JSON object with dataset, path (relative to the data folder), mode, delimiter, header.";
            return false;
        }

        if (!args.TryGetProperty("dataset", out _))
        {
            key = "args.dataset";
            problem = "Required.";
            return false;
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

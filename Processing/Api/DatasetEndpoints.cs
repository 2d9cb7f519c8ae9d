using System.Text.Json;
using DataStack.Processing.Datasets;
using DataStack.Processing.Ingest.Columns;
using DataStack.Processing.Jobs;
using DataStack.Processing.Profiles;
using DataStack.Processing.Transforms;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DataStack.Processing.Api;

/// <summary><c>/datasets</c>: the catalog, profile and transform; uploads and file ingests are <see cref="UploadEndpoints"/>.</summary>
public static class DatasetEndpoints
{
    public static RouteGroupBuilder MapDatasetEndpoints(this IEndpointRouteBuilder routes)
    {
        // Answers beyond the handlers' result types, for the OpenAPI document (401 and 503: ProcessingOpenApi).
        var group = routes.MapGroup("/datasets").WithTags("Datasets");
        group.MapGet("/", ListDatasets).WithName("ListDatasets").WithSummary("Every dataset in the catalog.");
        group.MapGet("/{name}", GetDataset).WithName("GetDataset").WithSummary("One dataset: columns, row count, source, profile.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{name}", DeleteDataset).WithName("DeleteDataset").WithSummary("Drop a dataset and its table.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPut("/{name}", UploadEndpoints.UploadDataset).WithName("UploadDataset")
            .WithSummary("Upload a CSV body (text/csv; types inferred) or a DataFrame's columns (application/vnd.datastack.columns; types declared) into a dataset.")
            .Accepts<Stream>("text/csv", ColumnsReader.ContentType)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithMetadata(AcceptsIdempotencyKey.Instance);
        group.MapPost("/{name}/ingest", UploadEndpoints.IngestDataset).WithName("IngestDataset")
            .WithSummary("Ingest a CSV file from the data folder into a dataset.")
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithMetadata(AcceptsIdempotencyKey.Instance);
        group.MapPost("/{name}/profile", ProfileDataset).WithName("ProfileDataset")
            .WithSummary("Compute column statistics and store them on the dataset.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithMetadata(AcceptsIdempotencyKey.Instance);
        group.MapPost("/{name}/transform", TransformDataset).WithName("TransformDataset")
            .WithSummary("Materialise one read-only SELECT query as this dataset.")
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithMetadata(AcceptsIdempotencyKey.Instance);
        group.MapGet("/{name}/rows", DatasetRows.GetRows).WithName("GetDatasetRows")
            .WithSummary("Rows of a dataset as JSON, or CSV with Accept: text/csv.")
            .Produces(StatusCodes.Status200OK, typeof(IEnumerable<Dictionary<string, object?>>), "application/json", "text/csv")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    public static async Task<Ok<IReadOnlyList<Dataset>>> ListDatasets(DatasetCatalog catalog, CancellationToken cancellationToken) =>
        TypedResults.Ok(await catalog.ListAsync(cancellationToken));

    public static async Task<Results<Ok<Dataset>, ProblemHttpResult>> GetDataset(
        string name, DatasetCatalog catalog, CancellationToken cancellationToken)
    {
        if (!DatasetName.IsValid(name))
        {
            return Problems.InvalidDatasetName(name);
        }

        return await catalog.GetAsync(name, cancellationToken) is { } dataset ? TypedResults.Ok(dataset) : Problems.DatasetNotFound(name);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteDataset(
        string name, DatasetCatalog catalog, CancellationToken cancellationToken)
    {
        if (!DatasetName.IsValid(name))
        {
            return Problems.InvalidDatasetName(name);
        }

        return await catalog.DeleteAsync(name, cancellationToken) ? TypedResults.NoContent() : Problems.DatasetNotFound(name);
    }

    public static async Task<Results<Accepted<Job>, Ok<Job>, ProblemHttpResult, ValidationProblem>> ProfileDataset(
        string name, HttpRequest request, DatasetCatalog catalog, JobSubmitter submitter, CancellationToken cancellationToken)
    {
        if (!DatasetName.IsValid(name))
        {
            return Problems.InvalidDatasetName(name);
        }

        if (await catalog.GetAsync(name, cancellationToken) is null)
        {
            return Problems.DatasetNotFound(name);
        }

        var args = JsonSerializer.SerializeToElement(new { dataset = name });
        return await JobSubmission.SubmitAsync(ProfileJobHandler.KindName, args, request, submitter, cancellationToken);
    }

    public static async Task<Results<Accepted<Job>, Ok<Job>, ProblemHttpResult, ValidationProblem>> TransformDataset(
        string name, TransformRequest body, HttpRequest request, JobSubmitter submitter, CancellationToken cancellationToken)
    {
        if (!DatasetName.IsValid(name))
        {
            return Problems.InvalidDatasetName(name);
        }

        var args = JsonSerializer.SerializeToElement(new { dataset = name, query = body.Query });
        return await JobSubmission.SubmitAsync(TransformJobHandler.KindName, args, request, submitter, cancellationToken);
    }
}

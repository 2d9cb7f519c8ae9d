using DataStack.Processing.Text;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DataStack.Processing.Api;

/// <summary>The service's <c>application/problem+json</c> answers, worded once.</summary>
public static class Problems
{
    public static ProblemHttpResult InvalidDatasetName(string name) => TypedResults.Problem(
        statusCode: StatusCodes.Status400BadRequest,
        title: "Invalid dataset name",
        detail: $"'{UserInput.Excerpt(name)}' is not a valid dataset name: use {Datasets.DatasetName.Rule}.");

    public static ProblemHttpResult DatasetNotFound(string name) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "Dataset not found",
        detail: $"There is no dataset '{name}'.");

    public static ProblemHttpResult JobNotFound(Guid id) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "Job not found",
        detail: $"There is no job {id}.");

    public static ProblemHttpResult DatasetExists(string name) => TypedResults.Problem(
        statusCode: StatusCodes.Status409Conflict,
        title: "Dataset exists",
        detail: $"Dataset '{name}' already exists; use mode=replace or mode=append.");

    public static ValidationProblem Validation(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, title: "Invalid request");

    public static ValidationProblem Validation(string key, string message) =>
        Validation(new Dictionary<string, string[]> { [key] = [message] });
}

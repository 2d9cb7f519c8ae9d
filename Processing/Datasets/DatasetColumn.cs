namespace DataStack.Processing.Datasets;

/// <summary>A column of a dataset: its name and PostgreSQL type (e.g. <c>bigint</c>, <c>double precision</c>).</summary>
public sealed record DatasetColumn(string Name, string Type);

using DataStack.Processing.Jobs;

namespace DataStack.Processing.Tests;

/// <summary>A failed job's log line says where the error is only when it knows: never "row (null)".</summary>
public sealed class JobErrorTests
{
    [Theory]
    [InlineData(3L, 2, " at row 3, column 2")]
    [InlineData(3L, null, " at row 3")]
    [InlineData(null, 2, " at column 2")]
    [InlineData(null, null, "")]
    public void PositionNamesOnlyWhatIsKnown(long? row, int? column, string expected)
    {
        // Act
        var position = new JobError("ragged_row", "message", row, column).Position;

        // Assert
        Assert.Equal(expected, position);
    }

    [Fact]
    public void PositionIsNotPartOfTheJson()
    {
        // Act
        var json = System.Text.Json.JsonSerializer.Serialize(new JobError("c", "m", 1, 2), System.Text.Json.JsonSerializerOptions.Web);

        // Assert
        Assert.DoesNotContain("position", json, StringComparison.OrdinalIgnoreCase);
    }
}

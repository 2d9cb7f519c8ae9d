using DataStack.Processing.Database;
using DataStack.Processing.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DataStack.Processing.Tests;

/// <summary>The data source's Npgsql settings that Processing chooses where the connection string says nothing.</summary>
public sealed class DataSourceSettingsTests
{
    [Fact]
    public async Task TheWriteBufferIsLargeUnlessTheConnectionStringSetsOne()
    {
        // Arrange
        await using var app = new ProcessingApp();
        await app.InitializeAsync();

        // Act
        var settings = SettingsOf(app);

        // Assert
        Assert.Equal(DataSourceExtensions.WriteBufferSize, settings.WriteBufferSize);
    }

    [Theory]
    [InlineData("Write Buffer Size=16384")]
    [InlineData("WriteBufferSize=16384")]
    public async Task AWriteBufferTheConnectionStringSetsIsKept(string setting)
    {
        // Arrange
        var postgres = await PostgresServer.SharedAsync();
        var connectionString = await postgres.CreateDatabaseAsync("buffer") + ";" + setting;
        await using var app = new ProcessingApp().With("ConnectionStrings:analytics", connectionString);
        await app.InitializeAsync();

        // Act
        var settings = SettingsOf(app);

        // Assert
        Assert.Equal(16384, settings.WriteBufferSize);
    }

    [Fact]
    public async Task GssEncryptionIsOffUnlessTheConnectionStringAsksForIt()
    {
        // Arrange
        var postgres = await PostgresServer.SharedAsync();
        await using var plain = new ProcessingApp();
        await plain.InitializeAsync();
        await using var asked = new ProcessingApp().With("ConnectionStrings:analytics", await postgres.CreateDatabaseAsync("gss") + ";GSS Encryption Mode=Prefer");
        await asked.InitializeAsync();

        // Act
        var (plainSettings, askedSettings) = (SettingsOf(plain), SettingsOf(asked));

        // Assert
        Assert.Equal(GssEncryptionMode.Disable, plainSettings.GssEncryptionMode);
        Assert.Equal(GssEncryptionMode.Prefer, askedSettings.GssEncryptionMode);
    }

    private static NpgsqlConnectionStringBuilder SettingsOf(ProcessingApp app) =>
        new(app.Services.GetRequiredService<NpgsqlDataSource>().ConnectionString);
}

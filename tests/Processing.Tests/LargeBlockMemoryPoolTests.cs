using System.Net;
using System.Runtime.InteropServices;
using DataStack.Processing.Api;
using DataStack.Processing.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace DataStack.Processing.Tests;

/// <summary>Kestrel's 64 KiB blocks (<see cref="LargeBlockMemoryPool"/>): sizes, reuse, the bound on what is kept, and that Kestrel uses them.</summary>
public sealed class LargeBlockMemoryPoolTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData(LargeBlockMemoryPool.BlockSize)]
    public void AnyRequestUpToABlockGetsAWholeBlock(int size)
    {
        // Arrange
        using var pool = new LargeBlockMemoryPool();

        // Act
        using var block = pool.Rent(size);

        // Assert
        Assert.Equal(LargeBlockMemoryPool.BlockSize, block.Memory.Length);
    }

    [Fact]
    public void AReturnedBlockIsHandedOutAgain()
    {
        // Arrange
        using var pool = new LargeBlockMemoryPool();
        var first = pool.Rent();
        var array = ArrayOf(first);
        first.Dispose();

        // Act
        using var second = pool.Rent();

        // Assert
        Assert.Same(array, ArrayOf(second));
    }

    [Fact]
    public void ABlockDisposedTwiceIsReturnedOnceAndCannotBeUsedAfterwards()
    {
        // Arrange
        using var pool = new LargeBlockMemoryPool();
        var block = pool.Rent();

        // Act
        block.Dispose();
        block.Dispose();

        // Assert
        Assert.Equal(1, pool.FreeBlocks);
        Assert.Throws<ObjectDisposedException>(() => block.Memory);
    }

    [Fact]
    public void ALargerRequestGetsItsOwnArrayWhichIsNotKept()
    {
        // Arrange
        using var pool = new LargeBlockMemoryPool();

        // Act
        var block = pool.Rent(LargeBlockMemoryPool.BlockSize + 1);
        var length = block.Memory.Length;
        block.Dispose();

        // Assert
        Assert.Equal(LargeBlockMemoryPool.BlockSize + 1, length);
        Assert.Equal(0, pool.FreeBlocks);
    }

    [Fact]
    public void AtMostMaxFreeBlocksAreKept()
    {
        // Arrange
        using var pool = new LargeBlockMemoryPool();
        var blocks = Enumerable.Range(0, LargeBlockMemoryPool.MaxFreeBlocks + 10).Select(_ => pool.Rent()).ToList();

        // Act
        blocks.ForEach(b => b.Dispose());

        // Assert
        Assert.Equal(LargeBlockMemoryPool.MaxFreeBlocks, pool.FreeBlocks);
    }

    [Fact]
    public async Task KestrelReadsRequestsIntoTheLargeBlocks()
    {
        // Arrange
        var factory = Assert.IsType<LargeBlockMemoryPoolFactory>(app.Services.GetRequiredService<IMemoryPoolFactory<byte>>());
        var before = factory.Pools.Sum(p => p.Rented);

        // Act: any request on the real server (Kestrel on a loopback port).
        using var response = await app.Client.GetAsync("/health");

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(factory.Pools.Sum(p => p.Rented) > before, "Kestrel took no block from LargeBlockMemoryPool");
    }

    [Fact]
    public async Task TheServedAppGivesKestrelTheLargeBlocks()
    {
        // Arrange: Processing as its own process, configured as in the container, its factory's log line shown.
        var dataDir = Directory.CreateTempSubdirectory("datastack-pool-").FullName;
        var connectionString = await app.Postgres.CreateDatabaseAsync("pool");
        var environment = new Dictionary<string, string> { ["Logging__LogLevel__DataStack.Processing.Api"] = "Debug" };

        try
        {
            // Act
            await using var processing = await ProcessingProcess.StartAsync(connectionString, dataDir, environment: environment);

            // Assert
            Assert.Contains($"{LargeBlockMemoryPool.BlockSize}-byte blocks", processing.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static byte[] ArrayOf(System.Buffers.IMemoryOwner<byte> block) =>
        MemoryMarshal.TryGetArray<byte>(block.Memory, out var segment) ? segment.Array! : throw new InvalidOperationException("not an array");
}

using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace DataStack.Processing.Api;

/// <summary>
/// Kestrel's buffers in 64 KiB blocks instead of its own 4 KiB ones, so that one socket read can take up to 64 KiB.
/// </summary>
/// <remarks>
/// <para>Kestrel reads a connection into the block its pool hands out, so with 4 KiB blocks a large upload body
/// takes thousands of reads, each after a zero-byte read that waits for data, and each a hand-off to the request
/// that consumes it, on the core the database's COPY shares (the system calls and the CPU saved:
/// docs/benchmarks.md, item 19). Kestrel takes its pool from <see cref="IMemoryPoolFactory{T}"/> in the container
/// (.NET 10); no library offers a larger block, hence this class.</para>
/// <para>Memory: a connection holds a block only while data waits in it (Kestrel waits for data before it asks
/// for one); at most <see cref="MaxFreeBlocks"/> returned blocks are kept, the rest go to the garbage collector.
/// Blocks are pinned, as Kestrel's are, since the sockets read into them.</para>
/// </remarks>
public sealed class LargeBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 64 * 1024;

    /// <summary>Returned blocks kept for reuse (4 MiB); more are left to the garbage collector.</summary>
    public const int MaxFreeBlocks = 64;

    private readonly ConcurrentQueue<byte[]> _free = new();
    private long _rented;

    public override int MaxBufferSize => BlockSize;

    /// <summary>Blocks waiting to be reused (for the tests).</summary>
    internal int FreeBlocks => _free.Count;

    /// <summary>Blocks handed out since the pool was made, reused or new (for the tests).</summary>
    internal long Rented => Interlocked.Read(ref _rented);

    /// <summary>A block of <see cref="BlockSize"/> bytes; a larger request (Kestrel makes none) gets an array of its own, not pooled.</summary>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        Interlocked.Increment(ref _rented);
        if (minBufferSize > BlockSize)
        {
            return new Block(null, GC.AllocateUninitializedArray<byte>(minBufferSize, pinned: true));
        }

        return new Block(this, _free.TryDequeue(out var block) ? block : GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true));
    }

    protected override void Dispose(bool disposing)
    {
        _free.Clear();
    }

    private void Return(byte[] block)
    {
        // The count is approximate under concurrency; it only bounds what is kept.
        if (_free.Count < MaxFreeBlocks)
        {
            _free.Enqueue(block);
        }
    }

    private sealed class Block(LargeBlockMemoryPool? pool, byte[] array) : IMemoryOwner<byte>
    {
        private byte[]? _array = array;

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(LargeBlockMemoryPool));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } returned)
            {
                pool?.Return(returned);
            }
        }
    }
}

/// <summary>
/// Gives Kestrel (and anything else that asks the container) a <see cref="LargeBlockMemoryPool"/>. Kestrel registers
/// its own factory when it is set up (<c>UseKestrel</c>), so this one must be registered after that.
/// </summary>
public sealed partial class LargeBlockMemoryPoolFactory(ILogger<LargeBlockMemoryPoolFactory> logger) : IMemoryPoolFactory<byte>
{
    private readonly ConcurrentQueue<LargeBlockMemoryPool> _pools = new();

    /// <summary>The pools made so far (Kestrel makes one per listener); for the tests.</summary>
    internal IReadOnlyCollection<LargeBlockMemoryPool> Pools => _pools;

    public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
    {
        var pool = new LargeBlockMemoryPool();
        _pools.Enqueue(pool);
        Log.Created(logger, options?.Owner ?? "(no owner)", LargeBlockMemoryPool.BlockSize);
        return pool;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Debug, Message = "Memory pool for {Owner}: {BlockSize}-byte blocks")]
        public static partial void Created(ILogger logger, string owner, int blockSize);
    }
}

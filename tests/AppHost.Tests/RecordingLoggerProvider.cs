using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace DataStack.AppHost.Tests;

/// <summary>Keeps every message logged through it, as the AppHost's console would show it.</summary>
internal sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Message)> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(_entries);

    /// <summary>The first message that matches, as soon as one is logged.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> match, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_entries.Select(entry => entry.Message).FirstOrDefault(match) is { } message)
            {
                return message;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<(LogLevel Level, string Message)> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue((logLevel, formatter(state, exception)));
    }
}

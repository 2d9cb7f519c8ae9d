using System.Net;
using DataStack.Testing;

namespace DataStack.Bench;

/// <summary>
/// A stand-in OTLP/HTTP collector: accepts <c>POST /v1/traces|metrics|logs</c>, reads and discards the
/// body, answers 200. Counts what arrived, so the report can show tracing was really on.
/// </summary>
public sealed class OtlpSink : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private long _requests;
    private long _bytes;

    public OtlpSink()
    {
        Port = FreePort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public long Requests => Interlocked.Read(ref _requests);

    public long Bytes => Interlocked.Read(ref _bytes);

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _listener.Close();
    }

    private async Task AcceptAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var response = context.Response;
                var path = context.Request.Url?.AbsolutePath ?? "";
                if (context.Request.HttpMethod == "POST" && path.StartsWith("/v1/", StringComparison.Ordinal))
                {
                    var buffer = new byte[16 * 1024];
                    int read;
                    while ((read = await context.Request.InputStream.ReadAsync(buffer)) > 0)
                    {
                        Interlocked.Add(ref _bytes, read);
                    }

                    Interlocked.Increment(ref _requests);
                    response.StatusCode = 200;
                    response.ContentType = "application/x-protobuf";
                }
                else
                {
                    response.StatusCode = 404;
                }
            });
        }
    }

}

// IDeveloperCertificateService is marked experimental in Aspire 13.6; it is the one place Aspire says which
// developer certificates it considers trusted (the ones it gives containers), so this check asks it, not OpenSSL.
#pragma warning disable ASPIRECERTIFICATES001

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DataStack.AppHost;

/// <summary>
/// Says on the AppHost's console, in one line, when no trusted ASP.NET Core developer certificate exists: the
/// notebook's spans then never reach the dashboard, and nothing else would say so.
/// </summary>
/// <remarks>
/// The dashboard's OTLP endpoint serves the developer certificate, and Aspire adds it to a container's CA bundle
/// only when it is trusted (<see cref="IDeveloperCertificateService.Certificates"/> lists the trusted ones). Without
/// one, every span export from Jupyter fails with <c>certificate verify failed</c>, which only the kernel's log shows
/// (and <c>datastack.tracing.status()</c> when asked). Processing, a process on the host, is not affected.
/// </remarks>
internal sealed partial class DeveloperCertificateWarning(IDeveloperCertificateService certificates, ILogger<DeveloperCertificateWarning> logger) : IHostedService
{
    /// <summary>What to run, per platform; the README's "The developer certificate" has the same steps.</summary>
    public const string TrustCommand =
        "dotnet dev-certs https --trust (on Linux first: export SSL_CERT_DIR=$HOME/.aspnet/dev-certs/trust:/usr/lib/ssl/certs), then restart the AppHost";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (certificates.Certificates.Count == 0)
        {
            Log.NoTrustedCertificate(logger, TrustCommand);
        }
        else if (certificates.LatestCertificateIsUntrusted)
        {
            Log.NewestCertificateUntrusted(logger, TrustCommand);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 10, Level = LogLevel.Warning,
            Message = "No trusted developer certificate: the notebook's traces will not reach the dashboard (certificate verify failed). Run: {TrustCommand}. README: \"The developer certificate\".")]
        public static partial void NoTrustedCertificate(ILogger logger, string trustCommand);

        [LoggerMessage(EventId = 11, Level = LogLevel.Warning,
            Message = "The newest developer certificate is not trusted: the notebook's traces may not reach the dashboard (certificate verify failed). Run: {TrustCommand}. README: \"The developer certificate\".")]
        public static partial void NewestCertificateUntrusted(ILogger logger, string trustCommand);
    }
}

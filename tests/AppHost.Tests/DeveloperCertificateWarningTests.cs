// IDeveloperCertificateService is experimental in Aspire 13.6 (see AppHost/DeveloperCertificateWarning.cs).
#pragma warning disable ASPIRECERTIFICATES001

using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DataStack.AppHost.Tests;

/// <summary>
/// The AppHost's one-line warning when no trusted developer certificate exists (the notebook's traces would not arrive).
/// </summary>
/// <remarks>
/// Whether a certificate is trusted is a property of the whole test process (OpenSSL reads <c>SSL_CERT_DIR</c> once),
/// and CI trusts it as the README says, so the untrusted machine is stood in for by an
/// <see cref="IDeveloperCertificateService"/> that answers as Aspire's does on such a machine. The trusted case is
/// the real one: the stack tests export the notebook's spans to the dashboard over TLS.
/// </remarks>
public sealed class DeveloperCertificateWarningTests
{
    [Fact]
    public async Task WithoutATrustedCertificateTheConsoleSaysInOneLineThatNotebookTracesWillNotArriveAndWhatToRun()
    {
        // Arrange
        using var console = new RecordingLoggerProvider();
        using var loggers = new LoggerFactory([console]);
        var warning = new DeveloperCertificateWarning(new CertificatesAsOnAnUntrustedMachine([], latestIsUntrusted: true), loggers.CreateLogger<DeveloperCertificateWarning>());

        // Act
        await warning.StartAsync(CancellationToken.None);

        // Assert
        var (level, message) = Assert.Single(console.Entries);
        Assert.Equal(LogLevel.Warning, level);
        Assert.DoesNotContain('\n', message);
        Assert.Contains("notebook's traces will not reach the dashboard", message, StringComparison.Ordinal);
        Assert.Contains("dotnet dev-certs https --trust", message, StringComparison.Ordinal);
        Assert.Contains("SSL_CERT_DIR=$HOME/.aspnet/dev-certs/trust", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithATrustedCertificateNothingIsSaid()
    {
        // Arrange
        using var certificate = DevelopmentLikeCertificate();
        using var console = new RecordingLoggerProvider();
        using var loggers = new LoggerFactory([console]);
        var warning = new DeveloperCertificateWarning(new CertificatesAsOnAnUntrustedMachine([certificate], latestIsUntrusted: false), loggers.CreateLogger<DeveloperCertificateWarning>());

        // Act
        await warning.StartAsync(CancellationToken.None);

        // Assert
        Assert.Empty(console.Entries);
    }

    [Fact]
    public async Task TheCheckRunsWhenTheAppHostRunsAndNotWhenItPublishes()
    {
        // Arrange
        using var cts = new CancellationTokenSource(AppHostModel.Timeout);
        await using var run = await AppHostModel.CreateAsync(DistributedApplicationOperation.Run, cts.Token);
        await using var publish = await AppHostModel.CreateAsync(DistributedApplicationOperation.Publish, cts.Token);

        // Act
        var inRun = run.Services.Count(service => service.ServiceType == typeof(IHostedService) && service.ImplementationType == typeof(DeveloperCertificateWarning));
        var inPublish = publish.Services.Count(service => service.ServiceType == typeof(IHostedService) && service.ImplementationType == typeof(DeveloperCertificateWarning));

        // Assert
        Assert.Equal(1, inRun);
        Assert.Equal(0, inPublish);
    }

    private static X509Certificate2 DevelopmentLikeCertificate()
    {
        using var key = System.Security.Cryptography.RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        return request.CreateSelfSigned(DateTimeOffset.Now.AddDays(-1), DateTimeOffset.Now.AddDays(1));
    }

    private sealed class CertificatesAsOnAnUntrustedMachine(ImmutableList<X509Certificate2> trusted, bool latestIsUntrusted) : IDeveloperCertificateService
    {
        public ImmutableList<X509Certificate2> Certificates => trusted;

        public bool SupportsContainerTrust => !trusted.IsEmpty;

        public bool SupportsTlsTermination => !trusted.IsEmpty;

        public bool TrustCertificate => true;

        public bool UseForHttps => !trusted.IsEmpty;

        public bool LatestCertificateIsUntrusted => latestIsUntrusted;
    }
}

using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace DataStack.Processing.Api;

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c> against the configured <c>Processing:ApiKey</c>. The comparison is
/// constant-time (both sides hashed to a fixed length first), and the key is never logged.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IOptions<ApiOptions> apiOptions,
    IProblemDetailsService problemDetails)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";

    private readonly byte[]? _expectedHash = string.IsNullOrEmpty(apiOptions.Value.ApiKey)
        ? null
        : SHA256.HashData(Encoding.UTF8.GetBytes(apiOptions.Value.ApiKey));

    private readonly bool _allowAnonymous = apiOptions.Value.AllowAnonymous;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (_expectedHash is null)
        {
            // Only reachable with Processing:AllowAnonymous=true: start-up validation refuses a missing key otherwise.
            return Task.FromResult(_allowAnonymous ? Success("anonymous") : AuthenticateResult.Fail("No API key configured."));
        }

        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        const string Bearer = "Bearer ";
        if (!header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("Authorization is not a Bearer token."));
        }

        var presentedHash = SHA256.HashData(Encoding.UTF8.GetBytes(header[Bearer.Length..].Trim()));
        return Task.FromResult(CryptographicOperations.FixedTimeEquals(presentedHash, _expectedHash)
            ? Success("api-key")
            : AuthenticateResult.Fail("Invalid API key."));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = "Send the Processing API key as 'Authorization: Bearer <key>'.",
            },
        });
    }

    private AuthenticateResult Success(string name)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}

using DataStack.Processing.Text;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing.Template;

namespace DataStack.Processing.Api;

/// <summary>
/// A 415 raised by routing (a JSON body sent as form data, a CSV upload without its content type) gets a detail
/// listing the media types the route accepts: the fix is in the answer, not only the status.
/// </summary>
public static class UnsupportedMediaTypeHint
{
    public static void Apply(ProblemDetailsContext context)
    {
        if (context.ProblemDetails.Status != StatusCodes.Status415UnsupportedMediaType || context.ProblemDetails.Detail is not null)
        {
            return;
        }

        var request = context.HttpContext.Request;
        var sent = UserInput.Excerpt(request.ContentType ?? "none");
        var accepted = AcceptedContentTypes(context.HttpContext);
        context.ProblemDetails.Detail = accepted.Count > 0
            ? $"{request.Method} {request.Path} takes 'Content-Type: {string.Join("' or '", accepted)}'; got '{sent}'."
            : $"{request.Method} {request.Path} does not take a body of type '{sent}'.";
    }

    /// <summary>
    /// The content types of the endpoints this request was meant for. Routing refused them all, so the endpoint
    /// on the context is its "415" stand-in; the real ones are found again by method and route pattern.
    /// </summary>
    private static List<string> AcceptedContentTypes(HttpContext httpContext)
    {
        var method = httpContext.Request.Method;
        var path = httpContext.Request.Path;
        return httpContext.RequestServices.GetServices<EndpointDataSource>()
            .SelectMany(source => source.Endpoints)
            .OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains(method, StringComparer.OrdinalIgnoreCase) == true)
            .Where(endpoint => new TemplateMatcher(new RouteTemplate(endpoint.RoutePattern), []).TryMatch(path, []))
            .SelectMany(endpoint => endpoint.Metadata.GetMetadata<IAcceptsMetadata>()?.ContentTypes ?? [])
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The committed notebooks can be saved from JupyterLab, whoever owns the checkout (a checkout made as root, as on CI
/// or a server, included: the jupyter start hook hands root-owned mounts and their files to the notebook user).
/// </summary>
[Collection(StackCollection.Name)]
public sealed class NotebookSaveTests(StackFixture stack)
{
    private static string NotebookOnHost { get; } = Path.GetFullPath(Path.Combine(Projects.AppHost.ProjectPath, "..", "Jupyter", "notebooks", "01-getting-started.ipynb"));

    [DockerFact]
    public async Task GettingStartedNotebookSavesFromJupyterLab()
    {
        // Arrange: the notebook as JupyterLab loads it (the Contents API, with the token from the dashboard link).
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        using var http = new HttpClient { BaseAddress = stack.App.GetEndpoint("jupyter", "http") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("token", stack.JupyterToken);
        const string Route = "/api/contents/notebooks/01-getting-started.ipynb";
        var committed = await File.ReadAllBytesAsync(NotebookOnHost, cts.Token);
        var model = await http.GetFromJsonAsync<JsonObject>($"{Route}?content=1", cts.Token) ?? throw new InvalidOperationException("no notebook model");

        // Act: what JupyterLab sends on Ctrl+S.
        HttpResponseMessage save;
        try
        {
            save = await http.PutAsJsonAsync(Route, new JsonObject { ["type"] = "notebook", ["format"] = "json", ["content"] = model["content"]!.DeepClone() }, cts.Token);
        }
        finally
        {
            // The checkout keeps the committed bytes, whatever the server wrote.
            await File.WriteAllBytesAsync(NotebookOnHost, committed, CancellationToken.None);
        }

        // Assert
        using (save)
        {
            Assert.True(save.StatusCode == HttpStatusCode.OK, $"saving answered {(int)save.StatusCode}: {await save.Content.ReadAsStringAsync(cts.Token)}");
            using var saved = JsonDocument.Parse(await save.Content.ReadAsStringAsync(cts.Token));
            Assert.Equal("01-getting-started.ipynb", saved.RootElement.GetProperty("name").GetString());
            Assert.True(saved.RootElement.GetProperty("writable").GetBoolean());
        }
    }
}

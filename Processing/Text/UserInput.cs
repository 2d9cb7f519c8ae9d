namespace DataStack.Processing.Text;

/// <summary>What a message quotes of the caller's input (a dataset name, a path, a content type): never at any length.</summary>
public static class UserInput
{
    /// <summary><paramref name="value"/>, cut to <paramref name="max"/> characters with an ellipsis.</summary>
    public static string Excerpt(string value, int max = 80) => value.Length <= max ? value : value[..max] + "…";
}

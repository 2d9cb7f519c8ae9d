namespace DataStack.Processing.Jobs;

public static class JobKinds
{
    public const string Ingest = "ingest";
    public const string Profile = "profile";
    public const string Transform = "transform";
    public const string Noop = "noop";
}

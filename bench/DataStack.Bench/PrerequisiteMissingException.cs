namespace DataStack.Bench;

/// <summary>A contender cannot run on this machine (a package is missing); the message says what to install.</summary>
public sealed class PrerequisiteMissingException(string message) : Exception(message);

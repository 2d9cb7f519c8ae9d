namespace DataStack.Processing.Api;

/// <summary>Answer of <c>POST /jobs/requeue-failed</c>.</summary>
public sealed record RequeueResult(int Requeued);

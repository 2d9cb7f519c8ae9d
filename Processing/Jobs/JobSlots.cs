namespace DataStack.Processing.Jobs;

/// <summary>
/// The replica's slots and its local queue: how many jobs run at once (<c>WorkerConcurrency</c>) is one
/// number, how many one claim carries is another. A claim is made only when a slot would otherwise go idle
/// (more free slots than waiting jobs), and it takes as many jobs as the slots can start within
/// <see cref="MaxWait"/> at the recent average run time (slots × MaxWait / average, between the slots and
/// <see cref="ClaimBatch"/>); those not yet running wait here (leased, status <c>running</c> in the table) and
/// start as slots free up, so for short jobs one claim statement and one completion statement
/// (<see cref="JobCompletionWriter"/>'s group commit) serve many jobs even at four slots. Refilling only once the local queue is
/// used up (graphile-worker's local queue) makes every claim a full one, and PostgreSQL's cost is mostly per
/// statement (docs/benchmarks.md, item 16). For long jobs (or while one has run longer than
/// <see cref="LongJob"/>) a claim takes only what the free slots can start, so no replica sits on work another
/// could run. A job waits here at most <see cref="MaxWait"/>; the runner returns older ones to the queue. The
/// average falls fast and rises slowly, so a job delayed by a busy machine does not switch claiming ahead off.
/// </summary>
internal sealed class JobSlots(int concurrency, TimeProvider time)
{
    /// <summary>Most jobs one claim takes while jobs are short (never fewer than the slots).</summary>
    public const int ClaimBatch = 64;

    /// <summary>While a running job has run this long, claims take only what the free slots can start.</summary>
    public static readonly TimeSpan LongJob = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest a claimed job waits here for a slot before it goes back to the queue.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly LinkedList<(ClaimedJob Job, long ClaimedAt)> _waiting = new();
    private readonly Dictionary<Guid, long> _runningSince = [];
    private bool _closed;
    private double _averageMs = MaxWait.TotalMilliseconds; // until jobs have run, claim only for free slots

    public int Concurrency { get; } = concurrency;

    /// <summary>Jobs claimed and waiting for a slot.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>
    /// How many jobs the next claim should ask for; 0 when none: only when a slot would otherwise go idle, and
    /// then enough to fill the local queue up to what the slots can start within <see cref="MaxWait"/>.
    /// </summary>
    public int ClaimSize()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return 0;
            }

            var free = Concurrency - _runningSince.Count;
            var starving = free > _waiting.Count;
            var withinWait = (int)Math.Min(ClaimBatch, Concurrency * MaxWait.TotalMilliseconds / Math.Max(_averageMs, 0.001));
            var ahead = Math.Max(withinWait, Concurrency);
            if (!starving)
            {
                return 0;
            }

            return ahead > Concurrency && !_runningSince.Values.Any(since => time.GetElapsedTime(since) >= LongJob)
                ? ahead - _waiting.Count
                : free - _waiting.Count;
        }
    }

    public void Add(IEnumerable<ClaimedJob> jobs)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            foreach (var job in jobs)
            {
                _waiting.AddLast((job, now));
            }
        }
    }

    /// <summary>Takes the oldest waiting job and a slot for it; false when no slot is free, nothing waits, or closed.</summary>
    public bool TryStartNext(out ClaimedJob job)
    {
        lock (_gate)
        {
            if (!_closed && _runningSince.Count < Concurrency && _waiting.First is { } first)
            {
                _waiting.RemoveFirst();
                job = first.Value.Job;
                _runningSince[job.Id] = time.GetTimestamp();
                return true;
            }
        }

        job = null!;
        return false;
    }

    /// <summary>Gives a job's slot back once its handler has returned, and learns how long it ran.</summary>
    public void Release(Guid jobId)
    {
        lock (_gate)
        {
            if (_runningSince.Remove(jobId, out var since))
            {
                // Falls fast (halfway to a shorter run), rises slowly (an eighth of the way to a longer one).
                var ranMs = time.GetElapsedTime(since).TotalMilliseconds;
                _averageMs = ranMs < _averageMs ? (_averageMs + ranMs) / 2 : (_averageMs * 7 / 8) + (ranMs / 8);
            }
        }
    }

    /// <summary>The waiting jobs' ids (their leases are renewed with the running jobs').</summary>
    public Guid[] WaitingIds()
    {
        lock (_gate)
        {
            return [.. _waiting.Select(w => w.Job.Id)];
        }
    }

    /// <summary>Removes one waiting job (cancelled, or its lease was lost); false when it is not waiting here.</summary>
    public bool TryRemove(Guid id)
    {
        lock (_gate)
        {
            for (var node = _waiting.First; node is not null; node = node.Next)
            {
                if (node.Value.Job.Id == id)
                {
                    _waiting.Remove(node);
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Removes and returns the jobs that have waited longer than <see cref="MaxWait"/>.</summary>
    public List<ClaimedJob> TakeOverdue()
    {
        var expired = new List<ClaimedJob>();
        lock (_gate)
        {
            while (_waiting.First is { } first && time.GetElapsedTime(first.Value.ClaimedAt) > MaxWait)
            {
                _waiting.RemoveFirst();
                expired.Add(first.Value.Job);
            }
        }

        return expired;
    }

    /// <summary>Shutdown: nothing more starts; returns the jobs still waiting (they go back to the queue).</summary>
    public List<ClaimedJob> Close()
    {
        lock (_gate)
        {
            _closed = true;
            var left = _waiting.Select(w => w.Job).ToList();
            _waiting.Clear();
            return left;
        }
    }
}

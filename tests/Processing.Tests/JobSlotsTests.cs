using System.Text.Json;
using DataStack.Processing.Jobs;

namespace DataStack.Processing.Tests;

/// <summary>
/// The runner's slots and local queue (<see cref="JobSlots"/>): how many jobs a claim asks for, how many run at
/// once, and what goes back to the queue. The clock is a hand-driven one, so nothing here depends on timing.
/// </summary>
public sealed class JobSlotsTests
{
    private readonly ManualClock _clock = new();

    [Fact]
    public void BeforeAnyJobHasRunAClaimAsksOnlyForTheFreeSlots()
    {
        // Arrange
        var slots = new JobSlots(4, _clock);

        // Act
        var size = slots.ClaimSize();

        // Assert
        Assert.Equal(4, size);
    }

    [Fact]
    public void WhileJobsAreShortAClaimCarriesMoreJobsThanThereAreSlots()
    {
        // Arrange: jobs that each ran 1 ms.
        var slots = new JobSlots(4, _clock);
        RunJobs(slots, 12, TimeSpan.FromMilliseconds(1));

        // Act
        var size = slots.ClaimSize();

        // Assert
        Assert.Equal(JobSlots.ClaimBatch, size);
    }

    [Fact]
    public void NoClaimIsMadeWhileTheJobsWaitingHereCanKeepTheSlotsBusy()
    {
        // Arrange: short jobs; every slot busy and two claimed jobs waiting.
        var slots = new JobSlots(4, _clock);
        RunJobs(slots, 12, TimeSpan.FromMilliseconds(1));
        slots.Add([.. Enumerable.Range(0, 6).Select(_ => NewJob())]);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(slots.TryStartNext(out _));
        }

        // Act
        var size = slots.ClaimSize();

        // Assert: a small top-up claim would cost a statement for two jobs; the next claim waits until a slot would idle.
        Assert.Equal(0, size);
    }

    [Fact]
    public void WhenASlotWouldGoIdleAClaimTopsTheLocalQueueUpToAFullBatch()
    {
        // Arrange: short jobs; three slots busy, one waiting job and a fourth slot about to take it, then free.
        var slots = new JobSlots(4, _clock);
        RunJobs(slots, 12, TimeSpan.FromMilliseconds(1));
        slots.Add([.. Enumerable.Range(0, 4).Select(_ => NewJob())]);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(slots.TryStartNext(out _));
        }

        var lastSlotFree = slots.ClaimSize(); // one free slot, one waiting job: not starving yet
        Assert.True(slots.TryStartNext(out var fourth));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        slots.Release(fourth.Id);

        // Act
        var size = slots.ClaimSize();

        // Assert
        Assert.Equal(0, lastSlotFree);
        Assert.Equal(JobSlots.ClaimBatch, size);
    }

    [Fact]
    public void AJobRunningLongStopsClaimingAhead()
    {
        // Arrange: short jobs so far, then one that has been running for a second.
        var slots = new JobSlots(4, _clock);
        RunJobs(slots, 12, TimeSpan.FromMilliseconds(1));
        slots.Add([NewJob()]);
        Assert.True(slots.TryStartNext(out _));
        _clock.Advance(TimeSpan.FromSeconds(1));

        // Act
        var size = slots.ClaimSize();

        // Assert: only the three free slots.
        Assert.Equal(3, size);
    }

    [Fact]
    public void AfterLongJobsClaimsAskOnlyForTheFreeSlots()
    {
        // Arrange
        var slots = new JobSlots(4, _clock);
        RunJobs(slots, 12, TimeSpan.FromMilliseconds(1));
        RunJobs(slots, 30, TimeSpan.FromSeconds(2));

        // Act
        var size = slots.ClaimSize();

        // Assert
        Assert.Equal(4, size);
    }

    [Fact]
    public void AClaimTakesWhatTheSlotsCanStartWithinTheLongestWait()
    {
        // Arrange: jobs of 100 ms on 4 slots start 40 a second.
        var slots = new JobSlots(4, _clock);
        RunJobs(slots, 40, TimeSpan.FromMilliseconds(100));

        // Act
        var size = slots.ClaimSize();

        // Assert: 4 slots × 1 s / ~100 ms (the average approaches 100 ms from above).
        Assert.InRange(size, 36, 40);
    }

    [Fact]
    public void OneSlowJobAmongShortOnesDoesNotStopClaimingAhead()
    {
        // Arrange: short jobs, one delayed to 100 ms (a busy machine), then short ones again.
        var slots = new JobSlots(4, _clock);
        RunJobs(slots, 12, TimeSpan.FromMilliseconds(1));
        RunJobs(slots, 1, TimeSpan.FromMilliseconds(100));

        // Act
        var size = slots.ClaimSize();

        // Assert: the average rose by an eighth of the difference; the slots still start 64 within the wait.
        Assert.Equal(JobSlots.ClaimBatch, size);
    }

    [Fact]
    public void NoMoreJobsRunAtOnceThanThereAreSlots()
    {
        // Arrange
        var slots = new JobSlots(2, _clock);
        var jobs = Enumerable.Range(0, 5).Select(_ => NewJob()).ToArray();
        slots.Add(jobs);

        // Act
        var first = slots.TryStartNext(out var a);
        var second = slots.TryStartNext(out var b);
        var third = slots.TryStartNext(out _);
        slots.Release(a.Id);
        var afterRelease = slots.TryStartNext(out var c);

        // Assert: oldest first, and a third only once a slot was given back.
        Assert.True(first && second && afterRelease);
        Assert.False(third);
        Assert.Equal([jobs[0].Id, jobs[1].Id, jobs[2].Id], [a.Id, b.Id, c.Id]);
        Assert.Equal(2, slots.Waiting);
    }

    [Fact]
    public void JobsThatWaitedTooLongAreHandedBackAndNoOthers()
    {
        // Arrange: one slot, busy; two jobs waiting since long ago, one just claimed.
        var slots = new JobSlots(1, _clock);
        var old = new[] { NewJob(), NewJob(), NewJob() };
        slots.Add(old);
        Assert.True(slots.TryStartNext(out _));
        _clock.Advance(JobSlots.MaxWait + TimeSpan.FromMilliseconds(1));
        var fresh = NewJob();
        slots.Add([fresh]);

        // Act
        var overdue = slots.TakeOverdue();

        // Assert
        Assert.Equal([old[1].Id, old[2].Id], overdue.Select(j => j.Id));
        Assert.Equal([fresh.Id], slots.WaitingIds());
    }

    [Fact]
    public void ARemovedJobNeverStarts()
    {
        // Arrange
        var slots = new JobSlots(1, _clock);
        var job = NewJob();
        slots.Add([job]);

        // Act
        var removed = slots.TryRemove(job.Id);
        var removedAgain = slots.TryRemove(job.Id);

        // Assert
        Assert.True(removed);
        Assert.False(removedAgain);
        Assert.False(slots.TryStartNext(out _));
    }

    [Fact]
    public void ClosingHandsBackEveryWaitingJobAndStartsNothingMore()
    {
        // Arrange
        var slots = new JobSlots(4, _clock);
        var jobs = new[] { NewJob(), NewJob() };
        slots.Add(jobs);

        // Act
        var left = slots.Close();
        slots.Add([NewJob()]);

        // Assert
        Assert.Equal(jobs.Select(j => j.Id), left.Select(j => j.Id));
        Assert.False(slots.TryStartNext(out _));
        Assert.Equal(0, slots.ClaimSize());
    }

    private void RunJobs(JobSlots slots, int count, TimeSpan each)
    {
        for (var i = 0; i < count; i++)
        {
            slots.Add([NewJob()]);
            Assert.True(slots.TryStartNext(out var job));
            _clock.Advance(each);
            slots.Release(job.Id);
        }
    }

    private static ClaimedJob NewJob() =>
        new(Guid.CreateVersion7(), NoopJobHandler.KindName, JsonSerializer.SerializeToElement(new { }), 1, 3, null, null, DateTimeOffset.UtcNow);

    /// <summary>A clock that moves only when told to.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}

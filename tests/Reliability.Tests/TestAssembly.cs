// These tests kill, signal and load real processes and restart PostgreSQL; run one at a time so that a replica
// being starved of CPU by another test is never mistaken for a fault (the suite targets a 2-core machine).
[assembly: CollectionBehavior(DisableTestParallelization = true)]

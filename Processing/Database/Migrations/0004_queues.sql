-- Queues: every job belongs to one, fixed by its kind when it is queued. Processing's workers claim from
-- 'processing' (the built-in kinds); runners of the team's Python code claim from 'python' through the API. A
-- claim reads its own queue's queued jobs in submission order, so the partial index leads with the queue.
-- A job may carry a time limit for one attempt (timeout_seconds), which whoever runs it enforces.
ALTER TABLE datastack.jobs ADD COLUMN queue text NOT NULL DEFAULT 'processing';
ALTER TABLE datastack.jobs ADD COLUMN timeout_seconds integer CHECK (timeout_seconds > 0);

DROP INDEX datastack.jobs_queued_idx;
CREATE INDEX jobs_queued_idx ON datastack.jobs (queue, created_at) WHERE status = 'queued';

-- The wake-up for new work names the queues it is for (comma-separated), so a python job does not wake
-- Processing's workers and a built-in job does not wake the runners' claims.
CREATE OR REPLACE FUNCTION datastack.notify_jobs_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    queued text;
BEGIN
    SELECT string_agg(DISTINCT queue, ',') INTO queued FROM new_jobs WHERE status = 'queued';
    IF queued IS NOT NULL THEN
        PERFORM pg_notify('datastack_jobs', queued);
    END IF;
    PERFORM pg_notify('datastack_job_done', chunk.ids)
    FROM (
        SELECT string_agg(ended.id::text, ',') AS ids
        FROM (SELECT id, (row_number() OVER () - 1) / 200 AS n FROM new_jobs
              WHERE status IN ('succeeded', 'failed', 'cancelled')) ended
        GROUP BY ended.n
    ) chunk;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION datastack.notify_jobs_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    queued text;
BEGIN
    SELECT string_agg(DISTINCT n.queue, ',') INTO queued
    FROM new_jobs n JOIN old_jobs o ON o.id = n.id WHERE n.status = 'queued' AND o.status <> 'queued';
    IF queued IS NOT NULL THEN
        PERFORM pg_notify('datastack_jobs', queued);
    END IF;
    PERFORM pg_notify('datastack_job_done', chunk.ids)
    FROM (
        SELECT string_agg(ended.id::text, ',') AS ids
        FROM (SELECT n.id, (row_number() OVER () - 1) / 200 AS n
              FROM new_jobs n JOIN old_jobs o ON o.id = n.id
              WHERE n.status IN ('succeeded', 'failed', 'cancelled') AND o.status <> n.status) ended
        GROUP BY ended.n
    ) chunk;
    RETURN NULL;
END
$$;

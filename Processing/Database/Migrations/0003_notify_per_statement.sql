-- Wake-ups per statement, not per row. Before, every job that ended sent its own datastack_job_done
-- notification, and every replica's LISTEN connection received and parsed each one: at thousands of short
-- jobs a second that was a large share of the queue's CPU. Now each statement that changes jobs sends at most
-- one datastack_jobs wake-up and one datastack_job_done notification per 200 ended jobs, whose payload is
-- their ids joined by commas (a single id reads as before). 200 ids of 36 characters stay under
-- PostgreSQL's 8,000-byte payload limit. Transition tables need statement-level triggers without a column
-- list, so the UPDATE trigger runs for every UPDATE of the table and compares old and new status itself.
DROP TRIGGER jobs_notify ON datastack.jobs;
DROP FUNCTION datastack.notify_job();

CREATE FUNCTION datastack.notify_jobs_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_jobs WHERE status = 'queued') THEN
        PERFORM pg_notify('datastack_jobs', '');
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

CREATE FUNCTION datastack.notify_jobs_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_jobs n JOIN old_jobs o ON o.id = n.id WHERE n.status = 'queued' AND o.status <> 'queued') THEN
        PERFORM pg_notify('datastack_jobs', '');
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

CREATE TRIGGER jobs_notify_insert
    AFTER INSERT ON datastack.jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION datastack.notify_jobs_inserted();

CREATE TRIGGER jobs_notify_update
    AFTER UPDATE ON datastack.jobs
    REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION datastack.notify_jobs_updated();

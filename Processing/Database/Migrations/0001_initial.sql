-- Catalog and job queue live in schema datastack; dataset tables in schema datasets.
CREATE SCHEMA IF NOT EXISTS datastack;
CREATE SCHEMA IF NOT EXISTS datasets;

CREATE TABLE datastack.datasets (
    name        text PRIMARY KEY,
    columns     jsonb NOT NULL,
    row_count   bigint NOT NULL,
    source      text NOT NULL,
    checksum    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    profile     jsonb,
    job_id      uuid
);

CREATE TABLE datastack.jobs (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL,
    args             jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL,
    idempotency_key  text UNIQUE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    run_after        timestamptz NOT NULL DEFAULT now(),
    lease_owner      text,
    lease_expires_at timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    progress_rows    bigint NOT NULL DEFAULT 0,
    progress_bytes   bigint NOT NULL DEFAULT 0,
    result           jsonb,
    error            jsonb,
    trace_parent     text,
    trace_state      text
);

-- The claim query walks queued jobs in submission order; the partial index keeps it small.
CREATE INDEX jobs_queued_idx ON datastack.jobs (created_at) WHERE status = 'queued';
-- The lease reaper looks only at running jobs.
CREATE INDEX jobs_running_lease_idx ON datastack.jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_created_idx ON datastack.jobs (created_at DESC);

-- Wake-ups instead of polling: a job that becomes queued wakes the workers; a job that ends wakes
-- whoever waits on it (GET /jobs/{id}/wait). Identical payloads within one transaction are folded
-- into one notification by PostgreSQL, so a batch submit wakes the workers once.
CREATE FUNCTION datastack.notify_job() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'queued' AND (TG_OP = 'INSERT' OR OLD.status <> 'queued') THEN
        PERFORM pg_notify('datastack_jobs', '');
    ELSIF NEW.status IN ('succeeded', 'failed', 'cancelled') AND (TG_OP = 'INSERT' OR OLD.status <> NEW.status) THEN
        PERFORM pg_notify('datastack_job_done', NEW.id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_notify
    AFTER INSERT OR UPDATE OF status ON datastack.jobs
    FOR EACH ROW EXECUTE FUNCTION datastack.notify_job();

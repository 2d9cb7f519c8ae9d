-- Transforms run the user's SELECT as datastack_transform: a role that can read the datasets and has no
-- other powers, so a transform cannot read server files or call superuser-only functions even where
-- Processing connects as a superuser (the Aspire postgres container's default user). The role is created
-- only where the connecting role may create roles; elsewhere transforms run as the connecting role, which
-- then has no such powers to begin with.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'datastack_transform')
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
        BEGIN
            CREATE ROLE datastack_transform NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            -- Another database on the same server created it at the same moment: roles are server-wide.
            NULL;
        END;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'datastack_transform')
       AND pg_has_role(current_user, 'datastack_transform', 'USAGE WITH ADMIN OPTION') THEN
        EXECUTE format('GRANT datastack_transform TO %I', current_user);
        GRANT USAGE ON SCHEMA datasets TO datastack_transform;
        GRANT SELECT ON ALL TABLES IN SCHEMA datasets TO datastack_transform;
        -- Tables Processing creates from now on (ingest, transform) are readable by the role too.
        ALTER DEFAULT PRIVILEGES IN SCHEMA datasets GRANT SELECT ON TABLES TO datastack_transform;
    END IF;
END
$$;

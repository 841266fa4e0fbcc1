-- better-auth-grpc's change feed: committed changes of Better Auth's rows a cached answer
-- depends on, sent to LISTENers of channel better_auth_grpc. Payloads never hold a raw token:
--   s:<hex SHA-256 of the session token>:<userId>   a session row deleted or changed
--   u:<userId>                                       a user row deleted or changed
--   k                                                the jwks table changed
-- Row inserts notify nothing (a new row invalidates no cached answer), except for jwks.
-- Installed by `better-auth-grpc migrate --change-feed`; idempotent.
CREATE OR REPLACE FUNCTION better_auth_grpc_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_ARGV[0] = 'session' THEN
    PERFORM pg_notify('better_auth_grpc',
      's:' || encode(sha256(convert_to(OLD."token", 'UTF8')), 'hex') || ':' || OLD."userId");
  ELSIF TG_ARGV[0] = 'user' THEN
    PERFORM pg_notify('better_auth_grpc', 'u:' || OLD."id");
  ELSE
    PERFORM pg_notify('better_auth_grpc', 'k');
  END IF;
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS better_auth_grpc_session ON "session";
CREATE TRIGGER better_auth_grpc_session AFTER UPDATE OR DELETE ON "session"
  FOR EACH ROW EXECUTE FUNCTION better_auth_grpc_notify('session');

DROP TRIGGER IF EXISTS better_auth_grpc_user ON "user";
CREATE TRIGGER better_auth_grpc_user AFTER UPDATE OR DELETE ON "user"
  FOR EACH ROW EXECUTE FUNCTION better_auth_grpc_notify('user');

-- The jwt plugin's table is optional.
DO $$
BEGIN
  IF to_regclass('"jwks"') IS NOT NULL THEN
    DROP TRIGGER IF EXISTS better_auth_grpc_jwks ON "jwks";
    CREATE TRIGGER better_auth_grpc_jwks AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "jwks"
      FOR EACH STATEMENT EXECUTE FUNCTION better_auth_grpc_notify('jwks');
  END IF;
END
$$;

"""Triggers that keep DocumentTally, and the trigram index behind `search` (PostgreSQL).

Triggers rather than service code: every write path (the services, the admin, bulk SQL such as the list
benchmark's) keeps the count exact. Only inserts and liveness changes (soft delete) move a count, never a
status change, so issuing, which takes the series lock, never waits on a tally row.
"""

from django.db import migrations

SHARDS = 8

POSTGRESQL_FORWARD = f"""
CREATE FUNCTION invoices_document_tally_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Rows are upserted in key order so that two bulk statements cannot deadlock on the tally.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO invoices_documenttally (company_id, is_credit_note, shard, live)
        SELECT company_id, is_credit_note, id % {SHARDS}, count(*) FROM changed_rows WHERE deleted_at IS NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (company_id, is_credit_note, shard) DO UPDATE SET live = invoices_documenttally.live + EXCLUDED.live;
    ELSE
        INSERT INTO invoices_documenttally (company_id, is_credit_note, shard, live)
        SELECT company_id, is_credit_note, id % {SHARDS}, -count(*) FROM changed_rows WHERE deleted_at IS NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (company_id, is_credit_note, shard) DO UPDATE SET live = invoices_documenttally.live + EXCLUDED.live;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION invoices_document_tally_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO invoices_documenttally (company_id, is_credit_note, shard, live)
    SELECT company_id, is_credit_note, shard, sum(delta) FROM (
        SELECT OLD.company_id, OLD.is_credit_note, OLD.id % {SHARDS}, -1 WHERE OLD.deleted_at IS NULL
        UNION ALL
        SELECT NEW.company_id, NEW.is_credit_note, NEW.id % {SHARDS}, 1 WHERE NEW.deleted_at IS NULL
    ) AS moves (company_id, is_credit_note, shard, delta)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (company_id, is_credit_note, shard) DO UPDATE SET live = invoices_documenttally.live + EXCLUDED.live;
    RETURN NULL;
END $$;

CREATE TRIGGER document_tally_insert AFTER INSERT ON invoices_document
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION invoices_document_tally_statement();
CREATE TRIGGER document_tally_delete AFTER DELETE ON invoices_document
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION invoices_document_tally_statement();
-- Ordinary saves (every issue, payment and apply) do not match the WHEN clause and cost nothing more.
CREATE TRIGGER document_tally_update AFTER UPDATE ON invoices_document FOR EACH ROW
    WHEN ((OLD.company_id, OLD.is_credit_note, OLD.deleted_at IS NULL)
          IS DISTINCT FROM (NEW.company_id, NEW.is_credit_note, NEW.deleted_at IS NULL))
    EXECUTE FUNCTION invoices_document_tally_row();

-- Trusted since PostgreSQL 13: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX document_search_trigram ON invoices_document USING gin (search_text gin_trgm_ops)
    WHERE deleted_at IS NULL;
"""

POSTGRESQL_BACKWARD = """
DROP INDEX IF EXISTS document_search_trigram;
DROP TRIGGER document_tally_insert ON invoices_document;
DROP TRIGGER document_tally_delete ON invoices_document;
DROP TRIGGER document_tally_update ON invoices_document;
DROP FUNCTION invoices_document_tally_statement();
DROP FUNCTION invoices_document_tally_row();
"""


def _sqlite_upsert(row: str, delta: int) -> str:
    return (
        "INSERT INTO invoices_documenttally (company_id, is_credit_note, shard, live) "
        f"VALUES ({row}.company_id, {row}.is_credit_note, {row}.id % {SHARDS}, {delta}) "
        "ON CONFLICT (company_id, is_credit_note, shard) DO UPDATE SET live = live + excluded.live;"
    )


_KEY_OR_LIVENESS_CHANGED = (
    "(OLD.company_id != NEW.company_id OR OLD.is_credit_note != NEW.is_credit_note"
    " OR (OLD.deleted_at IS NULL) != (NEW.deleted_at IS NULL))"
)
SQLITE_FORWARD = [
    "CREATE TRIGGER document_tally_insert AFTER INSERT ON invoices_document WHEN NEW.deleted_at IS NULL "
    f"BEGIN {_sqlite_upsert('NEW', 1)} END",
    "CREATE TRIGGER document_tally_delete AFTER DELETE ON invoices_document WHEN OLD.deleted_at IS NULL "
    f"BEGIN {_sqlite_upsert('OLD', -1)} END",
    "CREATE TRIGGER document_tally_update_old AFTER UPDATE ON invoices_document "
    f"WHEN OLD.deleted_at IS NULL AND {_KEY_OR_LIVENESS_CHANGED} BEGIN {_sqlite_upsert('OLD', -1)} END",
    "CREATE TRIGGER document_tally_update_new AFTER UPDATE ON invoices_document "
    f"WHEN NEW.deleted_at IS NULL AND {_KEY_OR_LIVENESS_CHANGED} BEGIN {_sqlite_upsert('NEW', 1)} END",
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER {name}"
    for name in (
        "document_tally_insert",
        "document_tally_delete",
        "document_tally_update_old",
        "document_tally_update_new",
    )
]

BACKFILL = f"""
INSERT INTO invoices_documenttally (company_id, is_credit_note, shard, live)
SELECT company_id, is_credit_note, id % {SHARDS}, count(*) FROM invoices_document WHERE deleted_at IS NULL
GROUP BY 1, 2, 3
"""


def install(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Until the triggers exist (this transaction's end), no document may be written uncounted.
            cursor.execute("LOCK TABLE invoices_document IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(BACKFILL)
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_FORWARD)
        elif connection.vendor == "sqlite":
            for statement in SQLITE_FORWARD:
                cursor.execute(statement)
        else:
            raise NotImplementedError(f"No document tally triggers for {connection.vendor}.")


def uninstall(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_BACKWARD)
        else:
            for statement in SQLITE_BACKWARD:
                cursor.execute(statement)
        cursor.execute("DELETE FROM invoices_documenttally")


class Migration(migrations.Migration):
    dependencies = [("invoices", "0002_list_indexes_and_tally")]

    operations = [migrations.RunPython(install, uninstall)]

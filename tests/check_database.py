"""`make test` runs against a reachable PostgreSQL or not at all: never silently against something else."""

import sys

import dj_database_url
import psycopg


def main(url: str) -> None:
    database = dj_database_url.parse(url)
    if not database["ENGINE"].endswith("postgresql"):
        sys.exit(f"make test runs against PostgreSQL only; DATABASE_URL is {url}")
    try:
        # The maintenance database: the test database itself is created by pytest-django.
        psycopg.connect(
            host=database["HOST"] or "127.0.0.1",
            port=database["PORT"] or 5432,
            user=database["USER"] or "postgres",
            password=database["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=5,
        ).close()
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0]
        sys.exit(f"PostgreSQL is not reachable at {url} ({reason}); start it (see README) and run make test again.")


if __name__ == "__main__":
    main(sys.argv[1])

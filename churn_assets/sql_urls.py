"""Which ``source`` values are databases: an SQLAlchemy URL's scheme."""

from __future__ import annotations

SQL_SCHEMES = ("postgresql", "postgres", "mysql", "mariadb", "sqlite", "mssql", "oracle",
               "snowflake", "bigquery", "redshift", "duckdb")


def is_sql_url(location: str) -> bool:
    """``postgresql://…``, ``postgresql+psycopg2://…``, ``sqlite:///…``: an SQLAlchemy URL."""
    scheme = location.split("://", 1)[0].split("+", 1)[0].lower() if "://" in location else ""
    return scheme in SQL_SCHEMES

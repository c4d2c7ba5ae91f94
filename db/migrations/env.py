"""Alembic environment: the URL comes from the caller (db.migrate) or from DATABASE_URL."""

from alembic import context

import db.models  # noqa: F401  (registers every table on Base.metadata)
from config import Settings
from db.base import Base, make_engine

config = context.config
connection = config.attributes.get("connection")


def run(conn) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()

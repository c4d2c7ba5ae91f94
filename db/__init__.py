"""Database: models, engine and session handling, migrations (Alembic) and demo data."""

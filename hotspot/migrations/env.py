"""Alembic environment: runs migrations online against the configured database."""

from alembic import context
from sqlalchemy import create_engine, pool

from hotspot.adapters.partitions import not_a_partition
from hotspot.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "alembic needs sqlalchemy.url; use `hotspot db upgrade`"

engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        include_name=not_a_partition,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()

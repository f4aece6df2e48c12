"""events: an insert sentinel column, so SQLite inserts a flush's events in one statement

SQLAlchemy matches the ids an INSERT ... RETURNING gives back to the rows it inserted by
this column's values; without one, SQLite (whose ROWIDs come back in no guaranteed order)
was sent one INSERT per event. Nullable, no default: existing rows keep NULL.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('events', sa.Column('insert_sentinel', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('events', 'insert_sentinel')

"""rule firings: the history the per-rule limits read

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rule_firings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('fan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('occurrence', sa.String(length=64), nullable=False),
    sa.Column('fired_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('brand_version', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['fan_id'], ['fans.id'], name=op.f('fk_rule_firings_fan_id_fans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_rule_firings_outbox_id_outbox'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_firings')),
    sa.UniqueConstraint('rule', 'fan_id', 'occurrence', name=op.f('uq_rule_firings_rule'))
    )
    with op.batch_alter_table('rule_firings', schema=None) as batch_op:
        batch_op.create_index('ix_rule_firings_rule_fan_time', ['rule', 'fan_id', 'fired_at'], unique=False)
        batch_op.create_index('ix_rule_firings_rule_time', ['rule', 'fired_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rule_firings', schema=None) as batch_op:
        batch_op.drop_index('ix_rule_firings_rule_time')
        batch_op.drop_index('ix_rule_firings_rule_fan_time')

    op.drop_table('rule_firings')

"""the step of a run's model outputs; a logged model's links to the run's metric values

``inputs.step``: the step of the run a model output was logged at (``log_model(step=N)``; 0 for the
outputs logged before, as MLflow's own migration of its ``inputs`` table). ``logged_model_metrics``:
the run's metric values at that step, linked to the model without copying them.
``index_metrics_model_id``: the values logged for a model, found without reading the run histories
(a partial index: values logged for no model are not in it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 19:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inputs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step', sa.BigInteger(), nullable=False, server_default='0'))
    op.create_table('logged_model_metrics',
    sa.Column('model_id', sa.String(length=64), nullable=False),
    sa.Column('metric_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['logged_models.model_id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['metric_id'], ['metrics.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'metric_id')
    )
    with op.batch_alter_table('logged_model_metrics', schema=None) as batch_op:
        batch_op.create_index('index_logged_model_metrics_metric_id', ['metric_id'], unique=False)
    with op.batch_alter_table('metrics', schema=None) as batch_op:
        batch_op.create_index('index_metrics_model_id', ['model_id'], unique=False,
                              sqlite_where=sa.text('model_id IS NOT NULL'),
                              postgresql_where=sa.text('model_id IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('metrics', schema=None) as batch_op:
        batch_op.drop_index('index_metrics_model_id')
    with op.batch_alter_table('logged_model_metrics', schema=None) as batch_op:
        batch_op.drop_index('index_logged_model_metrics_metric_id')
    op.drop_table('logged_model_metrics')
    with op.batch_alter_table('inputs', schema=None) as batch_op:
        batch_op.drop_column('step')

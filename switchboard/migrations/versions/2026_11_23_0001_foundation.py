"""foundation

Revision ID: 0001
Revises:
Create Date: 2026-11-23 08:49:12.201289
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import switchboard.core.db

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("extension_start", sa.Integer(), nullable=False),
        sa.Column("extension_end", sa.Integer(), nullable=False),
        sa.Column("daily_reset_time", sa.String(length=5), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenants_domain"), ["domain"], unique=True)

    op.create_table(
        "hours_of_operation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("always_open", sa.Boolean(), nullable=False),
        sa.Column("weekly", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_hours_of_operation_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hours_of_operation")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_hours_of_operation_tenant_id_name")),
    )
    with op.batch_alter_table("hours_of_operation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hours_of_operation_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "not_ready_reasons",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_not_ready_reasons_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_not_ready_reasons")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_not_ready_reasons_tenant_id_name")),
    )
    with op.batch_alter_table("not_ready_reasons", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_not_ready_reasons_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "roles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("privileges", sa.JSON(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_roles_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_roles_tenant_id_name")),
    )
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roles_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "services",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("media", sa.String(length=16), nullable=False),
        sa.Column("required_skills", sa.JSON(), nullable=False),
        sa.Column("service_level_threshold_seconds", sa.Integer(), nullable=False),
        sa.Column("service_level_target_percent", sa.Integer(), nullable=False),
        sa.Column("short_abandon_seconds", sa.Integer(), nullable=False),
        sa.Column("acw_timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("relaxation", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_services_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_services_tenant_id_name")),
    )
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_services_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "skills",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_skills_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_skills_tenant_id_name")),
    )
    with op.batch_alter_table("skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_skills_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "teams",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("default_chat_capacity", sa.Integer(), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_teams_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_teams_tenant_id_name")),
    )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_teams_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "dispositions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("agent_can_select", sa.Boolean(), nullable=False),
        sa.Column("inbound", sa.Boolean(), nullable=False),
        sa.Column("outbound", sa.Boolean(), nullable=False),
        sa.Column("preview", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("retry_minutes", sa.Integer(), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_dispositions_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_dispositions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispositions")),
        sa.UniqueConstraint(
            "tenant_id",
            "service_id",
            "name",
            name=op.f("uq_dispositions_tenant_id_service_id_name"),
        ),
    )
    with op.batch_alter_table("dispositions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispositions_service_id"), ["service_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dispositions_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "scenario_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=True),
        sa.Column("hours_id", sa.String(length=36), nullable=True),
        sa.Column("expected_parameters", sa.JSON(), nullable=False),
        sa.Column("requested_skills", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("inactivity_timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("inactivity_warning_seconds", sa.Integer(), nullable=False),
        sa.Column("widget_configuration", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hours_id"],
            ["hours_of_operation.id"],
            name=op.f("fk_scenario_entries_hours_id_hours_of_operation"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_scenario_entries_service_id_services"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_scenario_entries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_entries")),
        sa.UniqueConstraint(
            "tenant_id", "app_id", name=op.f("uq_scenario_entries_tenant_id_app_id")
        ),
    )
    with op.batch_alter_table("scenario_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scenario_entries_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("login_id", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("api_secret_hash", sa.String(length=255), nullable=True),
        sa.Column("first_name", sa.String(length=255), nullable=False),
        sa.Column("last_name", sa.String(length=255), nullable=False),
        sa.Column("nickname", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("locale", sa.String(length=32), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("team_id", sa.String(length=36), nullable=True),
        sa.Column("extension", sa.String(length=32), nullable=True),
        sa.Column("work_phone", sa.String(length=64), nullable=True),
        sa.Column("mobile_phone", sa.String(length=64), nullable=True),
        sa.Column("external_number", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("photo_content_type", sa.String(length=128), nullable=True),
        sa.Column("photo_data", sa.LargeBinary(), nullable=True),
        sa.Column("photo_url", sa.String(length=2048), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("change_password", sa.Boolean(), nullable=False),
        sa.Column("voice_mail", sa.Boolean(), nullable=False),
        sa.Column("greeting", sa.Boolean(), nullable=False),
        sa.Column("chat_capacity", sa.Integer(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_users_team_id_teams"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_users_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("tenant_id", "extension", name=op.f("uq_users_tenant_id_extension")),
        sa.UniqueConstraint("tenant_id", "login_id", name=op.f("uq_users_tenant_id_login_id")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_team_id"), ["team_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "access_numbers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("media", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("scenario", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_access_numbers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_access_numbers_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_numbers")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_access_numbers_tenant_id_number")),
    )
    with op.batch_alter_table("access_numbers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_numbers_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "access_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_access_tokens_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_access_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_tokens")),
    )
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_tokens_digest"), ["digest"], unique=True)
        batch_op.create_index(batch_op.f("ix_access_tokens_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("giid", sa.String(length=36), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=True),
        sa.Column("service_id", sa.String(length=36), nullable=True),
        sa.Column("client_key", sa.String(length=255), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("requested_skills", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("from_address", sa.String(length=255), nullable=True),
        sa.Column("phone_number", sa.String(length=64), nullable=True),
        sa.Column("case_id", sa.String(length=255), nullable=True),
        sa.Column("agent_user_id", sa.String(length=36), nullable=True),
        sa.Column("end_reason", sa.String(length=64), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("client_cursor", sa.Integer(), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("queued_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("connected_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_client_activity_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["agent_user_id"],
            ["users.id"],
            name=op.f("fk_chat_sessions_agent_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["scenario_entries.id"],
            name=op.f("fk_chat_sessions_entry_id_scenario_entries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_chat_sessions_service_id_services"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_sessions")),
    )
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_sessions_agent_user_id"), ["agent_user_id"], unique=False
        )
        batch_op.create_index(
            "ix_chat_sessions_client", ["tenant_id", "client_key", "state"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_chat_sessions_giid"), ["giid"], unique=False)
        batch_op.create_index(
            "ix_chat_sessions_queue", ["tenant_id", "state", "priority", "queued_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chat_sessions_service_id"), ["service_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_chat_sessions_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "team_supervisors",
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_supervisors_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_team_supervisors_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_supervisors")),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("role_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_user_roles_role_id_roles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role_id", name=op.f("pk_user_roles")),
    )
    op.create_table(
        "user_skills",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("skill_id", sa.String(length=36), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_user_skills_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_skills_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "skill_id", name=op.f("pk_user_skills")),
    )
    with op.batch_alter_table("user_skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_skills_skill_id"), ["skill_id"], unique=False)

    op.create_table(
        "chat_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("chat_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("party_id", sa.String(length=36), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chat_sessions.id"],
            name=op.f("fk_chat_events_chat_id_chat_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_events")),
        sa.UniqueConstraint("chat_id", "seq", name=op.f("uq_chat_events_chat_id_seq")),
    )
    with op.batch_alter_table("chat_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_events_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "chat_files",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("chat_id", sa.String(length=36), nullable=True),
        sa.Column("uploaded_by", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("storage_path", sa.String(length=1024), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chat_sessions.id"],
            name=op.f("fk_chat_files_chat_id_chat_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_files_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_files")),
    )
    with op.batch_alter_table("chat_files", schema=None) as batch_op:
        batch_op.create_index(
            "ix_chat_files_tenant_created", ["tenant_id", "created_at"], unique=False
        )

    op.create_table(
        "chat_parties",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("chat_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=True),
        sa.Column("joined_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("left_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chat_sessions.id"],
            name=op.f("fk_chat_parties_chat_id_chat_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_parties_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_chat_parties_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_parties")),
    )
    with op.batch_alter_table("chat_parties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_parties_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_parties_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("chat_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_parties_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_chat_parties_chat_id"))

    op.drop_table("chat_parties")
    with op.batch_alter_table("chat_files", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_files_tenant_created")

    op.drop_table("chat_files")
    with op.batch_alter_table("chat_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_events_tenant_id"))

    op.drop_table("chat_events")
    with op.batch_alter_table("user_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_skills_skill_id"))

    op.drop_table("user_skills")
    op.drop_table("user_roles")
    op.drop_table("team_supervisors")
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_sessions_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_chat_sessions_service_id"))
        batch_op.drop_index("ix_chat_sessions_queue")
        batch_op.drop_index(batch_op.f("ix_chat_sessions_giid"))
        batch_op.drop_index("ix_chat_sessions_client")
        batch_op.drop_index(batch_op.f("ix_chat_sessions_agent_user_id"))

    op.drop_table("chat_sessions")
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_access_tokens_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_access_tokens_digest"))

    op.drop_table("access_tokens")
    with op.batch_alter_table("access_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_numbers_tenant_id"))

    op.drop_table("access_numbers")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_users_team_id"))

    op.drop_table("users")
    with op.batch_alter_table("scenario_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_entries_tenant_id"))

    op.drop_table("scenario_entries")
    with op.batch_alter_table("dispositions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispositions_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_dispositions_service_id"))

    op.drop_table("dispositions")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_teams_tenant_id"))

    op.drop_table("teams")
    with op.batch_alter_table("skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skills_tenant_id"))

    op.drop_table("skills")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_tenant_id"))

    op.drop_table("services")
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roles_tenant_id"))

    op.drop_table("roles")
    with op.batch_alter_table("not_ready_reasons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_not_ready_reasons_tenant_id"))

    op.drop_table("not_ready_reasons")
    with op.batch_alter_table("hours_of_operation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hours_of_operation_tenant_id"))

    op.drop_table("hours_of_operation")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenants_domain"))

    op.drop_table("tenants")

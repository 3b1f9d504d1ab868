"""MLMD's relational schema (version 10), described with SQLAlchemy Core.

Table and column names are MLMD's exactly, so a database written by MLMD's own library
opens here in place and the reverse. Our own tables carry the ``lineage_`` prefix.
Integer columns that hold proto int64 values (ids of rows are int32 in MLMD but
timestamps and ``int_value`` are int64) are BIGINT on servers; SQLite's INTEGER is
64-bit already.

Strings compare as SQLite compares them (byte for byte) on every backend: on MySQL
and MariaDB our tables use a binary collation that does not pad (``mysql_collation``),
where the servers' default ones would call 'Model', 'model', 'model ' and 'modèl' (or
any two emoji) the same name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateTable

SCHEMA_VERSION = 10

metadata = MetaData()

# BIGINT on PostgreSQL/MySQL, INTEGER on SQLite (AUTOINCREMENT needs exactly INTEGER).
Id = BigInteger().with_variant(Integer(), "sqlite")
Int64 = BigInteger().with_variant(Integer(), "sqlite")
Double = (
    Float(precision=53)
    .with_variant(postgresql.DOUBLE_PRECISION(), "postgresql")
    .with_variant(mysql.DOUBLE(), "mysql", "mariadb")
)
Blob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
Bool = Boolean().with_variant(sqlite.BOOLEAN(), "sqlite")
TinyBool = SmallInteger()  # MLMD's TINYINT(1) flags: 0/1 stored as integers


def mysql_collation(dialect: Dialect) -> str:
    """The collation of our tables on MySQL/MariaDB: binary (case- and accent-sensitive)
    and NO PAD (trailing spaces count), like SQLite's and PostgreSQL's "C" comparisons."""
    version = getattr(dialect, "server_version_info", None) or ()
    return binary_collation(bool(getattr(dialect, "is_mariadb", False)), tuple(version))


def binary_collation(is_mariadb: bool, version: tuple[Any, ...]) -> str:
    if is_mariadb:
        return "utf8mb4_nopad_bin"
    if version >= (8, 0, 17):
        return "utf8mb4_0900_bin"
    return "utf8mb4_bin"  # older MySQL has no binary NO PAD collation


@compiles(CreateTable, "mysql")
@compiles(CreateTable, "mariadb")
def _create_table_mysql(element: CreateTable, compiler: Any, **kw: Any) -> str:
    text: str = compiler.visit_create_table(element, **kw)
    if element.element.metadata is metadata:
        text = text.rstrip() + (
            f" DEFAULT CHARSET=utf8mb4 COLLATE={mysql_collation(compiler.dialect)}\n\n"
        )
    return text


def _id_column() -> Column:
    return Column("id", Id, primary_key=True, autoincrement=True)


type_table = Table(
    "Type",
    metadata,
    _id_column(),
    Column("name", String(255), nullable=False),
    Column("version", String(255)),
    Column("type_kind", TinyBool, nullable=False),
    Column("description", Text),
    Column("input_type", Text),
    Column("output_type", Text),
    Column("external_id", String(255), unique=True),
    Index("idx_type_name", "name"),
    Index("idx_type_external_id", "external_id"),
    sqlite_autoincrement=True,
)

type_property_table = Table(
    "TypeProperty",
    metadata,
    Column("type_id", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("data_type", Integer),
    PrimaryKeyConstraint("type_id", "name"),
)

parent_type_table = Table(
    "ParentType",
    metadata,
    Column("type_id", Integer, nullable=False),
    Column("parent_type_id", Integer, nullable=False),
    PrimaryKeyConstraint("type_id", "parent_type_id"),
)


def _node_columns(prefix: str) -> list:
    return [
        Column("name", String(255)),
        Column("external_id", String(255), unique=True),
        Column("create_time_since_epoch", Int64, nullable=False, server_default="0"),
        Column("last_update_time_since_epoch", Int64, nullable=False, server_default="0"),
        UniqueConstraint("type_id", "name"),
        Index(f"idx_{prefix}_create_time_since_epoch", "create_time_since_epoch"),
        Index(f"idx_{prefix}_last_update_time_since_epoch", "last_update_time_since_epoch"),
        Index(f"idx_{prefix}_external_id", "external_id"),
    ]


artifact_table = Table(
    "Artifact",
    metadata,
    _id_column(),
    Column("type_id", Integer, nullable=False),
    Column("uri", Text),
    Column("state", Integer),
    *_node_columns("artifact"),
    Index("idx_artifact_uri", "uri", mysql_length=255),
    # Ours: filters by type are the most common query of every dashboard.
    Index("lineage_idx_artifact_type_id", "type_id"),
    sqlite_autoincrement=True,
)

execution_table = Table(
    "Execution",
    metadata,
    _id_column(),
    Column("type_id", Integer, nullable=False),
    Column("last_known_state", Integer),
    *_node_columns("execution"),
    Index("lineage_idx_execution_type_id", "type_id"),
    sqlite_autoincrement=True,
)

context_table = Table(
    "Context",
    metadata,
    _id_column(),
    Column("type_id", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("external_id", String(255), unique=True),
    Column("create_time_since_epoch", Int64, nullable=False, server_default="0"),
    Column("last_update_time_since_epoch", Int64, nullable=False, server_default="0"),
    UniqueConstraint("type_id", "name"),
    Index("idx_context_create_time_since_epoch", "create_time_since_epoch"),
    Index("idx_context_last_update_time_since_epoch", "last_update_time_since_epoch"),
    Index("idx_context_external_id", "external_id"),
    sqlite_autoincrement=True,
)


def _property_table(name: str, owner: str, prefix: str) -> Table:
    return Table(
        name,
        metadata,
        Column(owner, Integer, nullable=False),
        Column("name", String(255), nullable=False),
        Column("is_custom_property", TinyBool, nullable=False),
        Column("int_value", Int64),
        Column("double_value", Double),
        Column("string_value", LongText),
        Column("byte_value", Blob),
        Column("proto_value", Blob),
        Column("bool_value", Bool),
        PrimaryKeyConstraint(owner, "name", "is_custom_property"),
        Index(
            f"idx_{prefix}_property_int",
            "name",
            "is_custom_property",
            "int_value",
            sqlite_where=Column("int_value").isnot(None),
            postgresql_where=Column("int_value").isnot(None),
        ),
        Index(
            f"idx_{prefix}_property_double",
            "name",
            "is_custom_property",
            "double_value",
            sqlite_where=Column("double_value").isnot(None),
            postgresql_where=Column("double_value").isnot(None),
        ),
        Index(
            f"idx_{prefix}_property_string",
            "name",
            "is_custom_property",
            "string_value",
            mysql_length={"string_value": 255},
            sqlite_where=Column("string_value").isnot(None),
            postgresql_where=Column("string_value").isnot(None),
        ),
    )


artifact_property_table = _property_table("ArtifactProperty", "artifact_id", "artifact")
execution_property_table = _property_table("ExecutionProperty", "execution_id", "execution")
context_property_table = _property_table("ContextProperty", "context_id", "context")

event_table = Table(
    "Event",
    metadata,
    _id_column(),
    Column("artifact_id", Integer, nullable=False),
    Column("execution_id", Integer, nullable=False),
    Column("type", Integer, nullable=False),
    Column("milliseconds_since_epoch", Int64),
    UniqueConstraint("artifact_id", "execution_id", "type"),
    Index("idx_event_execution_id", "execution_id"),
    sqlite_autoincrement=True,
)

event_path_table = Table(
    "EventPath",
    metadata,
    Column("event_id", Integer, nullable=False),
    Column("is_index_step", TinyBool, nullable=False),
    Column("step_index", Integer),
    Column("step_key", Text),
    Index("idx_eventpath_event_id", "event_id"),
)

# MLMD's tables have no primary key here; SQLAlchemy needs one to describe the table,
# the database does not (created with the key as in MLMD: schema_version).
mlmd_env_table = Table(
    "MLMDEnv",
    metadata,
    Column("schema_version", Integer, primary_key=True, autoincrement=False),
)

parent_context_table = Table(
    "ParentContext",
    metadata,
    Column("context_id", Integer, nullable=False),
    Column("parent_context_id", Integer, nullable=False),
    PrimaryKeyConstraint("context_id", "parent_context_id"),
    Index("idx_parentcontext_parent_context_id", "parent_context_id"),
)

association_table = Table(
    "Association",
    metadata,
    _id_column(),
    Column("context_id", Integer, nullable=False),
    Column("execution_id", Integer, nullable=False),
    UniqueConstraint("context_id", "execution_id"),
    Index("lineage_idx_association_execution_id", "execution_id"),
    sqlite_autoincrement=True,
)

attribution_table = Table(
    "Attribution",
    metadata,
    _id_column(),
    Column("context_id", Integer, nullable=False),
    Column("artifact_id", Integer, nullable=False),
    UniqueConstraint("context_id", "artifact_id"),
    Index("lineage_idx_attribution_artifact_id", "artifact_id"),
    sqlite_autoincrement=True,
)

# --- Our own tables, beside MLMD's -------------------------------------------------

idempotency_table = Table(
    "lineage_idempotency_key",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("execution_id", Integer, nullable=False),
    Column("response", Blob),
    Column("create_time_since_epoch", Int64, nullable=False),
)

blob_table = Table(
    "lineage_blob",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", Int64, nullable=False),
    Column("location", Text, nullable=False),
    Column("create_time_since_epoch", Int64, nullable=False),
    # The BLAKE3 of the same bytes, computed with the sha256 at upload; downloads check
    # it (cheaper). NULL for rows recorded before revision 0003: those check the sha256.
    Column("blake3", String(64), nullable=True),
)

# Tables MLMD itself creates, in its order; used by migrations and compatibility checks.
MLMD_TABLES = [
    type_table,
    type_property_table,
    parent_type_table,
    artifact_table,
    artifact_property_table,
    execution_table,
    execution_property_table,
    event_table,
    event_path_table,
    mlmd_env_table,
    context_table,
    context_property_table,
    parent_context_table,
    association_table,
    attribution_table,
]
OWN_TABLES = [idempotency_table, blob_table]

"""The retention policy file: which tables keep how much, and where old rows go.

The shape, written by hand by operators (documented in ``docs/retention.md``)::

    tables:
      - table: auditflow.public.audit_event   # database.schema.table or schema.table
        time_column: created_at
        keep: 90d
        archive: {dir: /archive/audit_event, format: parquet, compression: zstd}   # omit to purge only
        batch_rows: 10000

Every check on the file lives here, so a bad file is one clear line whichever command reads it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kubetally.errors import ConfigError
from kubetally.model.config import validated, yaml_mapping

_STRICT = ConfigDict(extra="forbid", frozen=True)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_KEEP = re.compile(r"^\s*(\d+)\s*(h|d|w)\s*$")
_KEEP_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400}


def parse_keep(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w`` -> a timedelta of at least one hour; ValueError otherwise."""
    match = _KEEP.match(text)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"invalid keep {text!r}: use a whole number of hours, days or weeks (12h, 90d, 2w)")
    return timedelta(seconds=int(match.group(1)) * _KEEP_UNITS[match.group(2)])


class Archive(BaseModel):
    """Where archived rows are written: Parquet files in a directory (one file per batch or partition)."""

    model_config = _STRICT
    dir: str = Field(min_length=1, description="Directory of the archive files (created if missing).")
    format: Literal["parquet"] = Field("parquet", description="File format; only Parquet.")
    compression: Literal["zstd", "snappy", "gzip", "lz4", "none"] = Field(
        "zstd", description="Parquet compression codec."
    )


class TableRule(BaseModel):
    """One table: rows whose ``time_column`` is older than ``keep`` are archived (if ``archive``) and deleted."""

    model_config = _STRICT
    table: str = Field(description="database.schema.table or schema.table.")
    time_column: str = Field(description="The timestamp column that says how old a row is.")
    keep: str = Field(description="How much history stays in the table: 12h, 90d, 2w.")
    archive: Archive | None = Field(None, description="Omit to purge without archiving.")
    batch_rows: int = Field(10_000, ge=1, le=1_000_000, description="Rows per batch (per archive file).")

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) not in (2, 3) or not all(_IDENT.match(p) for p in parts):
            raise ValueError(f"{value!r} is not database.schema.table or schema.table")
        return value

    @field_validator("time_column")
    @classmethod
    def _column(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"{value!r} is not a column name")
        return value

    @field_validator("keep", mode="before")
    @classmethod
    def _keep(cls, value: object) -> str:
        parse_keep(str(value))  # a bare number (keep: 90) gets the same message as any other bad value
        return str(value)

    @property
    def keep_delta(self) -> timedelta:
        return parse_keep(self.keep)

    @property
    def database(self) -> str | None:
        parts = self.table.split(".")
        return parts[0] if len(parts) == 3 else None

    @property
    def schema_name(self) -> str:
        return self.table.split(".")[-2]

    @property
    def table_name(self) -> str:
        return self.table.split(".")[-1]

    @property
    def qualified(self) -> str:
        """schema.table, without the database."""
        return f"{self.schema_name}.{self.table_name}"


class RetentionPolicy(BaseModel):
    """A whole policy file."""

    model_config = _STRICT
    tables: tuple[TableRule, ...] = Field(min_length=1, description="One rule per table.")

    @model_validator(mode="after")
    def _unique(self) -> RetentionPolicy:
        seen: set[str] = set()
        for rule in self.tables:
            if rule.qualified in seen:
                raise ValueError(f"table {rule.qualified} appears twice")
            seen.add(rule.qualified)
        return self


def parse_policy_text(text: str, *, where: str = "policy file") -> RetentionPolicy:
    """Parse and validate a YAML policy file's text; errors name the file and the field."""
    data = yaml_mapping(text, where=where, shape="a retention policy is a YAML mapping with a `tables:` list")
    return validated(RetentionPolicy, data, where=where)


_CRON_FIELD = re.compile(r"^[0-9*/,\-]+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class CronJobSettings(BaseModel):
    """What `kubetally retention cronjob` needs besides the policy: where it runs and where the DSN comes from."""

    model_config = _STRICT
    name: str = Field("kubetally-retention", max_length=52, description="CronJob (and ConfigMap) name.")
    namespace: str = Field("default", description="Namespace of the CronJob.")
    schedule: str = Field("30 2 * * *", description="Cron schedule (five fields, the cluster's time zone).")
    image: str = Field(min_length=1, description="A container image with kubetally installed.")
    secret: str = Field("kubetally-retention-dsn", description="Secret holding the DSN.")
    secret_key: str = Field("dsn", description="Key of the DSN in the Secret.")
    archive_claim: str | None = Field(None, description="PersistentVolumeClaim mounted for the archive directories.")
    archive_mount: str = Field("/archive", description="Where the claim is mounted; archive dirs must be under it.")
    vacuum: bool = Field(False, description="Run VACUUM (ANALYZE) after each table.")

    @field_validator("name", "namespace", "secret")
    @classmethod
    def _dns(cls, value: str) -> str:
        if not _DNS_LABEL.match(value) or len(value) > 63:
            raise ValueError(f"{value!r} is not a Kubernetes name (lower-case letters, digits and '-')")
        return value

    @field_validator("archive_claim")
    @classmethod
    def _claim(cls, value: str | None) -> str | None:
        return None if value is None else cls._dns(value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        fields = value.split()
        if not (value.startswith("@") and value in {"@hourly", "@daily", "@weekly", "@monthly", "@yearly"}) and (
            len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields)
        ):
            raise ValueError(f"{value!r} is not a cron schedule (five fields like '30 2 * * *', or @daily)")
        return value

    @field_validator("archive_mount")
    @classmethod
    def _mount(cls, value: str) -> str:
        if not value.startswith("/") or value == "/":
            raise ValueError(f"{value!r} must be an absolute directory other than /")
        return value.rstrip("/")

    def check(self, policy: RetentionPolicy) -> None:
        """Every archive directory of the policy must be on the mounted claim (else the files vanish with the pod).

        Raises :class:`ConfigError`.
        """
        for rule in policy.tables:
            if rule.archive is None:
                continue
            if self.archive_claim is None:
                raise ConfigError(
                    f"{rule.qualified} archives to {rule.archive.dir}: give --archive-claim, a PersistentVolumeClaim "
                    "to keep the files on (a pod's own disk is lost when it ends)"
                )
            inside = rule.archive.dir == self.archive_mount or rule.archive.dir.startswith(self.archive_mount + "/")
            if not inside:
                raise ConfigError(
                    f"{rule.qualified} archives to {rule.archive.dir}, outside --archive-mount {self.archive_mount}"
                )

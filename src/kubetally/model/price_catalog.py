"""Built-in price data: hardware profiles for owned boards and a small cloud catalog.

Every number carries its assumption or its source next to it. These are
immutable constants (no file is read at import); a price file refers to them by
name (``profile: rpi5-8gb``, ``cloud: aws/t4g.large``) and may override any field.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final


@dataclass(frozen=True)
class HardwareProfile:
    """An owned board: what it cost, how long it lives and what it draws."""

    name: str
    purchase_price: Decimal
    """Board list price plus the parts it needs to run as a node, in USD."""
    lifetime_months: int
    power_idle_watts: Decimal
    power_max_watts: Decimal
    overhead_per_month: Decimal
    cpu_cores: int
    memory_gib: int
    assumptions: str


@dataclass(frozen=True)
class CloudInstance:
    """An on-demand list price of one instance type in one region."""

    provider: str
    instance_type: str
    region: str
    vcpus: int
    memory_gib: Decimal
    arch: str
    price_per_hour: Decimal
    """USD per hour, Linux, on demand."""


_PI_PARTS = (
    "parts: official USB-C power supply, cooler or case, 64 GB storage card; "
    "lifetime 36 months; overhead 0.50/month for network switch port and spare media"
)

HARDWARE_PROFILES: Final[dict[str, HardwareProfile]] = {
    profile.name: profile
    for profile in (
        HardwareProfile(
            "rpi5-8gb",
            Decimal("107"),
            36,
            Decimal("3.0"),
            Decimal("8.0"),
            Decimal("0.50"),
            4,
            8,
            "Raspberry Pi 5 8 GB list price 80 USD + 27 USD of parts (" + _PI_PARTS + "); "
            "power about 3 W idle and 8 W with all 4 cores busy (typical published measurements "
            "without attached USB devices; measure yours with a USB power meter)",
        ),
        HardwareProfile(
            "rpi5-4gb",
            Decimal("87"),
            36,
            Decimal("3.0"),
            Decimal("8.0"),
            Decimal("0.50"),
            4,
            4,
            "Raspberry Pi 5 4 GB list price 60 USD + 27 USD of parts (" + _PI_PARTS + "); "
            "power about 3 W idle, 8 W at full CPU load",
        ),
        HardwareProfile(
            "rpi4-8gb",
            Decimal("95"),
            36,
            Decimal("2.7"),
            Decimal("6.4"),
            Decimal("0.50"),
            4,
            8,
            "Raspberry Pi 4 Model B 8 GB list price 75 USD + 20 USD of parts (" + _PI_PARTS + "); "
            "power about 2.7 W idle, 6.4 W at full CPU load (the figures Raspberry Pi Ltd publishes "
            "for the 4B: 540 mA idle, 1280 mA under stress at 5.1 V)",
        ),
        HardwareProfile(
            "rpi4-4gb",
            Decimal("75"),
            36,
            Decimal("2.7"),
            Decimal("6.4"),
            Decimal("0.50"),
            4,
            4,
            "Raspberry Pi 4 Model B 4 GB list price 55 USD + 20 USD of parts (" + _PI_PARTS + "); "
            "power about 2.7 W idle, 6.4 W at full CPU load",
        ),
    )
}
"""Owned-board profiles. Purchase prices are board list price + the parts named in ``assumptions``."""

CLOUD_CATALOG_SOURCE: Final = (
    "providers' public on-demand Linux price pages (AWS EC2 us-east-1, Google Compute Engine us-central1, "
    "Azure Virtual Machines East US), list prices as published in 2025-01; "
    "prices change: verify before relying on them"
)
CLOUD_CATALOG_DATE: Final = "2025-01"

CLOUD_CATALOG: Final[dict[str, CloudInstance]] = {
    f"{item.provider}/{item.instance_type}": item
    for item in (
        CloudInstance("aws", "t4g.medium", "us-east-1", 2, Decimal("4"), "arm64", Decimal("0.0336")),
        CloudInstance("aws", "t4g.large", "us-east-1", 2, Decimal("8"), "arm64", Decimal("0.0672")),
        CloudInstance("aws", "t4g.xlarge", "us-east-1", 4, Decimal("16"), "arm64", Decimal("0.1344")),
        CloudInstance("aws", "m7g.large", "us-east-1", 2, Decimal("8"), "arm64", Decimal("0.0816")),
        CloudInstance("aws", "m7g.xlarge", "us-east-1", 4, Decimal("16"), "arm64", Decimal("0.1632")),
        CloudInstance("aws", "t3.medium", "us-east-1", 2, Decimal("4"), "amd64", Decimal("0.0416")),
        CloudInstance("aws", "m6i.large", "us-east-1", 2, Decimal("8"), "amd64", Decimal("0.096")),
        CloudInstance("aws", "m6i.xlarge", "us-east-1", 4, Decimal("16"), "amd64", Decimal("0.192")),
        CloudInstance("gcp", "e2-medium", "us-central1", 2, Decimal("4"), "amd64", Decimal("0.033503")),
        CloudInstance("gcp", "e2-standard-2", "us-central1", 2, Decimal("8"), "amd64", Decimal("0.067006")),
        CloudInstance("gcp", "e2-standard-4", "us-central1", 4, Decimal("16"), "amd64", Decimal("0.134012")),
        CloudInstance("gcp", "t2a-standard-2", "us-central1", 2, Decimal("8"), "arm64", Decimal("0.077")),
        CloudInstance("azure", "Standard_B2s", "eastus", 2, Decimal("4"), "amd64", Decimal("0.0416")),
        CloudInstance("azure", "Standard_D2s_v5", "eastus", 2, Decimal("8"), "amd64", Decimal("0.096")),
        CloudInstance("azure", "Standard_D2ps_v5", "eastus", 2, Decimal("8"), "arm64", Decimal("0.077")),
    )
}
"""Cloud instance types by ``provider/instance_type`` (see :data:`CLOUD_CATALOG_SOURCE`)."""

OPENCOST_DEFAULT_CPU_PER_CORE_HOUR: Final = Decimal("0.031611")
"""OpenCost's default custom-pricing CPU price (USD per core-hour), used when nothing matches."""
OPENCOST_DEFAULT_MEMORY_PER_GIB_HOUR: Final = Decimal("0.004237")
"""OpenCost's default custom-pricing RAM price (USD per GiB-hour)."""
DEFAULT_STORAGE_PER_GIB_MONTH: Final = Decimal("0.04")
"""OpenCost's default custom-pricing storage price (USD per GiB-month)."""
DEFAULT_ELECTRICITY_PER_KWH: Final = Decimal("0.17")
"""Assumed electricity price, USD per kWh (about the 2024 US residential average)."""


@dataclass(frozen=True)
class StoragePrice:
    """A list price of one storage product, per GB-month as the provider lists it (applied per GiB-month)."""

    name: str
    per_gib_month: Decimal
    kind: str
    """``block`` (a volume a StorageClass provisions) or ``object`` (an archive tier)."""
    note: str


STORAGE_CATALOG_SOURCE: Final = (
    "provider list prices, on demand: AWS us-east-1 (EBS volumes, S3 storage classes), GCP us-central1 "
    "(Persistent Disk, Cloud Storage); per GB-month as listed, applied per GiB-month (about 7% more than per "
    "10^9 bytes); first-tier object prices, without request, retrieval or transfer charges"
)

STORAGE_CATALOG: Final[dict[str, StoragePrice]] = {
    price.name: price
    for price in (
        StoragePrice("aws/gp3", Decimal("0.08"), "block", "EBS general purpose SSD (baseline IOPS)"),
        StoragePrice("aws/gp2", Decimal("0.10"), "block", "EBS general purpose SSD, previous generation"),
        StoragePrice("aws/st1", Decimal("0.045"), "block", "EBS throughput-optimized HDD (125 GiB minimum)"),
        StoragePrice("aws/sc1", Decimal("0.015"), "block", "EBS cold HDD (125 GiB minimum)"),
        StoragePrice("gcp/pd-ssd", Decimal("0.17"), "block", "Persistent Disk SSD"),
        StoragePrice("gcp/pd-balanced", Decimal("0.10"), "block", "Persistent Disk balanced"),
        StoragePrice("gcp/pd-standard", Decimal("0.04"), "block", "Persistent Disk standard (HDD)"),
        StoragePrice("aws/s3-standard", Decimal("0.023"), "object", "S3 Standard, first 50 TB"),
        StoragePrice("aws/s3-glacier-ir", Decimal("0.004"), "object", "S3 Glacier Instant Retrieval"),
        StoragePrice("aws/s3-deep-archive", Decimal("0.00099"), "object", "S3 Glacier Deep Archive (hours to read)"),
        StoragePrice("gcp/gcs-standard", Decimal("0.020"), "object", "Cloud Storage Standard, regional"),
        StoragePrice("gcp/gcs-archive", Decimal("0.0012"), "object", "Cloud Storage Archive (365-day minimum)"),
    )
}
"""Storage products by ``provider/product`` (see :data:`STORAGE_CATALOG_SOURCE`); a price file names them."""

DEFAULT_ARCHIVE: Final = "aws/s3-standard"
"""The archive tier when a price file names none."""

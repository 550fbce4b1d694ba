"""Prices: the price file's schema, its parser, and matching prices to nodes.

A price file is YAML (schema in ``docs/cost-model.md``)::

    currency: EUR
    hours_per_month: 730          # used only where a price is given per month
    cpu_share: 0.5                # default CPU part of a node's price (rest: memory)
    electricity_per_kwh: 0.30
    nodes:                        # first matching rule wins
      - match: {selector: {hardware: rpi5-8gb}}
        profile: rpi5-8gb
      - match: {names: [pi-agent-3]}
        owned: {purchase_price: 75, lifetime_months: 36, power_idle_watts: 2.7, power_max_watts: 6.4}
      - match: {instance_type: m6i.large}
        cloud: aws/m6i.large
      - match: {}                 # everything else
        unit: {cpu_per_core_hour: 0.03, memory_per_gib_hour: 0.004}
    storage: {default_per_gib_month: 0.04, classes: {longhorn: 0.06, local-path: 0.02}}
    network_per_gib: 0.0

Amounts are exact decimals in the file; the units are in the key names
(``per_hour``, ``per_month``, ``per_core_hour``, ``per_gib_month``...). Monthly
amounts are turned into hourly ones with the file's explicit ``hours_per_month``.
This module parses text and dicts; reading the file is the caller's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kubetally.errors import ConfigError
from kubetally.model import columns as c
from kubetally.model.config import validated, yaml_mapping
from kubetally.model.price_catalog import (
    CLOUD_CATALOG,
    DEFAULT_ARCHIVE,
    DEFAULT_ELECTRICITY_PER_KWH,
    DEFAULT_STORAGE_PER_GIB_MONTH,
    HARDWARE_PROFILES,
    OPENCOST_DEFAULT_CPU_PER_CORE_HOUR,
    OPENCOST_DEFAULT_MEMORY_PER_GIB_HOUR,
    STORAGE_CATALOG,
)

GIB = 2**30

_STRICT = ConfigDict(extra="forbid", frozen=True)
Money = Decimal


class Match(BaseModel):
    """Which nodes a rule prices. All given conditions must hold; an empty match takes every node."""

    model_config = _STRICT
    names: tuple[str, ...] = Field((), description="Node names (any of them).")
    selector: dict[str, str] = Field({}, description="Node labels that must all be present with these values.")
    instance_type: str | None = Field(None, description="node.kubernetes.io/instance-type.")


class Owned(BaseModel):
    """Owned hardware: amortization + electricity (power linear in CPU utilization) + overhead."""

    model_config = _STRICT
    purchase_price: Money = Field(ge=0, description="What the node cost, in the file's currency.")
    lifetime_months: int = Field(ge=1, le=240, description="Months over which the purchase is amortized.")
    power_idle_watts: Money = Field(ge=0, description="Power draw with the CPU idle, watts.")
    power_max_watts: Money = Field(ge=0, description="Power draw with every core busy, watts.")
    electricity_per_kwh: Money | None = Field(None, ge=0, description="Overrides the file's electricity price.")
    overhead_per_month: Money = Field(Money(0), ge=0, description="Network, storage media... per month.")

    @model_validator(mode="after")
    def _power(self) -> Owned:
        if self.power_max_watts < self.power_idle_watts:
            raise ValueError("power_max_watts must be >= power_idle_watts")
        return self


class Unit(BaseModel):
    """Explicit unit prices: the node costs cores × CPU price + GiB × memory price."""

    model_config = _STRICT
    cpu_per_core_hour: Money = Field(ge=0, description="Price of one core for one hour.")
    memory_per_gib_hour: Money = Field(ge=0, description="Price of one GiB of memory for one hour.")


class Profile(BaseModel):
    """A built-in hardware profile, with optional overrides."""

    model_config = _STRICT
    name: str
    electricity_per_kwh: Money | None = Field(None, ge=0)
    overhead_per_month: Money | None = Field(None, ge=0)
    lifetime_months: int | None = Field(None, ge=1, le=240)


class NodeRule(BaseModel):
    """One way to price a set of nodes: exactly one of the pricing fields."""

    model_config = _STRICT
    name: str | None = Field(None, description="Shown in reports; defaults to a description of the rule.")
    match: Match = Field(default_factory=Match)
    profile: str | Profile | None = Field(None, description="A built-in hardware profile (rpi5-8gb, rpi4-4gb ...).")
    owned: Owned | None = None
    cloud: str | None = Field(None, description="provider/instance_type from the built-in catalog.")
    per_hour: Money | None = Field(None, ge=0, description="A flat node price per hour.")
    per_month: Money | None = Field(None, ge=0, description="A flat node price per month (hours_per_month).")
    unit: Unit | None = None
    cpu_share: float | None = Field(None, ge=0, le=1, description="CPU part of the node price (rest: memory).")

    @model_validator(mode="after")
    def _one_price(self) -> NodeRule:
        given = [
            k for k in ("profile", "owned", "cloud", "per_hour", "per_month", "unit") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of profile, owned, cloud, per_hour, per_month, unit (got {given or 'none'})"
            )
        if self.profile is not None:
            name = self.profile if isinstance(self.profile, str) else self.profile.name
            if name not in HARDWARE_PROFILES:
                raise ValueError(f"unknown profile {name!r}; built-in: {', '.join(sorted(HARDWARE_PROFILES))}")
        if self.cloud is not None and self.cloud not in CLOUD_CATALOG:
            raise ValueError(f"unknown cloud instance {self.cloud!r}; built-in: {', '.join(sorted(CLOUD_CATALOG))}")
        return self

    def label(self) -> str:
        if self.name:
            return self.name
        if self.profile is not None:
            return f"profile {self.profile if isinstance(self.profile, str) else self.profile.name}"
        if self.cloud is not None:
            return f"cloud {self.cloud}"
        if self.owned is not None:
            return "owned hardware"
        if self.unit is not None:
            return "unit prices"
        return "flat price"


def _catalog_price(value: str, where: str) -> Money:
    """A storage catalog name's price; a plain number written as text stays a number."""
    try:
        return Money(value)
    except ArithmeticError:
        pass
    price = STORAGE_CATALOG.get(value)
    if price is None:
        known = ", ".join(sorted(STORAGE_CATALOG))
        raise ValueError(f"{where}: {value!r} is neither a price nor a storage catalog name ({known})")
    return price.per_gib_month


class Storage(BaseModel):
    """Storage prices per GiB-month. Any price may be a number or a name of the built-in storage catalog
    (``aws/gp3``, ``aws/s3-standard`` ...: :data:`~kubetally.model.price_catalog.STORAGE_CATALOG`)."""

    model_config = _STRICT
    default_per_gib_month: Money = Field(
        DEFAULT_STORAGE_PER_GIB_MONTH, ge=0, description="Any StorageClass not listed."
    )
    classes: dict[str, Money] = Field({}, description="Price per GiB-month by StorageClass.")
    archive_per_gib_month: Money = Field(
        STORAGE_CATALOG[DEFAULT_ARCHIVE].per_gib_month,
        ge=0,
        description="Object storage for archived rows (default: the catalog's aws/s3-standard).",
    )

    @model_validator(mode="before")
    @classmethod
    def _catalog_names(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        for key in ("default_per_gib_month", "archive_per_gib_month"):
            if isinstance(out.get(key), str):
                out[key] = _catalog_price(out[key], key)
        if isinstance(out.get("classes"), Mapping):
            out["classes"] = {
                name: _catalog_price(v, f"classes.{name}") if isinstance(v, str) else v
                for name, v in out["classes"].items()
            }
        return out

    def per_gib_month(self, storage_class: str) -> Money:
        return self.classes.get(storage_class, self.default_per_gib_month)


class PriceBook(BaseModel):
    """A whole price file."""

    model_config = _STRICT
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code of every amount.")
    hours_per_month: Money = Field(Money(730), gt=0, le=744, description="Hours in a month, for per-month prices.")
    cpu_share: float = Field(0.5, ge=0, le=1, description="Default CPU part of a node price (rest: memory).")
    electricity_per_kwh: Money = Field(DEFAULT_ELECTRICITY_PER_KWH, ge=0, description="Electricity price per kWh.")
    nodes: tuple[NodeRule, ...] = Field((), description="Node pricing rules, first match wins.")
    storage: Storage = Field(default_factory=Storage)
    network_per_gib: Money = Field(Money(0), ge=0, description="Price of one GiB transmitted by a pod.")


def default_price_book() -> PriceBook:
    """Built-in prices: the Raspberry Pi profiles by ``hardware`` label, else OpenCost's default unit prices."""
    rules = [
        NodeRule(match=Match(selector={"hardware": name}), profile=name, name=f"profile {name}")
        for name in HARDWARE_PROFILES
    ]
    rules.append(
        NodeRule(
            name="default unit prices",
            unit=Unit(
                cpu_per_core_hour=OPENCOST_DEFAULT_CPU_PER_CORE_HOUR,
                memory_per_gib_hour=OPENCOST_DEFAULT_MEMORY_PER_GIB_HOUR,
            ),
        )
    )
    return PriceBook(nodes=tuple(rules))


def cloud_what_if(book: PriceBook, instance: str) -> PriceBook:
    """``book`` with every node priced as the catalog's ``instance`` (what would this cluster cost in the cloud)."""
    rule = NodeRule(name=f"what-if {instance}", cloud=instance)
    return book.model_copy(update={"nodes": (rule,), "currency": "USD"})


def price_book_from_dict(data: Mapping[str, Any], *, where: str = "price file") -> PriceBook:
    """Validate a parsed price file; errors name the field."""
    return validated(PriceBook, _decimals(data), where=where)


def parse_price_text(text: str, *, where: str = "price file") -> PriceBook:
    """Parse a YAML price file's text."""
    data = yaml_mapping(text, where=where, shape="a price file is a YAML mapping")
    return price_book_from_dict(data, where=where)


def _decimals(value: Any) -> Any:
    """YAML floats -> exact decimals (``0.1`` stays 0.1, not 0.1000000000000000055)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def _matches(rule: NodeRule, node: str, instance_type: str, labels: Mapping[str, str]) -> bool:
    m = rule.match
    if m.names and node not in m.names:
        return False
    if m.instance_type is not None and m.instance_type != instance_type:
        return False
    return all(labels.get(k) == v for k, v in m.selector.items())


class NodePrice(BaseModel):
    """A node's resolved price: fixed part per hour plus power that follows CPU utilization."""

    model_config = ConfigDict(frozen=True)
    node: str
    rule: str
    kind: Literal["owned", "cloud", "flat", "unit"]
    fixed_per_hour: Money
    amortization_per_hour: Money = Money(0)
    """The part of ``fixed_per_hour`` that is book value: owned hardware's purchase price spread over its
    lifetime (already paid). The rest of a node's price (power, overhead, cloud and flat prices) is cash."""
    power_idle_watts: Money = Money(0)
    power_max_watts: Money = Money(0)
    electricity_per_kwh: Money = Money(0)
    cpu_share: float


def price_node(
    book: PriceBook, *, node: str, instance_type: str, labels: Mapping[str, str], cpu_cores: float, memory_bytes: int
) -> NodePrice:
    """The price of one node: the first rule that matches. No match is an error (unknown is not zero)."""
    for rule in book.nodes:
        if _matches(rule, node, instance_type, labels):
            return _resolve(book, rule, node, cpu_cores, memory_bytes)
    raise ConfigError(
        f"no price rule matches node {node!r} (instance type {instance_type!r}); "
        "add a rule with `match: {}` as a default"
    )


def _resolve(book: PriceBook, rule: NodeRule, node: str, cpu_cores: float, memory_bytes: int) -> NodePrice:
    hpm = book.hours_per_month
    share = rule.cpu_share if rule.cpu_share is not None else book.cpu_share
    label = rule.label()
    if rule.profile is not None:
        over = Profile(name=rule.profile) if isinstance(rule.profile, str) else rule.profile
        hw = HARDWARE_PROFILES[over.name]
        owned = Owned(
            purchase_price=hw.purchase_price,
            lifetime_months=over.lifetime_months or hw.lifetime_months,
            power_idle_watts=hw.power_idle_watts,
            power_max_watts=hw.power_max_watts,
            electricity_per_kwh=over.electricity_per_kwh,
            overhead_per_month=hw.overhead_per_month if over.overhead_per_month is None else over.overhead_per_month,
        )
        return _owned(node, label, owned, book, share)
    if rule.owned is not None:
        return _owned(node, label, rule.owned, book, share)
    if rule.cloud is not None:
        return NodePrice(
            node=node,
            rule=label,
            kind="cloud",
            fixed_per_hour=CLOUD_CATALOG[rule.cloud].price_per_hour,
            cpu_share=share,
        )
    if rule.per_hour is not None:
        return NodePrice(node=node, rule=label, kind="flat", fixed_per_hour=rule.per_hour, cpu_share=share)
    if rule.per_month is not None:
        return NodePrice(node=node, rule=label, kind="flat", fixed_per_hour=rule.per_month / hpm, cpu_share=share)
    assert rule.unit is not None
    cpu = rule.unit.cpu_per_core_hour * Decimal(repr(float(cpu_cores)))
    mem = rule.unit.memory_per_gib_hour * Decimal(memory_bytes) / GIB
    total = cpu + mem
    unit_share = float(cpu / total) if total > 0 else share
    return NodePrice(node=node, rule=label, kind="unit", fixed_per_hour=total, cpu_share=unit_share)


def _owned(node: str, label: str, owned: Owned, book: PriceBook, share: float) -> NodePrice:
    hpm = book.hours_per_month
    amortization = owned.purchase_price / (owned.lifetime_months * hpm)
    fixed = amortization + owned.overhead_per_month / hpm
    kwh = owned.electricity_per_kwh if owned.electricity_per_kwh is not None else book.electricity_per_kwh
    return NodePrice(
        node=node,
        rule=label,
        kind="owned",
        fixed_per_hour=fixed,
        amortization_per_hour=amortization,
        power_idle_watts=owned.power_idle_watts,
        power_max_watts=owned.power_max_watts,
        electricity_per_kwh=kwh,
        cpu_share=share,
    )


def node_prices(book: PriceBook, nodes: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """One row per node of ``nodes`` with its resolved price (floats, for the allocation maths).

    ``labels`` is the Dataset's long label frame; node labels are its ``Node`` rows.
    """
    node_labels: dict[tuple[str, str], dict[str, str]] = {}
    for row in labels.filter(pl.col(c.OBJECT_KIND) == "Node").iter_rows(named=True):
        node_labels.setdefault((row[c.CLUSTER], row[c.NAME]), {})[row[c.KEY]] = row[c.VALUE]
    rows = []
    for row in nodes.iter_rows(named=True):
        price = price_node(
            book,
            node=row[c.NODE],
            instance_type=row[c.INSTANCE_TYPE],
            labels=node_labels.get((row[c.CLUSTER], row[c.NODE]), {}),
            cpu_cores=row[c.CPU_CAPACITY_CORES],
            memory_bytes=row[c.MEMORY_CAPACITY_BYTES],
        )
        rows.append(
            {
                c.CLUSTER: row[c.CLUSTER],
                c.NODE: row[c.NODE],
                c.PRICE_RULE: price.rule,
                c.FIXED_COST_PER_HOUR: float(price.fixed_per_hour),
                c.AMORTIZATION_PER_HOUR: float(price.amortization_per_hour),
                c.POWER_IDLE_WATTS: float(price.power_idle_watts),
                c.POWER_MAX_WATTS: float(price.power_max_watts),
                c.ELECTRICITY_PER_KWH: float(price.electricity_per_kwh),
                c.CPU_SHARE: price.cpu_share,
            }
        )
    schema = {
        c.CLUSTER: pl.String,
        c.NODE: pl.String,
        c.PRICE_RULE: pl.String,
        c.FIXED_COST_PER_HOUR: pl.Float64,
        c.AMORTIZATION_PER_HOUR: pl.Float64,
        c.POWER_IDLE_WATTS: pl.Float64,
        c.POWER_MAX_WATTS: pl.Float64,
        c.ELECTRICITY_PER_KWH: pl.Float64,
        c.CPU_SHARE: pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def storage_prices(book: PriceBook, storage_classes: list[str]) -> pl.DataFrame:
    """Price per GiB-hour of each StorageClass (per-month prices / hours_per_month)."""
    return pl.DataFrame(
        {
            c.STORAGE_CLASS: storage_classes,
            "per_gib_hour": [float(book.storage.per_gib_month(s) / book.hours_per_month) for s in storage_classes],
        },
        schema={c.STORAGE_CLASS: pl.String, "per_gib_hour": pl.Float64},
    )

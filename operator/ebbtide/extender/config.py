"""The extender's configuration file (YAML), validated, with defaults for everything.

Scoring profiles, the load-aware settings, the filter ceilings and the load source are re-read
when the file changes (:mod:`ebbtide.extender.config_reload`); ``ring`` and ``server`` apply at
start-up only. See ``examples/extender-config.yaml`` for a commented example.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from ebbtide.errors import InvalidConfigError
from ebbtide.metrics.node_load import DEFAULT_CPU_QUERY, DEFAULT_NODE_LABEL, PrometheusSettings
from ebbtide.scoring.profiles import (
    DEFAULT_PROFILE_NAME,
    DEFAULT_WEIGHTS,
    Factor,
    ProfileBook,
    ScoringProfile,
)
from ebbtide.scoring.scorer import LoadSettings
from ebbtide.scoring.values import LoadResource
from ebbtide.sharding.ring import DEFAULT_VIRTUAL_NODES

API_VERSION: Final = "ebbtide.io/v1alpha1"
KIND: Final = "ExtenderConfiguration"

Fraction = Annotated[float, Field(gt=0.0, lt=1.0)]


def _default_ceilings() -> dict[LoadResource, float]:
    return {"cpu": 0.9}


def _default_queries() -> dict[LoadResource, str]:
    return {"cpu": DEFAULT_CPU_QUERY}


@dataclass(frozen=True)
class ScoringSettings:
    """The part of the configuration a request reads: profiles, load settings, filter ceilings."""

    profiles: ProfileBook
    load: LoadSettings
    ceilings: Mapping[LoadResource, float]
    max_load_age: float


class _Section(BaseModel):
    """Fields are snake_case in Python and camelCase in the file, like Kubernetes objects."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=True)


class ProfileConfig(_Section):
    """Factor weights (>= 0); a factor left out weighs 0."""

    weights: dict[Factor, Annotated[float, Field(ge=0.0)]] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS)
    )


class LoadAwareConfig(_Section):
    target_utilisation: Fraction = 0.6
    unknown_score: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5


class FilterConfig(_Section):
    """Utilisation ceilings per resource; a node measured above one is filtered out.

    No ceilings (``ceilings: {}``) means no filter: the scheduler is then configured without the
    filter verb and calls the extender once per pod instead of twice.
    """

    ceilings: dict[LoadResource, Annotated[float, Field(gt=0.0)]] = Field(default_factory=_default_ceilings)

    @property
    def enabled(self) -> bool:
        """Whether any node can be filtered out, i.e. whether the scheduler needs the filter verb."""
        return bool(self.ceilings)


class LoadConfig(_Section):
    prometheus_url: str | None = None  # none: load figures stay unknown
    queries: dict[LoadResource, str] = Field(default_factory=_default_queries)
    node_label: str = DEFAULT_NODE_LABEL
    refresh_seconds: Annotated[float, Field(gt=0.0)] = 15.0
    max_age_seconds: Annotated[float, Field(gt=0.0)] = 120.0
    timeout_seconds: Annotated[int, Field(gt=0)] = 5

    def prometheus(self) -> PrometheusSettings | None:
        if self.prometheus_url is None:
            return None
        return PrometheusSettings(
            url=self.prometheus_url,
            queries=dict(self.queries),
            node_label=self.node_label,
            timeout_seconds=self.timeout_seconds,
        )


class CacheConfig(_Section):
    assume_seconds: Annotated[float, Field(gt=0.0)] = 30.0
    virtual_nodes: Annotated[int, Field(ge=1, le=1000)] = DEFAULT_VIRTUAL_NODES


class ServerConfig(_Section):
    max_body_bytes: Annotated[int, Field(ge=1024)] = 32 * 1024 * 1024


class ObjectMeta(_Section):
    """Only a name, used in logs; the file is shaped like a Kubernetes object."""

    name: str = "ebbtide-extender"


class ExtenderConfig(_Section):
    """The whole file. Every field is optional; ``kind`` tells it apart from other manifests."""

    api_version: Literal["ebbtide.io/v1alpha1"] = API_VERSION
    kind: Literal["ExtenderConfiguration"] = KIND
    metadata: ObjectMeta = ObjectMeta()
    default_profile: str = DEFAULT_PROFILE_NAME
    profiles: dict[str, ProfileConfig] = Field(
        default_factory=lambda: {DEFAULT_PROFILE_NAME: ProfileConfig()}
    )
    load_aware: LoadAwareConfig = LoadAwareConfig()
    filter: FilterConfig = FilterConfig()
    load: LoadConfig = LoadConfig()
    cache: CacheConfig = CacheConfig()
    server: ServerConfig = ServerConfig()

    @model_validator(mode="after")
    def _default_profile_exists(self) -> Self:
        if self.default_profile not in self.profiles:
            raise ValueError(f"defaultProfile {self.default_profile!r} is not one of the profiles")
        return self

    def scoring_settings(self) -> ScoringSettings:
        """What requests need, derived once per configuration rather than once per request."""
        named = {
            name: ScoringProfile(name=name, weights=dict(profile.weights))
            for name, profile in self.profiles.items()
        }
        return ScoringSettings(
            profiles=ProfileBook(default=named[self.default_profile], named=named),
            load=LoadSettings(
                target=self.load_aware.target_utilisation,
                unknown_score=self.load_aware.unknown_score,
            ),
            ceilings=dict(self.filter.ceilings),
            max_load_age=self.load.max_age_seconds,
        )

    def with_prometheus_url(self, url: str | None) -> ExtenderConfig:
        """The same configuration with the load source's URL replaced (when ``url`` is given)."""
        if url is None:
            return self
        return self.model_copy(update={"load": self.load.model_copy(update={"prometheus_url": url})})


def parse_config(text: str) -> ExtenderConfig:
    """Validate YAML text; an empty document is the default configuration."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidConfigError(f"not valid YAML: {error}") from error
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise InvalidConfigError("the configuration must be a YAML mapping")
    try:
        return ExtenderConfig.model_validate(document)
    except ValidationError as error:
        raise InvalidConfigError(str(error)) from error


def load_config(path: Path) -> ExtenderConfig:
    """Read and validate a configuration file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidConfigError(f"cannot read {path}: {error}") from error
    return parse_config(text)

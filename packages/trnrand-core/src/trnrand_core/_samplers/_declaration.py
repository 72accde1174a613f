"""A sampler's declaration: the facts about it that more than one place needs, written
once. The public function validates with them (``check_dtype``, ``parameter``) and
reserves with them (``words``); ``public_sampler`` checks them against the function's
signature; the contract tests (tests/core/test_contract.py) read them from
:data:`REGISTRY` and check every sampler against them: accepted and refused dtypes, the
blocks a call takes, bad parameters refused by name, partitions, shards, keys, meta.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import torch

from .._shards import Layout
from .._validation import check_dtype
from ._params import parameter


@dataclass(frozen=True)
class Rule:
    """The range rule of a real distribution parameter, as ``_params.parameter`` checks
    it: ``kind`` is ``"finite"``, ``"greater"`` (``> minimum``), ``"at_least"``
    (``>= minimum``), ``"closed"`` (in ``[minimum, maximum]``) or ``"half_open"`` (in
    ``(minimum, maximum]``); ``allow_inf`` admits
    infinities (truncation bounds)."""

    kind: str = "finite"
    minimum: float | None = None
    maximum: float | None = None
    allow_inf: bool = False

    def __post_init__(self):
        needs = {"finite": (), "greater": ("minimum",), "at_least": ("minimum",)}
        wanted = needs.get(self.kind, ("minimum", "maximum"))
        if self.kind not in (*needs, "closed", "half_open"):
            raise ValueError(
                f"kind must be finite, greater, at_least, closed or half_open, got {self.kind!r}"
            )
        for name in ("minimum", "maximum"):
            if (getattr(self, name) is not None) != (name in wanted):
                raise ValueError(
                    f"a {self.kind!r} rule {'needs' if name in wanted else 'takes no'} {name}"
                )


#: A parameter whose value the sampler checks itself (integers, probability vectors,
#: matrices): the contract tests still require that a wrongly typed value is refused by
#: name.
OWN_CHECKS = None


@dataclass(frozen=True)
class Declaration:
    """One public sampler.

    - ``name``: the public function's name (and its operator's, ``trnrand::<name>``).
    - ``dtypes``: the output dtypes it accepts; every other dtype is refused.
    - ``params``: each distribution parameter, in signature order, with its
      :class:`Rule` or :data:`OWN_CHECKS`.
    - ``example``: parameters of a valid call (what tests and docs draw with).
    - ``words``: words per element for each dtype, where the budget is fixed (the call
      then takes exactly ``ceil(count * words / 4)`` first-pass blocks); ``None`` where
      it depends on the parameters (``randint``'s span) or the call is composed of
      sub-calls (docs/distributions.md).
    - ``elementwise``: elements are independent, so partitions and shards apply; else
      the call is indivisible and replicated on every rank (``randperm``).
    """

    name: str
    dtypes: tuple[torch.dtype, ...]
    params: Mapping[str, Rule | None] = field(default_factory=dict)
    example: Mapping[str, object] = field(default_factory=dict)
    words: Mapping[torch.dtype, int] | None = None
    elementwise: bool = True

    def __post_init__(self):
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "example", MappingProxyType(dict(self.example)))
        if self.words is not None:
            if set(self.words) != set(self.dtypes):
                raise ValueError(f"{self.name}: words must give a budget for every dtype")
            object.__setattr__(self, "words", MappingProxyType(dict(self.words)))
        unknown = set(self.example) - set(self.params)
        if unknown:
            raise ValueError(f"{self.name}: example names unknown parameters {sorted(unknown)}")

    def check_dtype(self, dtype) -> torch.dtype:
        """``dtype`` if the sampler accepts it, else a ``TypeError``/``ValueError``."""
        return check_dtype(dtype, self.dtypes)

    def parameter(
        self, name: str, value, layout: Layout, device: torch.device, region: str = "drawn"
    ) -> float | torch.Tensor:
        """The validated parameter ``name`` by its declared rule (``_params.parameter``)."""
        rule = self.params[name]
        return parameter(
            value,
            name,
            layout,
            device,
            rule=rule.kind,
            minimum=rule.minimum,
            maximum=rule.maximum,
            allow_inf=rule.allow_inf,
            region=region,
        )


#: Every public sampler's declaration, by name (filled as the sampler modules load).
REGISTRY: dict[str, Declaration] = {}


def register(declaration: Declaration, parameter_names: list[str]) -> None:
    """Record ``declaration`` for the public function whose distribution parameters are
    ``parameter_names`` (in signature order); they must be the declared ones, so a
    renamed parameter cannot leave a stale rule behind."""
    if list(declaration.params) != parameter_names:
        raise ValueError(
            f"{declaration.name}: declared parameters {list(declaration.params)} are not "
            f"the signature's {parameter_names}"
        )
    if declaration.name in REGISTRY:
        raise ValueError(f"sampler {declaration.name!r} is declared twice")
    REGISTRY[declaration.name] = declaration


__all__ = ["OWN_CHECKS", "REGISTRY", "Declaration", "Rule", "register"]

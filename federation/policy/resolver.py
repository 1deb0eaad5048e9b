"""Effective policies of many spaces of one network at once, each computed once.

A space's policy is its parent's *sub-space policy* (the parent's policy narrowed by the
constraints the parent sets for its sub-spaces) narrowed by the space's own templates; a
root's parent is the network. Memoising both makes a whole network's policies cost one
narrowing per space, which is what compliance reports and dry runs over thousands of spaces
need.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from federation.policy.constraint_set import PolicyLayer
from federation.policy.effective import EffectivePolicy, effective_policy


@dataclass(frozen=True, slots=True)
class SpacePolicyInput:
    """What one space contributes to policy: its attached templates and its constraints for sub-spaces."""

    space_id: uuid.UUID
    parent_id: uuid.UUID | None
    templates: Sequence[PolicyLayer] = ()
    subspace_constraints: PolicyLayer | None = None


class PolicyResolver:
    """Memoised effective policies for the spaces of one network.

    ``network_layers`` are the network-wide templates (and network/guest constraints) in
    order. ``spaces`` must include every ancestor of any space asked about.
    """

    __slots__ = ("_base", "_policy", "_spaces", "_sub")

    def __init__(self, network_layers: Iterable[PolicyLayer], spaces: Iterable[SpacePolicyInput]) -> None:
        self._base = effective_policy(network_layers)
        self._spaces = {s.space_id: s for s in spaces}
        self._policy: dict[uuid.UUID, EffectivePolicy] = {}
        self._sub: dict[uuid.UUID, EffectivePolicy] = {}

    @property
    def network_policy(self) -> EffectivePolicy:
        """The policy every root space starts from."""
        return self._base

    def policy(self, space_id: uuid.UUID) -> EffectivePolicy:
        """The effective policy of ``space_id``. KeyError if it (or an ancestor) is unknown."""
        cached = self._policy.get(space_id)
        if cached is not None:
            return cached
        # Walk up to the nearest ancestor whose sub-space policy is known (iteratively: trees
        # can be deeper than Python's recursion limit would like).
        chain: list[SpacePolicyInput] = []
        node = self._spaces[space_id]
        parent_policy = self._base
        while True:
            chain.append(node)
            if len(chain) > len(self._spaces):
                raise ValueError(f"the parent links of space {space_id} form a cycle")
            if node.parent_id is None:
                break
            known = self._sub.get(node.parent_id)
            if known is not None:
                parent_policy = known
                break
            node = self._spaces[node.parent_id]
        policy = parent_policy
        for node in reversed(chain):
            policy = parent_policy.narrow(*node.templates)
            self._policy[node.space_id] = policy
            sub = policy if node.subspace_constraints is None else policy.narrow(node.subspace_constraints)
            self._sub[node.space_id] = sub
            parent_policy = sub
        return policy

    def subspace_policy(self, space_id: uuid.UUID) -> EffectivePolicy:
        """The policy ``space_id``'s children start from (its policy and its sub-space constraints)."""
        if space_id not in self._sub:
            self.policy(space_id)
        return self._sub[space_id]

"""The space tree: ancestry, descendants, placement (cycles, networks, nesting depth)."""

from __future__ import annotations

import pytest

from federation.policy import UNCONSTRAINED, effective_policy
from federation.spaces import PlacementCode, SpaceNode, SpaceTree, TreeError, check_placement, nesting_limit
from tests.federation.builders import layer, sid, template

NET = sid("net:alas")
OTHER_NET = sid("net:kent")


def node(name: str, parent: str | None = None, network: object = NET) -> SpaceNode:
    return SpaceNode(sid(name), network, sid(parent) if parent else None, name)  # type: ignore[arg-type]


#   root ── a ── a1 ── a11
#       └── b
#   kent-root (other network)
TREE = SpaceTree(
    [
        node("root"),
        node("a", "root"),
        node("a1", "a"),
        node("a11", "a1"),
        node("b", "root"),
        node("kent-root", network=OTHER_NET),
    ]
)


def test_ancestors_path_depth_descendants_height() -> None:
    assert TREE.ancestors(sid("a11")) == [sid("a1"), sid("a"), sid("root")]
    assert TREE.path(sid("a11")) == [sid("root"), sid("a"), sid("a1"), sid("a11")]
    assert TREE.depth(sid("root")) == 0 and TREE.depth(sid("a11")) == 3
    assert set(TREE.descendants(sid("root"))) == {sid(x) for x in ("a", "a1", "a11", "b")}
    assert TREE.descendants(sid("root"), max_depth=1) == [sid("a"), sid("b")]
    assert TREE.children(sid("a")) == [sid("a1")]
    assert TREE.height(sid("root")) == 3 and TREE.height(sid("b")) == 0
    assert TREE.is_ancestor(sid("root"), sid("a1")) and not TREE.is_ancestor(sid("b"), sid("a1"))
    assert sid("a") in TREE and len(TREE) == 6 and TREE.get(sid("zzz")) is None


def test_broken_parent_links_are_data_errors() -> None:
    looped = SpaceTree([SpaceNode(sid("x"), NET, sid("y")), SpaceNode(sid("y"), NET, sid("x"))])
    with pytest.raises(TreeError, match="cycle"):
        looped.ancestors(sid("x"))
    orphan = SpaceTree([SpaceNode(sid("x"), NET, sid("missing"))])
    with pytest.raises(TreeError, match="not loaded"):
        orphan.ancestors(sid("x"))


def codes(**kwargs: object) -> list[PlacementCode]:
    kwargs.setdefault("network_id", NET)
    kwargs.setdefault("nesting_limits", {})
    return [p.code for p in check_placement(TREE, **kwargs)]  # type: ignore[arg-type]


def test_root_and_ordinary_placements_are_fine() -> None:
    assert codes(parent_id=None) == []
    assert codes(parent_id=sid("a11")) == []
    assert codes(parent_id=sid("b"), space_id=sid("a")) == []  # move a subtree sideways


def test_unknown_parent_and_parent_in_another_network() -> None:
    assert codes(parent_id=sid("nowhere")) == [PlacementCode.PARENT_NOT_FOUND]
    assert codes(parent_id=sid("kent-root")) == [PlacementCode.PARENT_IN_OTHER_NETWORK]


def test_moving_under_itself_or_a_descendant_is_a_cycle() -> None:
    assert codes(parent_id=sid("a"), space_id=sid("a")) == [PlacementCode.CYCLE]
    assert codes(parent_id=sid("a11"), space_id=sid("a")) == [PlacementCode.CYCLE]
    assert codes(parent_id=sid("a1"), space_id=sid("root")) == [PlacementCode.CYCLE]


def test_every_ancestors_depth_limit_applies() -> None:
    # root allows 3 levels below it: a11 is at 3, so nothing may go under a11
    limits = {sid("root"): 3}
    assert codes(parent_id=sid("a1"), nesting_limits=limits) == []
    (problem,) = check_placement(TREE, network_id=NET, parent_id=sid("a11"), nesting_limits=limits)
    assert problem.code is PlacementCode.TOO_DEEP
    assert problem.ancestor_id == sid("root") and problem.limit == 3
    assert "'root' allows sub-spaces 3 level(s) deep" in problem.message
    # the parent itself allows no sub-spaces
    assert codes(parent_id=sid("b"), nesting_limits={sid("b"): 0}) == [PlacementCode.TOO_DEEP]
    # two ancestors too tight: both named
    both = check_placement(TREE, network_id=NET, parent_id=sid("a11"), nesting_limits={sid("a"): 1, sid("root"): 2})
    assert {p.ancestor_id for p in both} == {sid("a"), sid("root")}
    assert all(p.to_dict()["code"] == "too_deep" for p in both)


def test_moving_a_subtree_counts_its_height() -> None:
    # a has 2 levels below it; under b, a sits 2 below root and a11 would sit 2 + 2 = 4 below root
    assert codes(parent_id=sid("b"), space_id=sid("a"), nesting_limits={sid("root"): 4}) == []
    assert codes(parent_id=sid("b"), space_id=sid("a"), nesting_limits={sid("root"): 3}) == [PlacementCode.TOO_DEEP]
    assert codes(parent_id=sid("b"), space_id=sid("a"), nesting_limits={sid("b"): 2}) == [PlacementCode.TOO_DEEP]
    assert codes(parent_id=sid("b"), space_id=sid("a"), nesting_limits={sid("b"): 3}) == []


def test_nesting_limit_is_the_governing_value() -> None:
    assert nesting_limit(UNCONSTRAINED, {}) is None
    assert nesting_limit(UNCONSTRAINED, {"nesting.max_depth": 2}) == 2
    capped = effective_policy([layer({"nesting.max_depth": {"max": 1}}, template("Flat"))])
    assert nesting_limit(capped, {}) == 1  # default "no limit" pulled under the template's max
    assert nesting_limit(capped, {"nesting.max_depth": 0}) == 0

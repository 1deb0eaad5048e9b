"""Policy-engine benchmark.

    .venv/bin/python bench/policy.py --pure            # the pure engine (no database, no HTTP)

Builds a synthetic federation (default: 100,000 spaces in 50 networks, trees up to 10 levels
deep, a few policy templates per network in enforce/warn/audit modes, sub-space constraints
on some spaces) and measures, per call:

* effective policy of one space from its already-parsed layers (network templates, every
  ancestor's templates and sub-space constraints, the space's own templates);
* the same, parsing every layer from its JSON form first (what a request does without a cache);
* settings validation against a computed effective policy;
* parse + effective policy + validation (a settings PATCH);

and the whole compliance report of one 10,000-space network (parse every template, resolve
every space's policy, check settings, facilitators, meeting counts and agendas).

Structure: ``build_federation`` makes plain data, ``measure`` times a callable per call and
``run_pure`` prints the figures. An HTTP mode can be added as another ``run_*`` function that
loads the same federation through the API and reuses ``measure``/``Stats``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# (imported after the path set-up above, so the script runs from any directory)
from federation.compliance import (
    ComplianceSubject,
    Meeting,
    MeetingKind,
    compliance_report,
    program_year,
)
from federation.policy import (
    EffectivePolicy,
    Mode,
    PolicyLayer,
    PolicyResolver,
    Source,
    SpacePolicyInput,
    effective_policy,
    parse_constraints,
    validate_settings,
)

MAX_DEPTH = 10
COMPONENTS = ["quote", "story", "reflection", "music", "check-in"]
JOIN_MODES = ["open", "request", "invite", "parent_members"]


# ---- synthetic federation -------------------------------------------------------------------


@dataclass(slots=True)
class RawLayer:
    """A layer as stored: its source and its JSON constraints (parsed on demand)."""

    source: Source
    raw: dict[str, object]
    parsed: PolicyLayer | None = None

    def layer(self) -> PolicyLayer:
        if self.parsed is None:
            self.parsed = parse_constraints(self.raw, self.source)
        return self.parsed


@dataclass(slots=True)
class Space:
    id: uuid.UUID
    name: str
    parent: Space | None
    depth: int
    templates: list[RawLayer] = field(default_factory=list)
    subspace: RawLayer | None = None
    settings: dict[str, object] = field(default_factory=dict)
    facilitators: int = 2
    trained: int = 2
    meetings: list[Meeting] = field(default_factory=list)


@dataclass(slots=True)
class Network:
    id: uuid.UUID
    name: str
    templates: list[RawLayer]
    spaces: list[Space]


def _uuid(rnd: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rnd.getrandbits(128), version=4)


def _template_constraints(rnd: random.Random) -> dict[str, object]:
    """A plausible template: a few of the ALAS-style bounds, loose enough that most spaces fit."""
    pool: dict[str, object] = {
        "meetings.virtual_per_year": {"min": rnd.randint(1, 3)},
        "meetings.in_person_per_year": {"min": rnd.randint(0, 1), "max": rnd.randint(4, 8)},
        "facilitators.min_count": {"min": rnd.randint(1, 2)},
        "facilitators.training_required": {"locked": True, "value": True},
        "sessions.required_components": {"required": rnd.sample(COMPONENTS[:3], rnd.randint(1, 3))},
        "membership.join_mode": {
            "allowed": ["request", "invite", *rnd.sample(["open", "parent_members"], rnd.randint(0, 2))]
        },
        "membership.max_members": {"max": rnd.randint(60, 200)},
        "chat.retention_days": {"max": rnd.choice([365, 730, 1095])},
        "chat.posting": {"allowed": ["members", "facilitators"]},
        "nesting.max_depth": {"max": rnd.randint(MAX_DEPTH, MAX_DEPTH + 2)},
    }
    names = rnd.sample(sorted(pool), rnd.randint(4, len(pool)))
    return {n: pool[n] for n in names}


def _subspace_constraints(rnd: random.Random) -> dict[str, object]:
    """What a space asks of its sub-spaces: a tighter bound or two."""
    pool: dict[str, object] = {
        "meetings.virtual_per_year": {"min": rnd.randint(2, 4)},
        "sessions.required_components": {"required": [rnd.choice(COMPONENTS)]},
        "membership.max_members": {"max": rnd.randint(30, 60)},
        "chat.retention_days": {"max": rnd.choice([180, 365])},
    }
    names = rnd.sample(sorted(pool), rnd.randint(1, 3))
    return {n: pool[n] for n in names}


def _settings(rnd: random.Random) -> dict[str, object]:
    """Settings a diligent space would pick: most are within every bound, a few are not."""
    return {
        "meetings.virtual_per_year": rnd.randint(3, 5) if rnd.random() < 0.97 else 1,
        "meetings.in_person_per_year": 1,
        "facilitators.min_count": 2,
        "facilitators.training_required": True,
        "sessions.required_components": COMPONENTS if rnd.random() < 0.95 else COMPONENTS[:2],
        "membership.join_mode": rnd.choice(["request", "invite"]),
        "membership.max_members": rnd.randint(10, 30),
        "chat.retention_days": rnd.choice([90, 180]),
        "chat.posting": rnd.choice(["members", "facilitators"]),
        "nesting.max_depth": MAX_DEPTH,
    }


def _meetings(rnd: random.Random, year_start: date, settings: dict[str, object]) -> list[Meeting]:
    """The year's schedule: usually what the settings promise, sometimes a meeting short or an
    agenda missing a component."""
    virtual = int(settings["meetings.virtual_per_year"])  # type: ignore[call-overload]
    if rnd.random() < 0.05:
        virtual -= 1
    out = []
    for i in range(virtual + 1):
        kind = MeetingKind.IN_PERSON if i == 0 else MeetingKind.VIRTUAL
        comps = frozenset(COMPONENTS if rnd.random() < 0.97 else rnd.sample(COMPONENTS, 3))
        out.append(Meeting(kind, year_start + timedelta(days=rnd.randint(0, 360)), comps))
    return out


def build_network(rnd: random.Random, index: int, n_spaces: int, year_start: date) -> Network:
    """One network: a forest of ``n_spaces`` spaces at most ``MAX_DEPTH`` deep, with templates."""
    net_id = _uuid(rnd)
    name = f"network-{index}"
    modes = [Mode.ENFORCE, Mode.ENFORCE, Mode.WARN, Mode.AUDIT]
    network_templates = [
        RawLayer(Source.template(_uuid(rnd), f"{name} baseline", 1), _template_constraints(rnd)),
        RawLayer(Source.template(_uuid(rnd), f"{name} pilot", 1, Mode.WARN), _template_constraints(rnd)),
    ]
    # templates attached to some spaces (and so to their subtrees)
    space_templates = [
        RawLayer(
            Source.template(_uuid(rnd), f"{name} template {t}", rnd.randint(1, 4), modes[t % len(modes)]),
            _template_constraints(rnd),
        )
        for t in range(rnd.randint(2, 4))
    ]
    spaces: list[Space] = []
    eligible: list[Space] = []  # spaces that may still take children (depth < MAX_DEPTH)
    for i in range(n_spaces):
        if not eligible or rnd.random() < 0.03:
            parent, depth = None, 1
        else:
            # prefer recent spaces so trees grow deep rather than bushy
            parent = eligible[-1 - min(len(eligible) - 1, int(rnd.expovariate(1 / 40)))]
            depth = parent.depth + 1
        space = Space(_uuid(rnd), f"{name}/space-{i}", parent, depth)
        if rnd.random() < 0.15:
            space.templates.append(rnd.choice(space_templates))
        if rnd.random() < 0.3:
            space.subspace = RawLayer(Source.space(space.id, space.name), _subspace_constraints(rnd))
        space.settings = _settings(rnd)
        space.facilitators = 1 if rnd.random() < 0.03 else rnd.choice([2, 2, 3])
        space.trained = space.facilitators - (1 if rnd.random() < 0.03 else 0)
        space.meetings = _meetings(rnd, year_start, space.settings)
        spaces.append(space)
        if depth < MAX_DEPTH:
            eligible.append(space)
    return Network(net_id, name, network_templates, spaces)


def build_federation(seed: int, n_networks: int, n_spaces: int, big_network: int, year_start: date) -> list[Network]:
    """``n_networks`` networks holding ``n_spaces`` spaces; the first holds ``big_network`` of them."""
    rnd = random.Random(seed)
    rest = n_spaces - big_network
    per = rest // max(1, n_networks - 1)
    sizes = [big_network] + [per] * (n_networks - 1)
    sizes[-1] += rest - per * (n_networks - 1)
    return [build_network(rnd, i, size, year_start) for i, size in enumerate(sizes)]


def raw_path(network: Network, space: Space) -> list[RawLayer]:
    """The space's layers in effective-policy order, as stored (unparsed)."""
    chain: list[Space] = []
    node: Space | None = space.parent
    while node is not None:
        chain.append(node)
        node = node.parent
    out = list(network.templates)
    for up in reversed(chain):
        out.extend(up.templates)
        if up.subspace is not None:
            out.append(up.subspace)
    out.extend(space.templates)
    return out


# ---- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stats:
    name: str
    calls: int
    total_s: float
    p50_us: float
    p99_us: float
    max_us: float

    @property
    def per_second(self) -> float:
        return self.calls / self.total_s if self.total_s else float("inf")

    def line(self) -> str:
        return (
            f"{self.name:<46} {self.calls:>7} calls  p50 {self.p50_us:8.1f} us  p99 {self.p99_us:8.1f} us  "
            f"max {self.max_us:8.1f} us  {self.per_second:>9,.0f} calls/s"
        )


def measure(name: str, calls: Sequence[Callable[[], object]], repeat: int = 1) -> Stats:
    """Time each call separately (perf_counter_ns); GC stays on, as in a server.

    With ``repeat`` > 1 the whole sequence runs that many times and the pass with the lowest
    p99 is kept (like ``timeit``'s best-of-N): on a shared machine other processes only ever
    add time, so the best pass is the closest to what the code itself costs.
    """
    best: Stats | None = None
    clock = time.perf_counter_ns
    for _ in range(max(1, repeat)):
        timings: list[int] = []
        start = clock()
        for call in calls:
            t0 = clock()
            call()
            timings.append(clock() - t0)
        total = (clock() - start) / 1e9
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        stats = Stats(name, len(timings), total, statistics.median(timings) / 1000, p99 / 1000, timings[-1] / 1000)
        if best is None or stats.p99_us < best.p99_us:
            best = stats
    assert best is not None
    return best


# ---- pure mode ------------------------------------------------------------------------------


class _ParseOnce:
    """Parses each stored layer once per report (templates are shared by many spaces)."""

    def __init__(self) -> None:
        self.parsed: dict[int, PolicyLayer] = {}

    def __call__(self, layer: RawLayer) -> PolicyLayer:
        hit = self.parsed.get(id(layer))
        if hit is None:
            hit = self.parsed[id(layer)] = parse_constraints(layer.raw, layer.source)
        return hit


def run_pure(args: argparse.Namespace) -> dict[str, object]:
    year = program_year(date(2025, 10, 1))
    t0 = time.perf_counter()
    networks = build_federation(args.seed, args.networks, args.spaces, args.compliance_spaces, year.start)
    build_s = time.perf_counter() - t0
    # The synthetic federation (millions of objects) lives in this process only because this is a
    # benchmark; a server loads one path at a time. Freeze it so the collector does not rescan it
    # on every collection and bill that to the calls being measured.
    gc.collect()
    gc.freeze()
    all_spaces = [(net, s) for net in networks for s in net.spaces]
    depths = [s.depth for _, s in all_spaces]
    print(
        f"federation: {len(networks)} networks, {len(all_spaces):,} spaces, depth 1-{max(depths)} "
        f"(mean {statistics.mean(depths):.1f}), built in {build_s:.1f}s"
    )

    rnd = random.Random(args.seed + 1)
    sample = [all_spaces[rnd.randrange(len(all_spaces))] for _ in range(args.calls)]
    max_depth = max(depths)
    deepest = [x for x in all_spaces if x[1].depth == max_depth]
    deep_sample = [deepest[rnd.randrange(len(deepest))] for _ in range(min(args.calls, 5000))]
    # parsed once per stored layer (RawLayer caches), as a cache of parsed templates would
    paths = [[layer.layer() for layer in raw_path(net, s)] for net, s in sample]
    deep_paths = [[layer.layer() for layer in raw_path(net, s)] for net, s in deep_sample]
    raw_paths = [[(layer.raw, layer.source) for layer in raw_path(net, s)] for net, s in sample]
    layers_per_call = statistics.mean(len(p) for p in paths)
    print(f"layers per effective-policy call: mean {layers_per_call:.1f}, max {max(len(p) for p in paths)}")
    policies: list[EffectivePolicy] = [effective_policy(p) for p in paths]
    settings = [s.settings for _, s in sample]

    def parse_and_intersect(raw: list[tuple[dict[str, object], Source]]) -> EffectivePolicy:
        return effective_policy(parse_constraints(r, src) for r, src in raw)

    def patch(raw: list[tuple[dict[str, object], Source]], values: dict[str, object]) -> object:
        return validate_settings(values, parse_and_intersect(raw))

    rep = args.repeat
    # warm up (imports, caches), then measure
    for p in paths[:200]:
        effective_policy(p)
    results = [
        measure("effective policy (parsed layers)", [lambda p=p: effective_policy(p) for p in paths], rep),
        measure(
            f"effective policy, depth-{max_depth} spaces only",
            [lambda p=p: effective_policy(p) for p in deep_paths],
            rep,
        ),
        measure(
            "effective policy (parse JSON + intersect)", [lambda r=r: parse_and_intersect(r) for r in raw_paths], rep
        ),
        measure(
            "settings validation",
            [lambda s=s, p=p: validate_settings(s, p) for s, p in zip(settings, policies, strict=True)],
            rep,
        ),
        measure(
            "settings PATCH (parse + effective + validate)",
            [lambda r=r, s=s: patch(r, s) for r, s in zip(raw_paths, settings, strict=True)],
            rep,
        ),
    ]
    for st in results:
        print(st.line())

    # compliance report for the big network, from stored (unparsed) data
    big = networks[0]
    runs: list[float] = []
    report = None
    for _ in range(args.compliance_runs):
        gc.collect()
        t0 = time.perf_counter()
        parse_once = _ParseOnce()
        resolver = PolicyResolver(
            [parse_once(t) for t in big.templates],
            [
                SpacePolicyInput(
                    s.id,
                    s.parent.id if s.parent else None,
                    tuple(parse_once(t) for t in s.templates),
                    parse_once(s.subspace) if s.subspace else None,
                )
                for s in big.spaces
            ],
        )
        subjects = [
            ComplianceSubject(s.id, s.name, s.settings, s.facilitators, s.trained, s.meetings) for s in big.spaces
        ]
        report = compliance_report(resolver, subjects, year, today=date(2025, 10, 1))
        body = report.to_dict()
        json.dumps(body)  # serialising the response is part of the report's cost
        runs.append(time.perf_counter() - t0)
    assert report is not None
    counts = report.counts()
    best, worst = min(runs), max(runs)
    print(
        f"compliance report (pure part), {len(big.spaces):,} spaces: best {best * 1000:.0f} ms, "
        f"worst {worst * 1000:.0f} ms over {len(runs)} runs ({counts})"
    )
    ok_call = all(st.p99_us < 1000 for st in results)
    ok_report = worst < 2.0
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.2f} on {os.cpu_count()} CPUs (best of {rep} passes per line)")
    verdict = {True: "met", False: "MISSED"}
    print(f"targets: p99 < 1 ms per call: {verdict[ok_call]}; compliance report < 2 s: {verdict[ok_report]}")
    return {
        "spaces": len(all_spaces),
        "networks": len(networks),
        "calls": {
            st.name: {"p50_us": st.p50_us, "p99_us": st.p99_us, "max_us": st.max_us, "per_second": st.per_second}
            for st in results
        },
        "compliance_ms": {"best": best * 1000, "worst": worst * 1000, "spaces": len(big.spaces)},
        "load_average": load,
        "targets_met": ok_call and ok_report,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--pure", action="store_true", help="benchmark the pure engine (the default)")
    mode.add_argument(
        "--http",
        action="store_true",
        help="benchmark through a real server (bench/policy_http.py, one network of --compliance-spaces spaces)",
    )
    parser.add_argument("--spaces", type=int, default=100_000, help="spaces in the federation (default 100000)")
    parser.add_argument("--networks", type=int, default=50, help="networks (default 50)")
    parser.add_argument("--compliance-spaces", type=int, default=10_000, help="spaces in the reported network")
    parser.add_argument("--calls", type=int, default=20_000, help="calls per per-call measurement")
    parser.add_argument("--compliance-runs", type=int, default=3, help="compliance report repetitions")
    parser.add_argument("--repeat", type=int, default=3, help="passes per measurement; the best p99 is kept")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.http:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import policy_http  # bench/policy_http.py

        return policy_http.main(
            [
                f"--spaces={args.compliance_spaces}",
                f"--calls={min(args.calls, 5_000)}",
                f"--compliance-runs={args.compliance_runs}",
                f"--seed={args.seed}",
            ]
        )
    figures = run_pure(args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if figures["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())

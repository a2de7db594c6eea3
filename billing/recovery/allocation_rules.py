"""Read allocation rules (YAML) into a :class:`billing.recovery.allocation.RuleSet`, and check them.

``load_rules(path)`` reads one file or every ``*.yaml`` file directly in a directory (sorted by
name; steps run in that order) and returns ``(rules, problems)``; it never raises on bad
YAML. ``validate_rules(rules, catalogue)`` checks the rules as a whole: unknown pools and
services, percentages that do not sum to 100, cycles, steps declared before the steps they
depend on. Every problem names the file, the location in it (``steps[2].to``) and its line.
The format is described, with worked examples, in docs/allocation.md.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from billing.recovery.allocation import (
    OVERHEAD,
    CostPool,
    Method,
    Node,
    NodeKind,
    PoolCategory,
    RateSetting,
    RecoveryBasis,
    RecoverySetting,
    RuleSet,
    SharedService,
    Step,
    Target,
    composite_order,
    step_dependencies,
)
from billing.core.money import ZERO
from billing.core.periods import parse_month
from billing.core.problems import ChargebackError, Problem, ProblemCode, Severity, SourceRef
from billing.core.limits import PRICE, QUANTITY, RATIO
from billing.core.yamldoc import NOT_YAML, DocumentReader, describe, join, line_of, read_yaml_file
from tariffs.model import Catalogue, ChargingMode

__all__ = ["load_rules", "validate_rules", "parse_node", "rule_files"]

_TOP = ("currency", "pools", "shared_services", "services", "rate_setting", "steps")
_POOL = (("code", "name", "category"), ())
_SHARED = (("code", "name"), ())
_SERVICE = (("recovery_basis",), ("capacity",))
_RATES = ((), ("price_step", "differentials"))
_STEP = (("name", "from", "by"), ("to", "driver", "usage_of", "step"))
_BUSINESS_LINES = "business_lines"


def rule_files(path: Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix == ".yaml" and p.is_file())
    return [path]


class _Reader(DocumentReader):
    """Reads one rules file into records and collects its problems.

    Reading YAML with its lines and the typed fields come from
    :class:`billing.core.yamldoc.DocumentReader`; below is the wording these rules have always used
    where it differs from the tariff files', and a rule with a missing required key is not read
    further.
    """

    number_hint = 'write a plain number such as 25 or "33.5"'
    text_hint = 'write it in quotes, e.g. {key}: "..."'
    entries_hint = "write one '<{what}>: ...' per line under {key}:"
    empty_is_missing = True
    read_incomplete = False

    def describe(self, value: object) -> str:
        if value is None or isinstance(value, (dict, list)):
            return describe(value)
        return f"{type(value).__name__} {value!r}"

    def quote(self, value: object) -> str:
        return repr(value)

    def suggest(self, word: str, choices: Sequence[str], lead: str) -> str:
        return _suggest(word, choices, lead)

    def example(self, required: Sequence[str], optional: Sequence[str]) -> str:
        return ", ".join(f"{k}: ..." for k in required)

    def is_text(self, value: object) -> bool:
        return not isinstance(value, (dict, list))  # a date or a number is read as its text

    # ---- records

    def pool(self, value: Any, location: str, line: int | None) -> CostPool | None:
        m = self.mapping(value, location, line, _POOL, "cost pool")
        if m is None:
            return None
        category = self.text(m, "category", location)
        try:
            category = PoolCategory(category)
        except ValueError:
            choices = [c.value for c in PoolCategory]
            self.report(ProblemCode.VALUE_INVALID, f"category {category!r} is not one of {', '.join(choices)}",
                        join(location, "category"), line_of(m, "category"),
                        _suggest(str(category), choices, "write one of"))
            return None
        return CostPool(code=self.text(m, "code", location), name=self.text(m, "name", location), category=category,
                        source=self.ref(location, m.line))

    def shared(self, value: Any, location: str, line: int | None) -> SharedService | None:
        m = self.mapping(value, location, line, _SHARED, "shared service")
        if m is None:
            return None
        return SharedService(code=self.text(m, "code", location), name=self.text(m, "name", location),
                             source=self.ref(location, m.line))

    def recovery(self, code: str, value: Any, location: str, line: int | None) -> RecoverySetting | None:
        m = self.mapping(value, location, line, _SERVICE, "service setting")
        if m is None:
            return None
        raw = self.text(m, "recovery_basis", location)
        try:
            basis = RecoveryBasis(raw)
        except ValueError:
            self.report(ProblemCode.VALUE_INVALID, f"recovery_basis {raw!r} is not use or capacity",
                        join(location, "recovery_basis"), line_of(m, "recovery_basis"),
                        "write recovery_basis: use (recovers 100 %) or capacity (idle capacity stays in overhead)")
            return None
        capacity = []
        for month, _, where, ln in self.entries(m, "capacity", location, "month"):
            key = month
            if month != "default":
                try:
                    key = parse_month(month)
                except ChargebackError:
                    self.report(ProblemCode.NOT_A_DATE, f"capacity month {month!r} is not a month", where, ln,
                                'write capacity per month as "2026-03": 60, or default: 60')
                    continue
            amount = self.number(m["capacity"], month, where.rsplit(".", 1)[0], what=f"capacity for {month}",
                                 required=True, limit=QUANTITY)
            if amount is None:
                continue
            if amount < 0:
                self.report(ProblemCode.NEGATIVE, f"capacity {amount} is negative", where, ln,
                            "write the capacity as zero or more")
                continue
            capacity.append((key, amount))
        if basis is RecoveryBasis.CAPACITY and not capacity:
            self.report(ProblemCode.VALUE_MISSING, f"{code} recovers by capacity but gives no capacity", location, m.line,
                        'add capacity: {default: "60"} (in the units of the usage it is shared by)')
        return RecoverySetting(service=code, basis=basis, capacity=tuple(capacity), source=self.ref(location, m.line))

    def rate_setting(self, value: Any, location: str, line: int | None) -> RateSetting | None:
        m = self.mapping(value, location, line, _RATES, "rate setting")
        if m is None:
            return None
        step = Decimal("0.01")
        if m.get("price_step") is not None:
            step = self.number(m, "price_step", location, limit=PRICE)
            if step is None:
                return None
            if step <= 0:
                self.report(ProblemCode.VALUE_INVALID, f"price_step {step} is not above zero", join(location, "price_step"),
                            line_of(m, "price_step"), 'write the smallest price change, e.g. price_step: "0.01"')
                return None
        differentials = []
        for service, tiers, where, ln in self.entries(m, "differentials", location, "service"):
            if not isinstance(tiers, dict):
                self.report(ProblemCode.VALUE_INVALID, f"differentials of {service} must map tiers to factors", where, ln,
                            'write e.g. VM: {gold: "1.3", silver: "1.1", bronze: "1.0"}')
                continue
            factors = []
            for tier in tiers:
                factor = self.number(tiers, tier, where, what=f"differential of {service} {tier}", required=True, limit=RATIO)
                if factor is None:
                    continue
                if factor <= 0:
                    self.report(ProblemCode.VALUE_INVALID, f"differential {factor} of {service} {tier} is not above zero",
                                join(where, str(tier)), line_of(tiers, tier),
                                "write a factor such as 1.3 (gold = 1.3 × the base tier)")
                    continue
                factors.append((str(tier), factor))
            differentials.append((service, tuple(factors)))
        return RateSetting(price_step=step, differentials=tuple(differentials), source=self.ref(location, m.line))

    def step(self, value: Any, location: str, line: int | None) -> Step | None:
        m = self.mapping(value, location, line, _STEP, "step")
        if m is None:
            return None
        name = self.text(m, "name", location)
        where = self.ref(location, m.line)
        source = self.node(self.text(m, "from", location), join(location, "from"), line_of(m, "from"))
        if source is None:
            return None
        if source.kind not in (NodeKind.POOL, NodeKind.SERVICE):
            self.report(ProblemCode.VALUE_INVALID,
                        f"step {name!r} takes from {source}; a step takes from a pool or a service",
                        join(location, "from"), line_of(m, "from"), "write from: pool:CODE or from: service:CODE")
            return None
        raw = self.text(m, "by", location)
        try:
            method = Method(raw)
        except ValueError:
            choices = [x.value for x in Method]
            self.report(ProblemCode.VALUE_INVALID, f"step {name!r}: by {raw!r} is not one of {', '.join(choices)}",
                        join(location, "by"), line_of(m, "by"), _suggest(str(raw), choices, "write one of"))
            return None
        allowed = {Method.PERCENT: {"to"}, Method.DRIVER: {"to", "driver"}, Method.USAGE: {"to", "usage_of"},
                   Method.STEP: {"step"}}[method]
        for key in ("to", "driver", "usage_of", "step"):
            if key in m and key not in allowed:
                self.report(ProblemCode.INCONSISTENT, f"step {name!r}: {key} does not belong to a {method.value} step",
                            join(location, key), line_of(m, key), f"remove {key}, or change by:")
        fields: dict[str, Any] = {}
        if method is Method.PERCENT:
            targets = []
            if not isinstance(m.get("to"), dict):
                self.report(ProblemCode.VALUE_MISSING, f"step {name!r} gives no percentages", join(location, "to"),
                            line_of(m, "to"), "write to: {service:VM: 60, service:STORAGE: 40} (they must sum to 100)")
                return None
            for text, _, where_to, ln in self.entries(m, "to", location, "target"):
                node = self.node(text, where_to, ln)
                pct = self.number(m["to"], text, join(location, "to"), what=f"percentage for {text}", required=True)
                if node is None or pct is None:
                    continue
                if node.kind is NodeKind.POOL:
                    self.report(ProblemCode.VALUE_INVALID, f"step {name!r} sends money to {node}; pools are only sources",
                                where_to, ln, "send to service:CODE, business_line:CODE or overhead")
                    continue
                targets.append(Target(node=node, percent=pct, source=self.ref(where_to, ln)))
            fields["targets"] = tuple(targets)
        elif method in (Method.DRIVER, Method.USAGE):
            to = m.get("to", _BUSINESS_LINES)
            if to == _BUSINESS_LINES:
                fields["all_business_lines"] = True
            elif isinstance(to, list):
                targets = []
                for code, where_to, ln in self.items(m, "to", location, "business lines"):
                    text = str(code).strip()
                    node = Node(NodeKind.BUSINESS_LINE, text.split(":", 1)[1] if text.startswith("business_line:") else text)
                    targets.append(Target(node=node, source=self.ref(where_to, ln)))
                fields["targets"] = tuple(targets)
            else:
                self.report(ProblemCode.VALUE_INVALID,
                            f"step {name!r}: to must be business_lines or a list of business lines",
                            join(location, "to"), line_of(m, "to"), "write to: business_lines, or to: [FIN, OPS]")
                return None
            if method is Method.DRIVER:
                fields["driver"] = (self.text(m, "driver", location) or "").lower()
                if not fields["driver"]:
                    self.report(ProblemCode.VALUE_MISSING, f"step {name!r} names no driver", join(location, "driver"), m.line,
                                "add driver: headcount (or revenue, or any driver you load)")
                    return None
            else:
                usage_of = self.text(m, "usage_of", location)
                if usage_of is None and source.kind is NodeKind.SERVICE:
                    usage_of = source.code
                if not usage_of:
                    self.report(ProblemCode.VALUE_MISSING, f"step {name!r} shares by usage but names no service",
                                join(location, "usage_of"), m.line, "add usage_of: SERVICE (whose usage to share by)")
                    return None
                fields["usage_of"] = usage_of
        else:
            basis = self.text(m, "step", location)
            if not basis:
                self.report(ProblemCode.VALUE_MISSING, f"step {name!r} names no earlier step", join(location, "step"), m.line,
                            "add step: NAME (the step whose proportions to use)")
                return None
            fields["basis_step"] = basis
        return Step(name=name, source_node=source, method=method, source=where, **fields)

    def node(self, text: str | None, location: str, line: int | None) -> Node | None:
        if text is None:
            return None
        node = parse_node(text)
        if node is None:
            self.report(ProblemCode.VALUE_INVALID, f"{text!r} is not a pool, service, business line or overhead",
                        location, line, "write pool:CODE, service:CODE, business_line:CODE or overhead")
        return node

    def read(self, text: str) -> dict[str, list]:
        found: dict[str, list] = {"pools": [], "shared": [], "recovery": [], "steps": [], "rates": [], "currency": []}
        document = self.parse(text)
        if document is NOT_YAML:
            return found
        if document is None:
            self.report(ProblemCode.FILE_EMPTY, "the file is empty", "", None, "add pools: and steps:, or delete the file")
            return found
        m = self.mapping(document, "", 1, ((), _TOP), "rules file")
        if m is None:
            return found
        if not any(m.get(key) for key in _TOP if key != "currency"):
            self.report(ProblemCode.FILE_EMPTY, "the file defines no pools, services or steps", "", m.line,
                        "add pools: and steps:, or delete the file", severity=Severity.WARNING, fatal=False)
        if m.get("currency") is not None:
            found["currency"].append((self.text(m, "currency", ""), self.ref("currency", line_of(m, "currency"))))
        found["pools"] = [p for p in (self.pool(v, loc, ln) for v, loc, ln in self.items(m, "pools", "", "pools")) if p]
        found["shared"] = [s for s in (self.shared(v, loc, ln) for v, loc, ln in self.items(m, "shared_services", "", "services")) if s]
        found["recovery"] = [r for r in (self.recovery(code, v, loc, ln) for code, v, loc, ln in self.entries(m, "services", "", "service")) if r]
        if m.get("rate_setting") is not None:
            setting = self.rate_setting(m["rate_setting"], "rate_setting", line_of(m, "rate_setting"))
            if setting:
                found["rates"].append(setting)
        found["steps"] = [s for s in (self.step(v, loc, ln) for v, loc, ln in self.items(m, "steps", "", "steps")) if s]
        return found


def parse_node(text: str) -> Node | None:
    """``pool:LABOUR``, ``service:VM``, ``business_line:FIN`` or ``overhead`` as a node."""
    text = str(text).strip()
    if text == "overhead":
        return OVERHEAD
    kind, _, code = text.partition(":")
    kinds = {"pool": NodeKind.POOL, "service": NodeKind.SERVICE, "business_line": NodeKind.BUSINESS_LINE}
    if kind not in kinds or not code.strip():
        return None
    return Node(kinds[kind], code.strip())


def load_rules(path: Path) -> tuple[RuleSet, list[Problem]]:
    """Read a rules file, or every ``*.yaml`` in a directory; never raises on bad data."""
    path = Path(path)
    problems: list[Problem] = []
    if not path.exists():
        problems.append(Problem(code=ProblemCode.FILE_UNREADABLE, message="no such rules file or directory",
                                source=SourceRef(file=str(path)), hint="give the allocation rules YAML or its folder"))
        return RuleSet(files=(str(path),)), problems
    files = rule_files(path)
    if not files:
        problems.append(Problem(code=ProblemCode.FILE_EMPTY, message="no *.yaml rule files in this directory",
                                source=SourceRef(file=str(path)), hint="put pools: and steps: in a rules.yaml here"))
    merged: dict[str, list] = {"pools": [], "shared": [], "recovery": [], "steps": [], "rates": [], "currency": []}
    for file in files:
        reader = _Reader(str(file))
        text, unread = read_yaml_file(file)
        if unread is not None:
            reader.problems.append(unread)
        else:
            for key, values in reader.read(text).items():
                merged[key] += values
        problems += reader.problems
    currencies = {c for c, _ in merged["currency"] if c}
    if len(currencies) > 1:
        problems.append(Problem(code=ProblemCode.INCONSISTENT, message=f"rule files disagree on the currency: {', '.join(sorted(currencies))}",
                                source=merged["currency"][1][1], hint="costs are in one currency: write the same one everywhere"))
    for later in merged["rates"][1:]:
        problems.append(Problem(code=ProblemCode.DUPLICATE, message="rate_setting is written twice", source=later.source,
                                hint="keep one rate_setting: section"))
    rules = RuleSet(
        files=tuple(str(f) for f in files),
        currency=min(currencies) if currencies else None,
        pools=tuple(merged["pools"]), shared_services=tuple(merged["shared"]), recovery=tuple(merged["recovery"]),
        steps=tuple(merged["steps"]), rate_setting=merged["rates"][0] if merged["rates"] else RateSetting(),
    )
    return rules, problems


def validate_rules(rules: RuleSet, catalogue: Catalogue) -> list[Problem]:
    """Check the rule set against the catalogue; every problem at once (pure)."""
    problems: list[Problem] = []

    def add(code, message, source, hint, severity=Severity.ERROR):
        problems.append(Problem(code=code, message=message, source=source or SourceRef(file=rules.files[0] if rules.files else "rules"),
                                hint=hint, severity=severity))

    services = {s.code: s for s in catalogue.services}
    composites = {s.code: tuple((c.service, c.quantity) for c in s.components) for s in services.values() if s.components}
    in_composites = {c for parts in composites.values() for c, _ in parts} | set(composites)
    pools: dict[str, CostPool] = {}
    for pool in rules.pools:
        if pool.code in pools:
            add(ProblemCode.DUPLICATE, f"cost pool {pool.code} is declared twice", pool.source,
                f"keep one; the first is at {_at(pools[pool.code].source)}")
        pools.setdefault(pool.code, pool)
    shared: dict[str, SharedService] = {}
    for item in rules.shared_services:
        if item.code in services:
            add(ProblemCode.DUPLICATE, f"shared service {item.code} is also a catalogue service", item.source,
                "a shared service is one without a tariff: give it a code of its own")
        if item.code in shared:
            add(ProblemCode.DUPLICATE, f"shared service {item.code} is declared twice", item.source, "keep one")
        shared.setdefault(item.code, item)
    known_services = set(services) | set(shared)
    for setting in rules.recovery:
        if setting.service not in known_services:
            add(ProblemCode.UNKNOWN_SERVICE, f"recovery setting for unknown service {setting.service!r}", setting.source,
                _suggest(setting.service, known_services, "write one of"))

    def check_node(node: Node, source: SourceRef | None, step: Step) -> None:
        if node.kind is NodeKind.POOL and node.code not in pools:
            add(ProblemCode.UNKNOWN_KEY, f"step {step.name!r} uses undeclared cost pool {node.code!r}", source,
                _suggest(node.code, pools, "declare it under pools: or write one of"))
        if node.kind is NodeKind.SERVICE and node.code not in known_services:
            add(ProblemCode.UNKNOWN_SERVICE, f"step {step.name!r} uses unknown service {node.code!r}", source,
                _suggest(node.code, known_services, "a catalogue service or a shared service; write one of"))

    names: dict[str, Step] = {}
    drained: dict[Node, Step] = {}
    for step in rules.steps:
        where = step.source
        if step.name in names:
            add(ProblemCode.DUPLICATE, f"step name {step.name!r} is used twice", where,
                f"give each step its own name; the first is at {_at(names[step.name].source)}")
        names.setdefault(step.name, step)
        check_node(step.source_node, where, step)
        if step.source_node in drained:
            add(ProblemCode.DUPLICATE, f"step {step.name!r} takes from {step.source_node}, which step "
                f"{drained[step.source_node].name!r} already allocates", where,
                "one step allocates everything at a source: merge the two steps")
        drained.setdefault(step.source_node, step)
        if step.source_node.kind is NodeKind.SERVICE and step.source_node.code in in_composites:
            add(ProblemCode.INCONSISTENT, f"step {step.name!r} allocates {step.source_node.code}, which is part of a "
                f"composite business service", where,
                "composite services and their components are recovered through their tariffs and roll up after the steps")
        service = services.get(step.source_node.code) if step.source_node.kind is NodeKind.SERVICE else None
        if service is not None and service.charging_mode is ChargingMode.CHARGEBACK:
            add(ProblemCode.INCONSISTENT, f"step {step.name!r} allocates {service.code}, which is also charged through "
                f"its tariff: its cost would be recovered twice", where,
                "allocate shared services (declared under shared_services:) or showback services",
                severity=Severity.WARNING)
        if step.method is Method.PERCENT:
            total = sum((t.percent or ZERO for t in step.targets), ZERO)
            for target in step.targets:
                check_node(target.node, target.source, step)
                if target.percent is not None and not ZERO <= target.percent <= 100:
                    add(ProblemCode.PERCENT_OUT_OF_RANGE, f"step {step.name!r}: {target.percent} % for {target.node} is not 0..100",
                        target.source, "write a percentage from 0 to 100")
                if target.node == step.source_node:
                    add(ProblemCode.CYCLE, f"step {step.name!r} sends money back to its own source {target.node}",
                        target.source, "send it to other services, business lines or overhead")
            seen_targets = [t.node for t in step.targets]
            for node in {n for n in seen_targets if seen_targets.count(n) > 1}:
                add(ProblemCode.DUPLICATE, f"step {step.name!r} names {node} twice", where, "keep one percentage per target")
            if total != 100:
                add(ProblemCode.PERCENTS_NOT_100, f"step {step.name!r}: percentages sum to {total}, not 100", where,
                    f"make them sum to exactly 100 (send the rest to overhead: {100 - total})" if total < 100
                    else "make them sum to exactly 100")
        if step.method is Method.USAGE:
            if step.usage_of not in services:
                add(ProblemCode.UNKNOWN_SERVICE, f"step {step.name!r} shares by usage of {step.usage_of!r}, "
                    f"which is not a catalogue service", where, _suggest(step.usage_of or "", services, "usage comes from"))
        if step.method is Method.STEP and step.basis_step not in {s.name for s in rules.steps}:
            add(ProblemCode.UNKNOWN_KEY, f"step {step.name!r} takes proportions from unknown step {step.basis_step!r}", where,
                _suggest(step.basis_step or "", [s.name for s in rules.steps], "name an earlier step:"))
        if step.method is Method.STEP and step.basis_step == step.name:
            add(ProblemCode.CYCLE, f"step {step.name!r} takes proportions from itself", where, "name an earlier step")

    problems += _order_problems(rules)
    drained_pools = {n.code for n in drained if n.kind is NodeKind.POOL}
    for pool in pools.values():
        if pool.code not in drained_pools:
            add(ProblemCode.INCONSISTENT, f"no step allocates cost pool {pool.code}: its cost stays in overhead", pool.source,
                "add a step with from: pool:" + pool.code, severity=Severity.WARNING)
    for code, setting in ((r.service, r) for r in rules.recovery):
        if not any(s.source_node == Node(NodeKind.SERVICE, code) and s.method is Method.USAGE for s in rules.steps):
            add(ProblemCode.INCONSISTENT, f"{code} has a recovery basis but no usage step allocates it", setting.source,
                "the recovery basis applies to a step with by: usage and from: service:" + code, severity=Severity.WARNING)
    for code in shared:
        node = Node(NodeKind.SERVICE, code)
        if node not in drained:
            add(ProblemCode.INCONSISTENT, f"no step allocates shared service {code}: its cost stays unrecovered",
                shared[code].source, f"add a step with from: service:{code}", severity=Severity.WARNING)
    problems += _rate_problems(rules.rate_setting, services)
    try:
        composite_order(composites)
    except ValueError:
        pass  # the catalogue's own validation reports component cycles
    return problems


def _order_problems(rules: RuleSet) -> list[Problem]:
    """Cycles (a step that, through others, feeds its own source) and steps declared before a
    step they depend on."""
    deps = step_dependencies(rules)
    position = {s.name: i for i, s in enumerate(rules.steps)}
    by_name = {s.name: s for s in rules.steps}
    problems: list[Problem] = []
    reported: set[frozenset[str]] = set()
    in_cycle: set[str] = set()
    for start in position:
        stack = [(start, [start])]
        while stack:
            name, trail = stack.pop()
            for nxt in sorted(deps.get(name, ())):
                if nxt == start:
                    members = frozenset(trail)
                    if members not in reported:
                        reported.add(members)
                        in_cycle |= members
                        first = min(members, key=position.__getitem__)
                        at = trail.index(first)
                        loop = trail[at:] + trail[:at] + [first]
                        step = by_name[first]
                        problems.append(Problem(
                            code=ProblemCode.CYCLE, source=step.source or SourceRef(file=rules.files[0]),
                            message="allocation steps go round in a circle: " + " → ".join(f"{n!r}" for n in loop)
                            + " (each runs after the step it names, which feeds its source)",
                            hint="money must flow one way: remove one of these targets or change a source"))
                elif nxt in position and nxt not in trail:
                    stack.append((nxt, trail + [nxt]))
    for step in rules.steps:
        if step.name in in_cycle:
            continue
        late = sorted((d for d in deps[step.name] if d in position and position[d] > position[step.name]), key=position.__getitem__)
        for other in late:
            why = (f"takes the proportions of step {other!r}" if step.basis_step == other
                   else f"allocates {step.source_node}, which step {other!r} still sends money to")
            problems.append(Problem(code=ProblemCode.INCONSISTENT, source=step.source or SourceRef(file=rules.files[0]),
                                    message=f"step {step.name!r} {why}, but runs before it",
                                    hint=f"steps run in the order written: move {step.name!r} below {other!r}"))
    return problems


def _rate_problems(setting: RateSetting, services) -> list[Problem]:
    problems = []
    for service, factors in setting.differentials:
        where = setting.source
        if service not in services:
            problems.append(Problem(code=ProblemCode.UNKNOWN_SERVICE, source=where,
                                    message=f"differentials for unknown service {service!r}",
                                    hint=_suggest(service, services, "write one of")))
            continue
        tiers = {t.code for t in services[service].tiers}
        for tier, _ in factors:
            if tier not in tiers:
                problems.append(Problem(code=ProblemCode.UNKNOWN_TIER, source=where,
                                        message=f"differential for tier {tier!r}, which {service} does not have",
                                        hint=_suggest(tier, tiers, f"{service} has tiers")))
        missing = tiers - {t for t, _ in factors}
        if missing:
            problems.append(Problem(code=ProblemCode.VALUE_MISSING, source=where,
                                    message=f"differentials of {service} leave out tier(s) {', '.join(sorted(missing))}",
                                    hint="give a factor for every tier (the base tier is 1.0)"))
    return problems


# --------------------------------------------------------------------------- small helpers


def _suggest(value: str, choices: Iterable[str], lead: str) -> str:
    choices = sorted(str(c) for c in choices)
    close = difflib.get_close_matches(str(value), choices, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    shown = ", ".join(choices[:12]) + (" ..." if len(choices) > 12 else "")
    return f"{lead} {shown}" if shown else lead


def _at(source: SourceRef | None) -> str:
    return source.render() if source else "another place"

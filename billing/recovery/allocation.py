"""Allocation of IT cost pools to services and business lines (pure).

The TBM chain: cost pools → services → business lines. A rule set (``billing.recovery.allocation_rules``
reads it from YAML) declares pools, steps and per-service recovery settings; a month's inputs
(costs, drivers, usage, charged volumes) are plain values. :func:`allocate_month` runs the steps
in their declared order, then rolls component costs up into composite business services, and
returns every step's inputs and outputs so finance can audit them (docs/allocation.md).

Rules that hold whatever the input:

- Each step moves the whole amount sitting at its source node to its targets (and the
  overhead) with :func:`billing.core.money.allocate` (largest remainder), pool by pool, so every
  step conserves money to the minor unit: Σ outputs + overhead = input.
- Every amount remembers the cost pool it came from, so each pool reconciles on its own:
  pool total = to services + to business lines + left in overhead.
- Nothing is rounded here except by ``allocate``; inputs are whole minor units.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from billing.core.money import ZERO, allocate, plain
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef

__all__ = [
    "NodeKind", "Node", "OVERHEAD", "Method", "RecoveryBasis", "PoolCategory",
    "CostPool", "SharedService", "RecoverySetting", "Target", "Step", "RateSetting", "RuleSet",
    "CostLine", "AllocationInputs", "StepResult", "PoolBalance", "ServiceFlow", "AllocationResult",
    "allocate_month", "static_targets", "step_dependencies", "composite_order", "ROLL_UP",
]

ROLL_UP = "composite roll-up"


class NodeKind(enum.StrEnum):
    POOL = "pool"
    SERVICE = "service"
    BUSINESS_LINE = "business_line"
    OVERHEAD = "overhead"


@dataclass(frozen=True, slots=True, order=True)
class Node:
    """Where money sits: a cost pool, a service, a business line, or IT's overhead."""

    kind: NodeKind
    code: str = ""

    def __str__(self) -> str:
        return "overhead" if self.kind is NodeKind.OVERHEAD else f"{self.kind.value}:{self.code}"


OVERHEAD = Node(NodeKind.OVERHEAD)


class Method(enum.StrEnum):
    PERCENT = "percent"  # fixed percentages per target
    DRIVER = "driver"  # a driver value per business line and month (headcount, revenue, ...)
    USAGE = "usage"  # each business line's share of a service's usage in the month
    STEP = "step"  # the same proportions as an earlier step


class RecoveryBasis(enum.StrEnum):
    USE = "use"  # share of use: everything is allocated (100 %)
    CAPACITY = "capacity"  # share of capacity: idle capacity stays with IT as overhead


class PoolCategory(enum.StrEnum):
    LABOUR = "labour"
    HARDWARE = "hardware"
    SOFTWARE = "software"
    FACILITIES = "facilities"
    EXTERNAL_SERVICES = "external_services"
    NON_IT = "non_it"  # non-IT delivery: fleet, field staff


# --------------------------------------------------------------------------- the rule set


@dataclass(frozen=True, slots=True, kw_only=True)
class CostPool:
    code: str
    name: str
    category: PoolCategory
    source: SourceRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedService:
    """A service that is not in the tariff catalogue: its cost is allocated, never priced."""

    code: str
    name: str
    source: SourceRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoverySetting:
    """How a usage-allocated service recovers its cost; ``capacity`` per month (or ``default``)
    in the units of the usage the step shares by."""

    service: str
    basis: RecoveryBasis
    capacity: tuple[tuple[str, Decimal], ...] = ()
    source: SourceRef | None = None

    def capacity_for(self, month: str) -> Decimal | None:
        found = dict(self.capacity)
        return found.get(month, found.get("default"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    node: Node
    percent: Decimal | None = None  # percent steps only
    source: SourceRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One allocation rule: move everything at ``source_node`` to targets by ``method``."""

    name: str
    source_node: Node
    method: Method
    targets: tuple[Target, ...] = ()  # percent: the targets; driver/usage: named business lines
    all_business_lines: bool = False  # driver/usage: every business line (with usage, for usage)
    driver: str | None = None
    usage_of: str | None = None
    basis_step: str | None = None
    source: SourceRef | None = None

    def describe(self) -> str:
        if self.method is Method.PERCENT:
            return "fixed percentages"
        if self.method is Method.DRIVER:
            return f"driver {self.driver}"
        if self.method is Method.USAGE:
            return f"share of {self.usage_of} usage"
        return f"the proportions of step {self.basis_step}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RateSetting:
    price_step: Decimal = Decimal("0.01")
    differentials: tuple[tuple[str, tuple[tuple[str, Decimal], ...]], ...] = ()
    source: SourceRef | None = None

    def differential(self, service: str) -> dict[str, Decimal] | None:
        found = dict(self.differentials).get(service)
        return dict(found) if found is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSet:
    files: tuple[str, ...]
    currency: str | None = None
    pools: tuple[CostPool, ...] = ()
    shared_services: tuple[SharedService, ...] = ()
    recovery: tuple[RecoverySetting, ...] = ()
    steps: tuple[Step, ...] = ()
    rate_setting: RateSetting = field(default_factory=RateSetting)

    def pool(self, code: str) -> CostPool | None:
        return next((p for p in self.pools if p.code == code), None)

    def shared(self, code: str) -> SharedService | None:
        return next((s for s in self.shared_services if s.code == code), None)

    def recovery_for(self, service: str) -> RecoverySetting | None:
        return next((r for r in self.recovery if r.service == service), None)

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)


# --------------------------------------------------------------------------- a month's inputs


@dataclass(frozen=True, slots=True, kw_only=True)
class CostLine:
    """A cost per month, pool and GL account, as loaded (``scenario`` actual or budget)."""

    month: str
    scenario: str
    cost_pool: str
    gl_account: str
    amount: Decimal
    currency: str
    source_ref: str
    description: str = ""
    source: SourceRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocationInputs:
    """Everything one month's allocation reads, as plain values.

    ``drivers``: driver → business line → value. ``usage``: service → business line → quantity.
    ``volumes``: service → charged quantity (composite roll-up). ``business_lines``: who
    "every business line" means. ``composites``: composite → ((component, quantity per unit), ...).
    """

    month: str
    currency: str
    costs: tuple[CostLine, ...]
    drivers: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    usage: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    volumes: Mapping[str, Decimal] = field(default_factory=dict)
    business_lines: tuple[str, ...] = ()
    composites: Mapping[str, tuple[tuple[str, Decimal], ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # where proxies were used (budget months), shown by explain


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """What one step read and wrote. ``outputs`` exclude the overhead; for the composite
    roll-up, the component's own entry is the part that stays with it."""

    number: int
    name: str
    source_node: Node
    basis: str
    input: Decimal
    inputs_by_pool: tuple[tuple[str, Decimal], ...]
    weights: tuple[tuple[Node, Decimal], ...]  # the overhead's weight included, when it has one
    outputs: tuple[tuple[Node, Decimal], ...]
    overhead: Decimal
    notes: tuple[str, ...] = ()
    source: SourceRef | None = None

    def __post_init__(self) -> None:
        if sum((a for _, a in self.outputs), ZERO) + self.overhead != self.input:
            raise ValueError(f"step {self.name}: outputs and overhead do not sum to the input {self.input}")
        if sum((a for _, a in self.inputs_by_pool), ZERO) != self.input:
            raise ValueError(f"step {self.name}: pool inputs do not sum to the input {self.input}")


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolBalance:
    """Where one cost pool's money ended: total = to services + to business lines + overhead."""

    pool: str
    total: Decimal
    to_services: Decimal
    to_business_lines: Decimal
    overhead: Decimal

    def __post_init__(self) -> None:
        if self.to_services + self.to_business_lines + self.overhead != self.total:
            raise ValueError(f"pool {self.pool} does not reconcile")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceFlow:
    """A service's money over the month: cost = to business lines + to overhead + remaining."""

    service: str
    cost: Decimal  # received, less what it passed on to other services (composites included)
    to_business_lines: Decimal
    to_overhead: Decimal
    remaining: Decimal  # still with the service: to be recovered through its tariff
    drained: bool  # a step allocated it on


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocationResult:
    month: str
    currency: str
    pool_totals: tuple[tuple[str, Decimal], ...]
    steps: tuple[StepResult, ...]
    final: tuple[tuple[Node, str, Decimal], ...]  # (node, pool, amount) where money ended
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((a for _, a in self.pool_totals), ZERO)

    def balance(self, node: Node) -> Decimal:
        return sum((a for n, _, a in self.final if n == node), ZERO)

    def pool_balances(self) -> tuple[PoolBalance, ...]:
        rows = []
        for pool, total in self.pool_totals:
            ends = [(n, a) for n, p, a in self.final if p == pool]
            services = sum((a for n, a in ends if n.kind is NodeKind.SERVICE), ZERO)
            lines = sum((a for n, a in ends if n.kind is NodeKind.BUSINESS_LINE), ZERO)
            overhead = sum((a for n, a in ends if n.kind in (NodeKind.OVERHEAD, NodeKind.POOL)), ZERO)
            rows.append(PoolBalance(pool=pool, total=total, to_services=services, to_business_lines=lines, overhead=overhead))
        return tuple(rows)

    def service_flows(self) -> dict[str, ServiceFlow]:
        received: dict[str, Decimal] = defaultdict(lambda: ZERO)
        passed: dict[str, Decimal] = defaultdict(lambda: ZERO)
        to_lines: dict[str, Decimal] = defaultdict(lambda: ZERO)
        to_overhead: dict[str, Decimal] = defaultdict(lambda: ZERO)
        drained: set[str] = set()
        for step in self.steps:
            source = step.source_node
            for node, amount in step.outputs:
                if node == source:
                    continue  # the part of a component that stays with it
                if node.kind is NodeKind.SERVICE:
                    received[node.code] += amount
                    if source.kind is NodeKind.SERVICE:
                        passed[source.code] += amount
                elif node.kind is NodeKind.BUSINESS_LINE and source.kind is NodeKind.SERVICE:
                    to_lines[source.code] += amount
            if source.kind is NodeKind.SERVICE:
                to_overhead[source.code] += step.overhead
                if step.name != ROLL_UP:
                    drained.add(source.code)
        codes = set(received) | set(passed) | {n.code for n, _, _ in self.final if n.kind is NodeKind.SERVICE}
        flows = {}
        for code in sorted(codes):
            remaining = self.balance(Node(NodeKind.SERVICE, code))
            flows[code] = ServiceFlow(
                service=code, cost=received[code] - passed[code], to_business_lines=to_lines[code],
                to_overhead=to_overhead[code], remaining=remaining, drained=code in drained,
            )
        return flows

    def by_business_line(self) -> dict[str, tuple[tuple[str, Decimal], ...]]:
        """Business line → ((what it was allocated from: a service or pool code, amount), ...),
        summed per source, largest first: what a statement shows under "allocated to you"."""
        found: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
        for step in self.steps:
            for node, amount in step.outputs:
                if node.kind is NodeKind.BUSINESS_LINE and amount:
                    found[node.code][step.source_node.code] += amount
        return {line: tuple(sorted(parts.items(), key=lambda x: (-x[1], x[0]))) for line, parts in sorted(found.items())}

    def direct_to_business_lines(self) -> Decimal:
        """What pool steps sent straight to business lines (no service in between)."""
        return sum((a for s in self.steps if s.source_node.kind is NodeKind.POOL
                    for n, a in s.outputs if n.kind is NodeKind.BUSINESS_LINE), ZERO)

    def pool_overhead(self) -> Decimal:
        """What stayed in overhead without passing through a service: pool steps' overhead
        shares and pools no step allocates."""
        from_steps = sum((s.overhead for s in self.steps if s.source_node.kind is NodeKind.POOL), ZERO)
        unruled = sum((a for n, _, a in self.final if n.kind is NodeKind.POOL), ZERO)
        return from_steps + unruled


# --------------------------------------------------------------------------- static structure


def static_targets(rules: RuleSet, step: Step, *, _seen: frozenset[str] = frozenset()) -> tuple[Node, ...]:
    """The nodes a step can send money to, known without a month's data (business lines of a
    driver or usage step are not listed: they are never a source)."""
    if step.method is Method.PERCENT:
        return tuple(t.node for t in step.targets if t.node != OVERHEAD)
    if step.method is Method.STEP:
        basis = rules.step(step.basis_step or "")
        if basis is None or basis.name in _seen:
            return ()
        return static_targets(rules, basis, _seen=_seen | {step.name})
    return tuple(t.node for t in step.targets)


def step_dependencies(rules: RuleSet) -> dict[str, set[str]]:
    """Step name → names of the steps it must run after: the step it takes proportions from,
    and every step that sends money to its source."""
    feeds: dict[Node, set[str]] = defaultdict(set)
    for step in rules.steps:
        for node in static_targets(rules, step):
            feeds[node].add(step.name)
    deps: dict[str, set[str]] = {}
    for step in rules.steps:
        found = set(feeds.get(step.source_node, set())) - {step.name}
        if step.method is Method.STEP and step.basis_step:
            found.add(step.basis_step)
        deps[step.name] = found
    return deps


def composite_order(composites: Mapping[str, Sequence[tuple[str, Decimal]]]) -> list[str]:
    """Services in an order where every component comes before the composites made of it
    (components first). The catalogue's validation has already refused cycles."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(code: str) -> None:
        if state.get(code) == 2:
            return
        if state.get(code) == 1:
            raise ValueError(f"components of {code} go round in a circle")
        state[code] = 1
        for component, _ in composites.get(code, ()):
            visit(component)
        state[code] = 2
        order.append(code)

    for code in sorted(composites):
        visit(code)
    return order


# --------------------------------------------------------------------------- running a month


def allocate_month(rules: RuleSet, inputs: AllocationInputs) -> AllocationResult:
    """Run the rule set over one month. Problems (a driver missing for a business line, a cost
    in an undeclared pool, ...) come back as values; a step that cannot run leaves its input
    in overhead, so the result still reconciles."""
    currency = inputs.currency
    problems: list[Problem] = []
    notes: list[str] = list(inputs.notes)
    if rules.currency and rules.currency != currency:
        problems.append(Problem(
            code=ProblemCode.VALUE_INVALID, source=SourceRef(file=rules.files[0] if rules.files else "rules", location="currency"),
            message=f"the rules are in {rules.currency} but costs and tariffs are in {currency}",
            hint=f"write currency: {currency}"))

    # Money by node and by the pool it came from.
    balances: dict[Node, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    pool_totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    first_seen: dict[str, CostLine] = {}
    for line in inputs.costs:
        if line.currency != currency:
            problems.append(Problem(code=ProblemCode.VALUE_INVALID, source=line.source or SourceRef(file="costs"),
                                    message=f"cost in {line.currency}; costs must be in {currency}"))
            continue
        pool_totals[line.cost_pool] += line.amount
        balances[Node(NodeKind.POOL, line.cost_pool)][line.cost_pool] += line.amount
        first_seen.setdefault(line.cost_pool, line)
    declared = {p.code for p in rules.pools}
    for pool in sorted(set(pool_totals) - declared):
        line = first_seen[pool]
        problems.append(Problem(
            code=ProblemCode.UNKNOWN_KEY, source=line.source or SourceRef(file="costs"),
            message=f"cost pool {pool!r} is not declared in the allocation rules ({', '.join(rules.files)})",
            hint="add it under pools: with a name and category, or correct the cost file"))

    results: list[StepResult] = []
    weights_of: dict[str, tuple[tuple[Node, Decimal], ...]] = {}
    for number, step in enumerate(rules.steps, start=1):
        amounts = {p: a for p, a in balances.pop(step.source_node, {}).items() if a}
        weights, step_notes, step_problems = _weights(rules, step, inputs, weights_of)
        problems += step_problems
        weights_of[step.name] = tuple((n, w) for n, w in weights if n != OVERHEAD)
        results.append(_run(number, step.name, step.source_node, step.describe(), amounts, weights, balances,
                            currency, step_notes, step.source))

    # Composite business services: components' cost rolls up into the composites they make.
    for code in composite_order(inputs.composites):
        users = [(composite, inputs.volumes.get(composite, ZERO) * quantity)
                 for composite, parts in sorted(inputs.composites.items()) for component, quantity in parts
                 if component == code]
        if not users:
            continue
        node = Node(NodeKind.SERVICE, code)
        amounts = {p: a for p, a in balances.pop(node, {}).items() if a}
        if not amounts:
            continue
        direct = max(inputs.volumes.get(code, ZERO), ZERO)
        weights = [(node, direct)] + [(Node(NodeKind.SERVICE, c), max(v, ZERO)) for c, v in users]
        text = f"{code} used directly {plain(direct)} and inside " + ", ".join(f"{c} {plain(v)}" for c, v in users)
        results.append(_run(len(results) + 1, ROLL_UP, node, "share of volume (components into composites)",
                            amounts, weights, balances, currency, (text,), None))

    final = tuple(sorted(
        ((node, pool, amount) for node, by_pool in balances.items() for pool, amount in by_pool.items() if amount),
        key=lambda x: (x[0], x[1]),
    ))
    return AllocationResult(
        month=inputs.month, currency=currency, pool_totals=tuple(sorted(pool_totals.items())), steps=tuple(results),
        final=final, problems=tuple(problems), notes=tuple(notes),
    )


def _run(number: int, name: str, source: Node, basis: str, amounts: dict[str, Decimal],
         weights: list[tuple[Node, Decimal]], balances, currency: str, notes, where: SourceRef | None) -> StepResult:
    total = sum(amounts.values(), ZERO)
    outputs: dict[Node, Decimal] = defaultdict(lambda: ZERO)
    overhead = ZERO
    notes = list(notes)
    usable = [(n, w) for n, w in weights if w > 0]
    if total and not usable:
        notes.append("nothing to share by: the whole input stays in overhead")
        usable = [(OVERHEAD, Decimal(1))]
    for pool, amount in sorted(amounts.items()):
        parts = allocate(amount, [w for _, w in usable], currency, keys=[str(n) for n, _ in usable])
        for (node, _), part in zip(usable, parts):
            if not part:
                continue
            balances[node][pool] += part
            if node == OVERHEAD:
                overhead += part
            else:
                outputs[node] += part
    ordered = tuple((n, outputs.get(n, ZERO)) for n, _ in weights if n != OVERHEAD)
    ordered += tuple((n, a) for n, a in outputs.items() if n not in {m for m, _ in weights})
    return StepResult(
        number=number, name=name, source_node=source, basis=basis, input=total,
        inputs_by_pool=tuple(sorted(amounts.items())), weights=tuple(weights), outputs=ordered, overhead=overhead,
        notes=tuple(notes), source=where,
    )


def _weights(rules: RuleSet, step: Step, inputs: AllocationInputs, earlier: Mapping[str, tuple[tuple[Node, Decimal], ...]]):
    """(weights including the overhead's, notes, problems) for one step in one month."""
    notes: list[str] = []
    problems: list[Problem] = []
    where = step.source or SourceRef(file=rules.files[0] if rules.files else "rules", location=f"steps[{step.name}]")

    def problem(code: ProblemCode, message: str, hint: str, severity: Severity = Severity.ERROR) -> None:
        problems.append(Problem(code=code, message=f"step {step.name!r}: {message}", source=where, hint=hint,
                                severity=severity))

    def lines() -> list[str]:
        if step.all_business_lines:
            return sorted(set(inputs.business_lines))
        return [t.node.code for t in step.targets]

    if step.method is Method.PERCENT:
        return [(t.node, t.percent or ZERO) for t in step.targets], notes, problems

    if step.method is Method.STEP:
        basis = earlier.get(step.basis_step or "")
        if basis is None:
            problem(ProblemCode.INCONSISTENT, f"step {step.basis_step!r} has not run before it",
                    "take proportions only from a step declared earlier")
            return [], notes, problems
        return list(basis), notes, problems

    if step.method is Method.DRIVER:
        table = inputs.drivers.get(step.driver or "", {})
        if not table:
            problem(ProblemCode.VALUE_MISSING, f"no {step.driver} driver values for {inputs.month}",
                    "load them with `chargeback drivers load FILE` (month, driver, business_line, value)")
            return [], notes, problems
        targets = lines()
        missing = [code for code in targets if code not in table]
        if missing:
            problem(ProblemCode.VALUE_MISSING,
                    f"driver {step.driver} has no value for business line(s) {', '.join(missing)} in {inputs.month}",
                    "add a row per business line the step allocates to (0 if it should get nothing)")
            return [], notes, problems
        weights = [(Node(NodeKind.BUSINESS_LINE, code), table[code]) for code in targets]
        if sum((w for _, w in weights), ZERO) <= 0:
            problem(ProblemCode.VALUE_INVALID, f"driver {step.driver} sums to zero in {inputs.month}",
                    "a driver needs at least one positive value to share by")
            return [], notes, problems
        return weights, notes, problems

    # usage: each business line's share of a service's usage, by its recovery basis
    used = inputs.usage.get(step.usage_of or "", {})
    codes = sorted(used) if step.all_business_lines else lines()
    weights = []
    for code in codes:
        quantity = used.get(code, ZERO)
        if quantity < 0:
            notes.append(f"{code} used {plain(quantity)} (net of corrections): counted as 0")
            quantity = ZERO
        weights.append((Node(NodeKind.BUSINESS_LINE, code), quantity))
    total_use = sum((w for _, w in weights), ZERO)
    setting = rules.recovery_for(step.source_node.code)
    basis = setting.basis if setting else RecoveryBasis.USE
    if basis is RecoveryBasis.CAPACITY:
        capacity = setting.capacity_for(inputs.month)
        if capacity is None:
            problems.append(Problem(
                code=ProblemCode.VALUE_MISSING, source=setting.source or where,
                message=f"{step.source_node.code} recovers by capacity but has no capacity for {inputs.month}",
                hint=f"add capacity: {{{inputs.month}: ..., default: ...}} under services.{step.source_node.code}"))
            return [], notes, problems
        idle = capacity - total_use
        if idle < 0:
            problem(ProblemCode.INCONSISTENT,
                f"usage {plain(total_use)} of {step.usage_of} is above the capacity {plain(capacity)}",
                    "raise the capacity figure; the step shares by use this month", Severity.WARNING)
            idle = ZERO
        notes.append(f"capacity {plain(capacity)}, used {plain(total_use)}, idle {plain(idle)} "
                     f"(idle share stays in overhead)")
        weights.append((OVERHEAD, idle))
    elif total_use == 0:
        notes.append(f"no usage of {step.usage_of} in {inputs.month}")
    return weights, notes, problems


"""Conservation for arbitrary pools and arbitrary acyclic rule chains (percent, driver,
usage share by use or capacity, proportions of an earlier step): every step's outputs plus
what it leaves in overhead equal its input, to the cent, and every pool's total equals what it
allocated plus what it left in overhead."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing.recovery.allocation import (
    OVERHEAD,
    AllocationInputs,
    CostLine,
    CostPool,
    Method,
    Node,
    NodeKind,
    PoolCategory,
    RecoveryBasis,
    RecoverySetting,
    RuleSet,
    SharedService,
    Step,
    Target,
    allocate_month,
    static_targets,
)
from billing.recovery.allocation_rules import validate_rules
from billing.core.money import ZERO, allocate
from billing.core.problems import errors
from tariffs.model import Catalogue, Service, ServiceKind

POOLS = [f"P{i}" for i in range(5)]
SERVICES = [f"S{i}" for i in range(6)]
LINES = ["BL-A", "BL-B", "BL-C", "BL-D"]
USAGE_SERVICES = ["U0", "U1"]
CATALOGUE = Catalogue(units=(), services=tuple(
    Service(code=code, name=code, unit="unit", kind=ServiceKind.IT, owner="IT", tiers=(), default_tier="")
    for code in USAGE_SERVICES
), tariffs=())

amounts = st.integers(min_value=-10**7, max_value=10**9).map(lambda cents: Decimal(cents).scaleb(-2))
weights = st.integers(min_value=0, max_value=10**6).map(Decimal)


@st.composite
def chains(draw):
    pools = draw(st.lists(st.sampled_from(POOLS), min_size=1, max_size=5, unique=True))
    costs = tuple(CostLine(month="2026-03", scenario="actual", cost_pool=p, gl_account="6000", amount=draw(amounts),
                           currency="USD", source_ref=p) for p in pools for _ in range(draw(st.integers(1, 2))))
    drained: set[Node] = set()
    fed: set[Node] = set()
    steps: list[Step] = []
    recovery: list[RecoverySetting] = []
    drivers: dict[str, dict[str, Decimal]] = {}
    for number in range(draw(st.integers(0, 8))):
        sources = [Node(NodeKind.POOL, p) for p in POOLS if Node(NodeKind.POOL, p) not in drained]
        sources += sorted(n for n in fed if n not in drained)
        if not sources:
            break
        source = draw(st.sampled_from(sources))
        free = [Node(NodeKind.SERVICE, s) for s in SERVICES if Node(NodeKind.SERVICE, s) not in drained and
                Node(NodeKind.SERVICE, s) != source]
        earlier = [s for s in steps if all(n not in drained and n != source for n in static_targets(_rules(steps), s))]
        methods = [Method.PERCENT, Method.DRIVER, Method.USAGE] + ([Method.STEP] if earlier else [])
        method = draw(st.sampled_from(methods))
        name = f"step{number}"
        if method is Method.PERCENT:
            nodes = draw(st.lists(st.sampled_from(free + [Node(NodeKind.BUSINESS_LINE, b) for b in LINES] + [OVERHEAD]),
                                  min_size=1, max_size=5, unique=True))
            raw = draw(st.lists(weights, min_size=len(nodes), max_size=len(nodes)).filter(lambda w: sum(w) > 0))
            percents = allocate(Decimal("100.00"), raw, "USD")  # percentages with cents that sum to 100 exactly
            step = Step(name=name, source_node=source, method=method,
                        targets=tuple(Target(node=n, percent=p) for n, p in zip(nodes, percents)))
            fed |= {n for n in nodes if n.kind is NodeKind.SERVICE}
        elif method is Method.DRIVER:
            driver = draw(st.sampled_from(["headcount", "revenue"]))
            if driver not in drivers:
                values = draw(st.lists(weights, min_size=len(LINES), max_size=len(LINES)).filter(lambda w: sum(w) > 0))
                drivers[driver] = dict(zip(LINES, values))
            step = Step(name=name, source_node=source, method=method, driver=driver, all_business_lines=True)
        elif method is Method.USAGE:
            step = Step(name=name, source_node=source, method=method, usage_of=draw(st.sampled_from(USAGE_SERVICES)),
                        all_business_lines=True)
            if source.kind is NodeKind.SERVICE and draw(st.booleans()):
                capacity = draw(st.integers(0, 3 * 10**6)).__index__()
                recovery.append(RecoverySetting(service=source.code, basis=RecoveryBasis.CAPACITY,
                                                capacity=(("default", Decimal(capacity)),)))
        else:
            basis = draw(st.sampled_from(earlier))
            step = Step(name=name, source_node=source, method=method, basis_step=basis.name)
            fed |= {n for n in static_targets(_rules(steps), basis) if n.kind is NodeKind.SERVICE}
        steps.append(step)
        drained.add(source)
    rules = _rules(steps, pools=POOLS, recovery=tuple(recovery))
    usage = {code: dict(zip(LINES, draw(st.lists(weights, min_size=len(LINES), max_size=len(LINES)))))
             for code in USAGE_SERVICES}
    month = AllocationInputs(month="2026-03", currency="USD", costs=costs, drivers=drivers, usage=usage,
                             business_lines=tuple(LINES))
    return rules, month


def _rules(steps, *, pools=POOLS, recovery=()) -> RuleSet:
    return RuleSet(
        files=("rules.yaml",),
        pools=tuple(CostPool(code=p, name=p, category=PoolCategory.LABOUR) for p in pools),
        shared_services=tuple(SharedService(code=s, name=s) for s in SERVICES),
        recovery=tuple(recovery), steps=tuple(steps),
    )


@given(chains())
def test_every_step_and_every_pool_conserves_to_the_cent(chain):
    rules, month = chain
    assert not errors(validate_rules(rules, CATALOGUE))  # the generated chain is acyclic and in order
    result = allocate_month(rules, month)
    assert not errors(result.problems)
    for step in result.steps:
        assert sum((a for _, a in step.outputs), ZERO) + step.overhead == step.input
        assert all(a == a.quantize(Decimal("0.01")) for _, a in step.outputs)
    total = sum((line.amount for line in month.costs), ZERO)
    assert result.total == total
    assert sum((a for _, _, a in result.final), ZERO) == total
    for balance in result.pool_balances():
        assert balance.to_services + balance.to_business_lines + balance.overhead == balance.total
    assert sum((b.total for b in result.pool_balances()), ZERO) == total
    flows = result.service_flows()
    assert sum((f.cost for f in flows.values()), ZERO) + result.direct_to_business_lines() + result.pool_overhead() == total
    for flow in flows.values():
        assert flow.cost == flow.to_business_lines + flow.to_overhead + flow.remaining

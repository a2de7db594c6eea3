"""IT cost and driver files: rows (``billing.files.fields.Row``) in, records and problems out (pure).

A cost file holds IT's actual or budgeted cost per month, cost pool and GL account:

    month,scenario,cost_pool,gl_account,amount,currency,source_ref,description
    2026-03,actual,LABOUR,6100,182500.00,USD,PAY-2026-03,March payroll IT

A driver file holds a driver (headcount, revenue, ...) per business line and month:

    month,driver,business_line,value
    2026-03,headcount,FIN,120

Every row is checked on its own and every problem comes back with its row and column; a
cost's identity is (scenario, month, cost pool, GL account, source reference), so the same
cost loaded twice is recognised (docs/recovery.md, "Loading costs and drivers").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.recovery.allocation import CostLine
from billing.core.limits import AMOUNT, CODE, QUANTITY, REFERENCE
from billing.core.money import minor_units
from billing.core.problems import Ask, Asked, Problem, ProblemCode, SourceRef, describe_changes
from billing.files.fields import Row, decimal_field, month_field, text_field

__all__ = [
    "COST_COLUMNS", "COST_OPTIONAL", "DRIVER_COLUMNS", "SCENARIOS", "DriverRecord",
    "parse_costs", "parse_drivers", "cost_identity", "cost_changes",
]

COST_COLUMNS = ("month", "cost_pool", "gl_account", "amount", "source_ref")
COST_OPTIONAL = ("scenario", "currency", "description")
DRIVER_COLUMNS = ("month", "driver", "business_line", "value")
SCENARIOS = ("actual", "budget")


@dataclass(frozen=True, slots=True, kw_only=True)
class DriverRecord:
    month: str
    driver: str
    business_line: str
    value: Decimal
    source: SourceRef | None = None


def cost_identity(line: CostLine) -> tuple[str, str, str, str, str]:
    return (line.scenario, line.month, line.cost_pool, line.gl_account, line.source_ref)


def cost_changes(line: CostLine, amount: Decimal) -> str:
    """How ``line`` differs from a cost line of the same identity loaded at ``amount`` (empty
    when it does not: the description is not compared)."""
    return describe_changes([("amount", line.amount, amount)] if line.amount != amount else [])


def parse_costs(rows: Sequence[Row], *, currency: str) -> tuple[list[CostLine], list[Problem]]:
    """Cost rows as records; a row with any problem is left out (its problems say why).

    ``currency`` is the catalogue's: a row in another currency is refused. Amounts may be
    negative (credits, reversals) but not finer than the currency's minor unit. A row with
    the same identity as an earlier row of the file is a duplicate when its amount is the same
    too, else a conflict (the earlier row is kept).
    """
    lines: list[CostLine] = []
    problems: list[Problem] = []
    seen: dict[tuple, CostLine] = {}
    places = minor_units(currency)
    for row in rows:
        found: list[Problem] = []
        month, p = month_field(row, "month")
        found += [p] if p else []
        pool, p = text_field(row, "cost_pool", limit=CODE)
        found += [p] if p else []
        account, p = text_field(row, "gl_account", limit=CODE)
        found += [p] if p else []
        reference, p = text_field(row, "source_ref", limit=REFERENCE)
        found += [p] if p else []
        amount, p = decimal_field(row, "amount", minimum=None, limit=AMOUNT)
        found += [p] if p else []
        scenario = (row.get("scenario") or "actual").lower()
        if scenario not in SCENARIOS:
            found.append(Problem(code=ProblemCode.VALUE_INVALID, source=row.ref("scenario"),
                                 message=f"scenario {row.get('scenario')!r} is not actual or budget",
                                 hint="write actual (what was spent) or budget (the plan)"))
        row_currency = (row.get("currency") or currency).upper()
        if row_currency != currency:
            found.append(Problem(code=ProblemCode.VALUE_INVALID, source=row.ref("currency"),
                                 message=f"cost in {row_currency}; costs must be in {currency}, the catalogue's currency",
                                 hint=f"convert it to {currency} before loading"))
        if amount is not None and -amount.as_tuple().exponent > places and amount != amount.quantize(Decimal(1).scaleb(-places)):
            found.append(Problem(code=ProblemCode.TOO_PRECISE, source=row.ref("amount"),
                                 message=f"amount {row.get('amount')} has more than {places} decimals",
                                 hint=f"round it to whole {currency} minor units"))
        if found:
            problems += found
            continue
        line = CostLine(month=month, scenario=scenario, cost_pool=pool, gl_account=account,
                        amount=amount.quantize(Decimal(1).scaleb(-places)), currency=currency, source_ref=reference,
                        description=row.get("description"), source=row.ref())
        key = cost_identity(line)
        if key in seen:
            first = seen[key]
            differ = cost_changes(line, first.amount)
            if differ:
                problems.append(Problem(
                    code=ProblemCode.CONFLICT, source=row.ref("source_ref"),
                    message=f"the cost of row {first.source.row} ({scenario} {month} {pool} {account} {reference}) again, "
                            f"with other values ({differ}); row {first.source.row} is loaded, this row is not",
                    hint="a cost line is sent once: correct the file; a cost feed already loaded is corrected by "
                         "loading its corrected file as a replacement of the feed", asks_for=(Asked(Ask.REPLACE),)))
            else:
                problems.append(Problem(code=ProblemCode.DUPLICATE, source=row.ref("source_ref"),
                                        message=f"the same cost as row {first.source.row} ({scenario} {month} {pool} {account} {reference})",
                                        hint="give each cost line its own source_ref, or remove the copy"))
            continue
        seen[key] = line
        lines.append(line)
    return lines, problems


def parse_drivers(rows: Sequence[Row], *, business_lines: Iterable[str]) -> tuple[list[DriverRecord], list[Problem]]:
    """Driver rows as records. Values are zero or more; a business line must exist; a
    (month, driver, business line) may appear once."""
    known = set(business_lines)
    records: list[DriverRecord] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str], int] = {}
    for row in rows:
        found: list[Problem] = []
        month, p = month_field(row, "month")
        found += [p] if p else []
        driver, p = text_field(row, "driver", limit=CODE)
        found += [p] if p else []
        line, p = text_field(row, "business_line", limit=CODE)
        found += [p] if p else []
        value, p = decimal_field(row, "value", minimum=Decimal(0), limit=QUANTITY)
        found += [p] if p else []
        if line and line not in known:
            found.append(Problem(code=ProblemCode.UNKNOWN_BUSINESS_LINE, source=row.ref("business_line"),
                                 message=f"business line {line!r} does not exist",
                                 hint="load it with `chargeback org load` first"))
        if found:
            problems += found
            continue
        key = (month, driver.lower(), line)
        if key in seen:
            problems.append(Problem(code=ProblemCode.DUPLICATE, source=row.ref("business_line"),
                                    message=f"{driver} for {line} in {month} is also given on row {seen[key]}",
                                    hint="keep one value per month, driver and business line"))
            continue
        seen[key] = row.row
        records.append(DriverRecord(month=month, driver=driver.lower(), business_line=line, value=value, source=row.ref()))
    return records, problems

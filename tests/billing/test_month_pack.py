"""Finance's month pack (`chargeback month pack`) on a small month, each section's figures.

March 2026 against February, USD:

- February: DESK gold monthly fees, FIN 470.00 + OPS 470.00 = 940.00 (no usage).
- March: the DESK fees again; NETWORK silver at 885.00 a site-month: FIN 10 sites 8,850.00,
  OPS 20 sites 17,700.00, and 2 sites on UNALLOCATED (no subscription: the default tier,
  silver) 1,770.00; availability 99.6 % against silver's 99.9 % target (0.3 points short) gives
  a 5 % credit on each NETWORK line: FIN -442.50, OPS -885.00, UNALLOCATED -88.50.
  FIN 8,877.50, OPS 17,285.00, UNALLOCATED 1,681.50: total 27,844.00, change +26,904.00.
- One usage row quarantined (its quantity is not a number).
- Costs and allocation rules as in tests/recovery/test_recovery.py: the recovery section shows
  the recovery report's rows (`chargeback recovery --month 2026-03`).
- Budget FY2026: FIN 3,000.00 and OPS 30,000.00 for March's NETWORK; actual to date is every
  charge of February and March.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import pytest

from tests.cli_helpers import load_two_business_lines, run, write
from tests.conftest import EXAMPLE_TARIFFS
from tests.recovery.test_recovery import RULES


def setup_month(db_url, tmp_path):
    load_two_business_lines(db_url, tmp_path)
    run(db_url, "org", "load", write(tmp_path / "un.csv", """
        business_line,name
        UNALLOCATED,Unallocated usage
    """))
    run(db_url, "org", "load", write(tmp_path / "uncc.csv", """
        cost_center,name,business_line,gl_cost_center
        CC-999,Unknown,UNALLOCATED,999999
    """))
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(db_url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-01-01
        OPS,DESK,gold,2026-01-01
        FIN,NETWORK,silver,2026-01-01
        OPS,NETWORK,silver,2026-01-01
    """))
    run(db_url, "usage", "load", write(tmp_path / "usage.csv", """
        record_id,usage_date,cost_center,business_line,service,tier,quantity,unit,description,cost
        n-1,2026-03-01,CC-100,,NETWORK,,10,site-month,FIN sites,
        n-2,2026-03-01,CC-200,,NETWORK,,20,site-month,OPS sites,
        n-3,2026-03-01,CC-999,,NETWORK,,2,site-month,unknown sites,
        n-4,2026-03-02,CC-100,,NETWORK,,ten,site-month,a typo,
    """), "--source", "network", "--new-source")
    run(db_url, "sla", "load", write(tmp_path / "sla.csv", """
        month,service,tier,metric,achieved
        2026-03,NETWORK,silver,availability_pct,99.6
        2026-03,NETWORK,silver,response_minutes,45
    """))
    run(db_url, "costs", "load", write(tmp_path / "costs.csv", """
        month,scenario,cost_pool,gl_account,amount,currency,source_ref
        2026-03,actual,LABOUR,6100,2000.00,USD,PAY-03
        2026-03,actual,HARDWARE,6820,900.00,USD,DEP-03
        2026-03,actual,EXTERNAL,6520,25000.00,USD,TEL-03
        2026-03,actual,OFFICES,6330,300.00,USD,RENT-03
    """))
    run(db_url, "drivers", "load", write(tmp_path / "drivers.csv", """
        month,driver,business_line,value
        2026-03,headcount,FIN,30
        2026-03,headcount,OPS,70
    """))
    run(db_url, "budget", "load", write(tmp_path / "budget.csv", """
        business_line,service,month,amount
        FIN,NETWORK,2026-03,3000.00
        OPS,NETWORK,2026-03,30000.00
    """))
    write(tmp_path / "rules" / "rules.yaml", RULES)
    run(db_url, "month", "run", "2026-02")
    run(db_url, "month", "run", "2026-03")
    return tmp_path / "rules"


def section(page: str, name: str) -> str:
    """The text of one section of the pack (its id), tags removed, spaces collapsed."""
    found = re.search(rf'<section[^>]*id="{name}">(.*?)</section>', page, re.S)
    assert found, f"no section {name}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def test_each_section_of_the_pack_shows_the_months_figures(db_url, tmp_path):
    rules = setup_month(db_url, tmp_path)
    out = tmp_path / "pack.html"
    done = run(db_url, "month", "pack", "2026-03", "--out", out, "--rules", rules)
    assert f"month pack for 2026-03 written to {out}" in done.stdout
    page = out.read_text(encoding="utf-8")
    assert "DRAFT" in page and "March 2026 is open" in page

    totals = section(page, "totals")
    assert "Total to invoice 27,844.00 USD" in totals
    assert "Change against February 2026 +26,904.00 USD +2862.1 %" in totals
    assert "February 2026 940.00 USD" in totals and "Business lines charged 3" in totals
    assert "Service credits included -1,416.00 USD" in totals

    # why the total changed: February's 940.00 (the DESK fees, unchanged) to March's 27,844.00,
    # NETWORK new on every line (its credits with it), the lines' bridges added up
    bridge = section(page, "bridge")
    assert "February 2026 charged, with the notes issued in it 940.00" in bridge
    assert ("New services Network and connectivity +26,904.00 OPS +16,815.00; FIN +8,407.50; "
            "UNALLOCATED +1,681.50 +26,904.00") in bridge
    assert "March 2026 change +26,904.00 27,844.00" in bridge
    assert "Service credits" not in bridge and "Price" not in bridge  # steps that did not move are left out
    assert "over 3 business lines charged in either month" in bridge
    run(db_url, "month", "close", "2026-03", "--confirm")  # a closed month's: the bridges its close froze
    run(db_url, "month", "pack", "2026-03", "--out", tmp_path / "closed.html", "--rules", rules)
    assert section((tmp_path / "closed.html").read_text(encoding="utf-8"), "bridge") == bridge

    by_service = section(page, "by-service")
    assert "Network and connectivity (NETWORK) 26,904.00 0.00 +26,904.00 new" in by_service
    assert "(DESK) 940.00 940.00 0.00 0.0 %" in by_service
    assert "Total 27,844.00 940.00 +26,904.00 +2862.1 %" in by_service

    movers = section(page, "movers")
    order = [movers.index(code) for code in ("Operations (OPS)", "Finance (FIN)", "Unallocated usage (UNALLOCATED)")]
    assert order == sorted(order)  # the largest change first
    assert "Operations (OPS) 17,285.00 470.00 +16,815.00 +3577.7 %" in movers
    assert "Unallocated usage (UNALLOCATED) 1,681.50 0.00 +1,681.50 new" in movers

    unallocated = section(page, "unallocated")
    assert "Charged to UNALLOCATED (usage no business line could be found for): 1,681.50 USD" in unallocated
    assert "Network and connectivity (NETWORK) 1,681.50" in unallocated

    quarantine = section(page, "quarantine")
    assert "still open: 1" in quarantine and "network not-a-number 1" in quarantine and "usage.csv:5" in quarantine

    levels = section(page, "service-levels")
    assert "(NETWORK) silver Availability 99.9 % 99.6 % every business line at the tier" in levels
    assert "Response time" not in levels  # 45 min meets the 60 min target
    assert "Operations (OPS) Network and connectivity (NETWORK) silver Availability -885.00" in levels
    assert "Finance (FIN) Network and connectivity (NETWORK) silver Availability -442.50" in levels
    assert "Total -1,416.00" in levels

    budget = section(page, "budget")
    assert "FY2026 budget to date (January 2026 to March 2026) 33,000.00 USD" in budget
    assert "Business lines over budget 2 of 3" in budget
    assert "Actual to date 28,784.00 USD" in budget  # February 940.00 + March 27,844.00
    assert "Finance (FIN) 3,000.00 9,347.50 +6,347.50 +211.6 %" in budget  # 470.00 + 8,877.50
    assert "Unallocated usage (UNALLOCATED) 0.00 1,681.50 +1,681.50 no budget" in budget
    assert "Operations (OPS)" not in budget  # 17,755.00 to date against 30,000.00

    recovery = section(page, "recovery")
    printed = run(db_url, "recovery", "--month", "2026-03", "--rules", rules).stdout
    total = next(line.split() for line in printed.splitlines() if line.startswith("TOTAL"))
    cost, recovered, allocated, over_under, pct, overhead = total[1:]
    assert f"IT's cost {cost} USD" in recovery and f"Still in IT's overhead {overhead} USD" in recovery
    assert f"Total {cost} {recovered} {allocated} {over_under} {pct} {overhead}" in recovery
    for service in ("DESK", "NETWORK", "SECURITY", "WAN"):
        row = next(line.split() for line in printed.splitlines() if line.startswith(service + " "))
        assert " ".join(row) in recovery


def test_a_closed_month_without_costs_or_budget_says_so(db_url, tmp_path):
    load_two_business_lines(db_url, tmp_path)
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(db_url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-01-01
    """))
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    out = tmp_path / "pack.html"
    run(db_url, "month", "pack", "2026-03", "--out", out)
    page = out.read_text(encoding="utf-8")
    assert "DRAFT" not in page
    assert "February 2026 was not rated: there is no month before to compare with." in section(page, "bridge")
    assert "Not computed: no actual IT costs are loaded for 2026-03" in section(page, "recovery")
    assert "No budget is loaded for this fiscal year" in section(page, "budget")
    assert "Every measured service level met its target." in section(page, "service-levels")
    assert "still open: 0" in section(page, "quarantine")
    assert "0.00 USD" in section(page, "unallocated")
    assert "month.pack" in run(db_url, "audit").stdout
    unrated = run(db_url, "month", "pack", "2026-05", "--out", tmp_path / "none.html", ok=False)
    assert unrated.exit_code == 1 and "2026-05 has not been rated yet" in unrated.stderr
    assert not (tmp_path / "none.html").exists()


def test_the_pack_as_an_a4_pdf(sqlite_url, tmp_path):
    from reports.browser import find_chromium

    if find_chromium() is None or not all(shutil.which(t) for t in ("pdfinfo", "pdftotext", "pdftoppm")):
        pytest.skip("Chromium or poppler-utils (pdfinfo, pdftotext, pdftoppm) is not installed")
    rules = setup_month(sqlite_url, tmp_path)
    out = tmp_path / "pack.pdf"
    run(sqlite_url, "month", "pack", "2026-03", "--out", out, "--format", "pdf", "--rules", rules)
    assert out.read_bytes().startswith(b"%PDF-")
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert re.search(r"Page size:\s+59[45](\.\d+)? x 84[12](\.\d+)? pts \(A4\)", info), info
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "Month pack · March 2026" in text and "DRAFT: the month is open" in text and f"Page 1 of {pages}" in text
    assert "27,844.00 USD" in text and "Service credits" in text and "Budget position" in text
    subprocess.run(["pdftoppm", "-gray", "-r", "30", "-f", "1", "-l", "1", "-singlefile", str(out), str(tmp_path / "page")],
                   check=True)
    data = (tmp_path / "page.pgm").read_bytes()
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    pixels = data[header.end():]
    assert sum(1 for p in pixels if p < 200) / len(pixels) > 0.01  # the first page is not blank

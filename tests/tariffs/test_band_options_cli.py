"""`chargeback tariffs validate` and `month run` with the band options (docs/pricing.md, "Band
options"): each wrong combination refused with file:line, and a month priced with each option."""

import shutil
from pathlib import Path

import pytest

from tests.cli_helpers import load_two_business_lines, run, write

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tariffs"


def test_the_example_catalogue_uses_every_band_option_and_validates(sqlite_url):
    from tariffs.load import load_catalogue

    catalogue, _ = load_catalogue(EXAMPLES)
    prices = [p for tv in catalogue.tariffs for _, p in tv.prices]
    assert any(p.block_size and p.bands for p in prices)
    assert any(p.exclusive_edges for p in prices)
    assert any(p.fee_at_zero for p in prices)
    assert run(sqlite_url, "tariffs", "validate", EXAMPLES).exit_code == 0


# (a price's text in storage.yaml's 2026.1 silver tier, the key named, words of the hint)
WRONG = [
    ('{model: per_unit, unit_price: "0.20", block_size: 100}', "block_size", "remove block_size"),
    ("{model: pass_through, markup_pct: 5, block_size: 100}", "block_size", "remove block_size"),
    ('{model: volume, block_size: 0, bands: [{up_to: 1000, unit_price: "0.23"}, {unit_price: "0.20"}]}', "block_size",
     "the number of units in one block"),
    ('{model: volume, block_size: 300, bands: [{up_to: 1000, unit_price: "0.23"}, {unit_price: "0.20"}]}', "up_to",
     "multiple of 300"),
    ('{model: per_unit, unit_price: "0.20", band_edges: exclusive}', "band_edges", "graduated or volume"),
    ('{model: per_unit, unit_price: "0.20", flat_fee_at_zero: charged}', "flat_fee_at_zero", "monthly_fee"),
    ('{model: volume, flat_fee_at_zero: charged, bands: [{up_to: 1000, unit_price: "0.23"}, {unit_price: "0.20"}]}',
     "flat_fee_at_zero", "add a flat_fee to the first band"),
]


@pytest.mark.parametrize("price, key, hint", WRONG)
def test_tariffs_validate_refuses_each_wrong_band_option_with_file_line_and_hint(sqlite_url, tmp_path, price, key, hint):
    tariffs = tmp_path / "tariffs"
    shutil.copytree(EXAMPLES, tariffs)
    path = tariffs / "storage.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index('    version: "2026.1"')
    silver = text.index("      silver:", start)
    end = text.index("      bronze:", silver)
    path.write_text(text[:silver] + f"      silver: {price}\n" + text[end:], encoding="utf-8")
    line = text[:silver].count("\n") + 1
    result = run(sqlite_url, "tariffs", "validate", tariffs, ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    [problem] = [p for p in result.stderr.splitlines() if str(path) in p]
    assert problem.startswith(f"{path}:{line}:tariffs[1].tiers.silver") and key in problem and hint in problem, problem


def test_a_month_run_prices_blocks_exclusive_edges_and_the_fee_at_zero(sqlite_url, tmp_path):
    url = sqlite_url
    load_two_business_lines(url, tmp_path)
    run(url, "tariffs", "load", EXAMPLES)
    run(url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,STORAGE,silver,2026-01-01
        FIN,FLEET,gold,2026-01-01
        OPS,VM,gold,2026-01-01
    """))
    run(url, "usage", "load", write(tmp_path / "usage.csv", """
        record_id,usage_date,business_line,service,quantity,unit
        s1,2026-03-10,FIN,STORAGE,1250,gb-month
        f1,2026-03-10,FIN,FLEET,10,vehicle-month
    """), "--source", "ops", "--new-source")
    out = run(url, "month", "run", "2026-03").stdout
    # STORAGE silver 2026.1 in blocks of 100 GB: 1,250 GB is 13 blocks in band 2: 1,300 x 0.20 = 260.00
    # FLEET gold 2026.1 with exclusive edges: 10 vehicles in band 2: 10 x 875.00 = 8,750.00
    # VM gold for OPS, no hours: monthly fee 156.00 + the first band's flat fee 26.00 = 182.00
    assert "2026-03 chargeback: 9,192.00" in out.replace("USD ", "").replace(" USD", ""), out
    # each statement says what happened
    run(url, "statements", "2026-03", "--out", tmp_path / "statements")
    shown = " ".join(path.read_text(encoding="utf-8") for path in (tmp_path / "statements").glob("*.html"))
    assert "1,250 counted in blocks of 100: a started block is charged whole" in shown
    assert "13 blocks of 100 @ 20.00" in shown
    assert "10 is on a band edge, priced in the band above (edges exclusive)" in shown
    assert "the first band&#39;s flat fee, charged at zero usage <span class=\"step-amount\">26.00</span>" in shown
    assert "monthly fee 156.00 <span class=\"step-amount\">156.00</span>" in shown

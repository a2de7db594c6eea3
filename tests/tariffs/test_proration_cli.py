"""`chargeback tariffs validate` and `month run` with a proration convention (docs/pricing.md,
"Proration conventions"): the example catalogue's DESK prorates by a 30-day month with the end
day not charged, a wrong value is refused with file:line, and a mid-month start is priced so."""

import shutil
from pathlib import Path

from tests.cli_helpers import load_two_business_lines, run, write

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tariffs"


def test_the_example_catalogue_uses_a_proration_convention_and_validates(sqlite_url):
    from tariffs.load import load_catalogue

    catalogue, _ = load_catalogue(EXAMPLES)
    desk = next(tv for tv in catalogue.tariffs if tv.service == "DESK" and tv.version == "2026.1")
    assert desk.proration.thirty_day and desk.proration.exclusive_end
    assert run(sqlite_url, "tariffs", "validate", EXAMPLES).exit_code == 0


def test_tariffs_validate_refuses_a_misspelt_proration_with_file_line_and_hint(sqlite_url, tmp_path):
    tariffs = tmp_path / "tariffs"
    shutil.copytree(EXAMPLES, tariffs)
    path = tariffs / "desk.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("proration: {month: thirty_day,", "proration: {month: 30_day,"), encoding="utf-8")
    line = text[:text.index("proration: {month")].count("\n") + 1
    result = run(sqlite_url, "tariffs", "validate", tariffs, ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    [problem] = [p for p in result.stderr.splitlines() if str(path) in p]
    assert problem.startswith(f"{path}:{line}:tariffs[1].proration.month") and "actual, thirty_day" in problem, problem


def test_a_month_run_prorates_a_mid_month_start_by_a_30_day_month(sqlite_url, tmp_path):
    url = sqlite_url
    load_two_business_lines(url, tmp_path)
    run(url, "tariffs", "load", EXAMPLES)
    run(url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from,effective_to
        FIN,DESK,gold,2026-03-16,
        OPS,DESK,silver,2026-01-01,2026-03-10
    """))
    run(url, "usage", "load", write(tmp_path / "usage.csv", """
        record_id,usage_date,business_line,service,quantity,unit
        d1,2026-03-20,FIN,DESK,40,ticket
    """), "--source", "ops", "--new-source")
    out = run(url, "month", "run", "2026-03").stdout
    # FIN gold from 16 March: 16th to 31st is 15 days of a 30-day month (the 31st adds none):
    #   fee 470.00 x 15/30 = 235.00; included 25 x 15/30 = 12.5; (40 - 12.5) x 23.00 = 632.50: 867.50
    #   (actual days would give 16/31: 242.58 + 623.23 = 865.81)
    # OPS silver ending 10 March, the end day not charged: 9/30 x 210.00 = 63.00 (actual, inclusive: 67.74)
    assert "2026-03 chargeback: 930.50" in out.replace("USD ", "").replace(" USD", ""), out

"""Organisation, catalogue and subscriptions through the command, on every store backend."""

import shutil

from tariffs.load import load_catalogue
from tests.cli_helpers import run, write
from tests.conftest import EXAMPLE_TARIFFS


def org_files(tmp_path):
    lines = write(tmp_path / "business_lines.csv", """
        business_line,name,head_name,head_email,division
        FIN,Finance,Ada Lovelace,ada@example.com,Corporate
        OPS,Operations,Grace Hopper,grace@example.com,Operations
    """)
    centers = write(tmp_path / "cost_centers.csv", """
        cost_center,name,business_line,gl_cost_center
        CC-100,Accounting,FIN,100100
        CC-200,Plant,OPS,200100
    """)
    return lines, centers


def test_org_load_twice_updates_in_place(db_url, tmp_path):
    lines, centers = org_files(tmp_path)
    assert "2 added" in run(db_url, "org", "load", lines).stdout
    run(db_url, "org", "load", centers)
    again = run(db_url, "org", "load", lines).stdout
    assert "0 added, 0 updated, 2 unchanged" in again
    listed = run(db_url, "org", "list").stdout
    assert listed.count("FIN") == 1 and "Grace Hopper" in listed


def test_cost_centre_move_is_effective_dated(db_url, tmp_path):
    lines, centers = org_files(tmp_path)
    run(db_url, "org", "load", lines)
    run(db_url, "org", "load", centers)
    moved = write(tmp_path / "moved.csv", """
        cost_center,name,business_line,gl_cost_center,effective_from
        CC-200,Plant,FIN,200100,2026-03-01
    """)
    assert "1 moved" in run(db_url, "org", "load", moved).stdout
    owners = run(db_url, "org", "list", "--cost-centers").stdout
    assert "CC-200       OPS            2000-01-01  2026-02-28" in owners
    assert "CC-200       FIN            2026-03-01" in owners


def test_bad_org_file_lists_every_problem_and_loads_nothing(db_url, tmp_path):
    bad = write(tmp_path / "bad.csv", """
        business_line,name,head_email
        FIN,,ada@example.com
        OPS,Operations,not-an-email
        OPS,Operations again,
    """)
    result = run(db_url, "org", "load", bad, ok=False)
    assert result.exit_code == 1
    assert "bad.csv:2:name: value-missing" in result.stderr
    assert "bad.csv:3:head_email: value-invalid" in result.stderr
    assert "bad.csv:4:business_line: duplicate" in result.stderr
    assert "Traceback" not in result.stderr
    assert "FIN" not in run(db_url, "org", "list").stdout


def test_tariffs_load_show_and_immutability(db_url, tmp_path):
    versions = len(load_catalogue(EXAMPLE_TARIFFS)[0].tariffs)
    result = run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    assert f"tariff versions {versions} added" in result.stdout
    assert f"0 added, 0 updated, {versions} unchanged" in run(db_url, "tariffs", "load", EXAMPLE_TARIFFS).stdout
    shown = run(db_url, "tariffs", "show", "--at", "2026-03-15").stdout
    assert "Virtual machine hosting" in shown and "2026.1" in shown


def test_subscriptions_change_tier_from_a_date(db_url, tmp_path):
    lines, centers = org_files(tmp_path)
    run(db_url, "org", "load", lines)
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    first = write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,silver,2026-01-01
    """)
    run(db_url, "subscriptions", "load", first)
    upgrade = write(tmp_path / "upgrade.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-03-15
    """)
    run(db_url, "subscriptions", "load", upgrade)
    listed = run(db_url, "subscriptions", "list").stdout
    assert "silver  2026-01-01  2026-03-14" in listed
    assert "gold    2026-03-15" in listed


def test_subscription_to_an_unknown_tier_is_refused(db_url, tmp_path):
    lines, _ = org_files(tmp_path)
    run(db_url, "org", "load", lines)
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    bad = write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,platinum,2026-01-01
        XXX,DESK,gold,2026-01-01
    """)
    result = run(db_url, "subscriptions", "load", bad, ok=False)
    assert result.exit_code == 1
    assert "platinum" in result.stderr and "XXX" in result.stderr


def desk_priced_in_march(db_url, tmp_path):
    """A store whose DESK 2026.1 tariff (from a copy of the examples) priced March 2026."""
    lines, centers = org_files(tmp_path)
    run(db_url, "org", "load", lines)
    run(db_url, "org", "load", centers)
    catalogue = tmp_path / "tariffs"
    shutil.copytree(EXAMPLE_TARIFFS, catalogue)
    run(db_url, "tariffs", "load", catalogue)
    write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-01-01
    """)
    run(db_url, "subscriptions", "load", tmp_path / "subs.csv")
    run(db_url, "month", "run", "2026-03")
    return catalogue


def test_a_tariff_version_that_priced_usage_cannot_change(db_url, tmp_path):
    catalogue = desk_priced_in_march(db_url, tmp_path)
    desk = catalogue / "desk.yaml"
    desk.write_text(desk.read_text().replace('"470.00"', '"480.00"', 1))
    refused = run(db_url, "tariffs", "load", catalogue, ok=False)
    assert refused.exit_code == 1
    assert "DESK 2026.1 has already priced usage" in refused.stderr and "add a new version" in refused.stderr


def test_a_version_in_use_may_be_given_an_end_so_a_new_one_can_follow(db_url, tmp_path):
    catalogue = desk_priced_in_march(db_url, tmp_path)
    desk = catalogue / "desk.yaml"
    text = desk.read_text()
    # End 2026.1 on 2026-12-31 and add 2027.1 with a dearer gold fee.
    assert 'version: "2026.1"' in text
    text = text.replace('effective_from: 2026-01-01', 'effective_from: 2026-01-01\n    effective_to: 2026-12-31', 1)
    block = text[text.index('  - service: DESK\n    version: "2026.1"'):]
    text += "\n" + block.replace('version: "2026.1"', 'version: "2027.1"').replace(
        "effective_from: 2026-01-01\n    effective_to: 2026-12-31", "effective_from: 2027-01-01")
    desk.write_text(text)
    result = run(db_url, "tariffs", "load", catalogue).stdout
    assert "1 added, 1 updated" in result
    # Ending it before usage it priced in an open month is allowed: the month is run again.
    earlier = text.replace("effective_to: 2026-12-31", "effective_to: 2026-02-28").replace(
        "effective_from: 2027-01-01", "effective_from: 2026-03-01")
    desk.write_text(earlier)
    assert "0 added, 2 updated" in run(db_url, "tariffs", "load", catalogue).stdout
    run(db_url, "month", "run", "2026-03")
    assert _desk_versions_priced(db_url, "2026-03") == {"2027.1"}
    # Once March is closed, ending the version that priced it inside March is refused.
    run(db_url, "month", "close", "2026-03", "--confirm")
    assert earlier.count("effective_from: 2026-03-01") == 1
    desk.write_text(earlier.replace("effective_from: 2026-03-01", "effective_from: 2026-03-01\n    effective_to: 2026-03-15"))
    refused = run(db_url, "tariffs", "load", catalogue, ok=False)
    assert refused.exit_code == 1 and "DESK 2027.1 has already priced usage" in refused.stderr


def _desk_versions_priced(db_url, month):
    import sqlalchemy as sa

    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return set(connection.execute(sa.text(
                "SELECT DISTINCT v.version FROM charge c JOIN tariff_version v ON v.id = c.tariff_version_id "
                "WHERE c.month = :month AND v.service_code = 'DESK'"), {"month": month}).scalars())
    finally:
        engine.dispose()


def test_org_workbook_with_both_sheets_loads(db_url, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    lines = book.active
    lines.title = "business_lines"
    lines.append(["business_line", "name", "head_name", "head_email", "division"])
    lines.append(["FIN", "Finance", "Ada Lovelace", "ada@example.com", "Corporate"])
    centers = book.create_sheet("cost_centers")
    centers.append(["cost_center", "name", "business_line", "gl_cost_center"])
    centers.append(["CC-100", "Accounting", "FIN", 100100])
    book.save(tmp_path / "org.xlsx")
    out = run(db_url, "org", "load", tmp_path / "org.xlsx").stdout
    assert "business lines 1 added" in out and "cost centres 1 added" in out
    assert "CC-100" in run(db_url, "org", "list", "--cost-centers").stdout

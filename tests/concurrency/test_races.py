"""Two commands at once, in two processes, on every backend: they end as one after the other
would, exactly one winning where only one can, the loser told in one line (tests/concurrency/
racing.py describes the store and the checks; bench/races.py runs 100 of each)."""

import pytest

from tests.concurrency.racing import KINDS, Racers, RaceStore

RACES = 3  # of each kind and backend here; bench/races.py runs 100


@pytest.fixture(scope="module")
def racers():
    with Racers() as started:
        yield started


@pytest.mark.parametrize("kind", list(KINDS))
def test_racing_commands_end_as_one_after_the_other(kind, db_url, tmp_path, racers):
    store = RaceStore(db_url, tmp_path)
    verdicts = [KINDS[kind](store, racers, number) for number in range(RACES)]
    failed = [v for v in verdicts if v.problems]
    assert not failed, "\n".join(v.report() for v in failed)
    assert sum(v.cents_duplicated for v in verdicts) == 0
    assert sum(v.rows_uncovered for v in verdicts) == 0


def test_two_commands_opening_a_new_store_at_once_create_it_once(db_url, racers):
    """Every command upgrades a new store on first use; two at once must not both build it."""
    outcomes = racers.race(["--db", db_url, "db", "upgrade"], ["--db", db_url, "db", "upgrade"])
    assert [o.traceback for o in outcomes] == [None, None]
    assert [o.exit_code for o in outcomes] == [0, 0], [o.stdout + o.stderr for o in outcomes]
    said = sorted(o.stdout.split(": schema ")[1].strip() for o in outcomes)
    assert said == ["already up to date", "upgraded"]

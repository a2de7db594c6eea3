"""The settings as one typed record: each read by its rule, defaults where none is stored."""

from decimal import Decimal

import pytest

from billing.core.problems import ChargebackError
from billing.core.settings import RULES, Settings, read_setting, setting_text


def test_the_defaults_are_the_rules_defaults():
    assert Settings.from_text({}) == Settings()
    assert Settings().texts() == {key: rule.default for key, rule in RULES.items()}


def test_stored_text_is_read_as_the_type_it_is_used_as():
    settings = Settings.from_text({"fiscal_year_start_month": "7", "anomaly_floor_pct": "0.25", "currency": "jpy",
                                   "smtp_starttls": "NO", "smtp_port": "2525", "retired_setting": "x"})
    assert settings.fiscal_year_start_month == 7 and settings.anomaly_floor_pct == Decimal("0.25")
    assert settings.currency == "JPY" and settings.smtp_starttls is False and settings.smtp_port == 2525
    assert settings.texts()["smtp_starttls"] == "no" and settings.texts()["anomaly_floor_pct"] == "0.25"


@pytest.mark.parametrize(("key", "text", "said"), [
    ("fiscal_year_start_month", "13", "a month number from 1 to 12"),
    ("anomaly_pct", "-5", "must be a positive number, e.g. 25"),
    ("low_usage_pct", "150", "from 0 to 100"),
    ("currency", "dollars", "three-letter ISO code"),
    ("expense_account", "-4711", "cannot go to the GL journal"),
    ("smtp_port", "0", "a port number from 1 to 65535"),
    ("smtp_starttls", "maybe", "must be yes"),
    ("no_such_setting", "1", "unknown setting 'no_such_setting'; known settings: fiscal_year_start_month"),
])
def test_a_wrong_value_is_refused_saying_what_to_write(key, text, said):
    with pytest.raises(ChargebackError, match=said):
        read_setting(key, text)


def test_a_value_is_stored_as_it_is_read_back():
    for key, rule in RULES.items():
        assert read_setting(key, setting_text(read_setting(key, rule.default))) == read_setting(key, rule.default)

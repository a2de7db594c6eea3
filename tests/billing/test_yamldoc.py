"""Reading a YAML document with its line numbers, and the problems the shared reader reports."""

from __future__ import annotations

import datetime as dt
import enum
import textwrap
from decimal import Decimal

from billing.core.problems import ProblemCode, Severity
from billing.core.yamldoc import NOT_YAML, DocumentReader, YamlList, YamlMap, describe, did_you_mean, join, line_of, plain


def parse(text: str, reader: DocumentReader | None = None):
    reader = reader or DocumentReader("t.yaml")
    return reader.parse(textwrap.dedent(text).lstrip("\n")), reader


def found(reader: DocumentReader) -> list[tuple[str, int | None, str | None]]:
    return [(p.code.value, p.source.row, p.source.location) for p in reader.problems]


def test_values_remember_the_lines_of_keys_items_and_values():
    document, reader = parse("""
        # a comment
        tariffs:
          - service: VM
            tiers:
              gold:
                unit_price:
                  "0.12"
    """)
    assert reader.problems == [] and reader.document_line == 2
    assert isinstance(document, YamlMap) and isinstance(document["tariffs"], YamlList)
    tariff = document["tariffs"][0]
    assert (document.line, document.lines["tariffs"], document["tariffs"].lines) == (2, 2, [3])
    assert (tariff.line, tariff.lines["tiers"], tariff["tiers"]["gold"].lines["unit_price"]) == (3, 4, 6)
    assert tariff["tiers"]["gold"].value_lines["unit_price"] == 7  # the value is on the line after its key
    assert line_of(tariff, "service") == 3 and line_of(tariff, "missing") == 3 and line_of(tariff) == 3
    assert line_of(document["tariffs"], 0) == 3 and line_of("VM") is None


def test_numbers_keep_their_text_and_other_scalars_are_what_yaml_makes_of_them():
    document, _ = parse("""
        unit_price: 0.10
        version: 2026.10
        included: 1_000
        active: no
        effective_from: 2026-01-01
        empty:
    """)
    assert document == {"unit_price": "0.10", "version": "2026.10", "included": "1_000", "active": False,
                        "effective_from": dt.date(2026, 1, 1), "empty": None}


def test_a_key_written_twice_is_reported_and_the_first_one_kept():
    document, reader = parse("""
        currency: EUR
        currency: USD
    """)
    assert document == {"currency": "EUR"}
    assert found(reader) == [("duplicate", 2, "currency")]
    assert reader.problems[0].hint == "keep one 'currency'; YAML would silently use the last one"


def test_merges_are_resolved_and_a_key_that_is_not_a_word_is_reported():
    document, reader = parse("""
        base: &base {unit_price: "1.00", flat_fee: "5"}
        band:
          <<: *base
          up_to: "10"
        ? [a, b]
        : x
    """)
    assert document["band"] == {"unit_price": "1.00", "flat_fee": "5", "up_to": "10"}
    assert found(reader) == [("value-invalid", 5, None)]
    assert reader.problems[0].message == "a key must be a plain word"


def test_text_that_is_not_yaml_is_one_problem_at_the_line_yaml_stopped():
    document, reader = parse("""
        units:
          - code: GB
           name: "Gigabyte
    """)
    assert document is NOT_YAML
    (problem,) = reader.problems
    assert (problem.code, problem.source.row, problem.source.location) == (ProblemCode.FILE_UNREADABLE, 3, None)
    assert problem.message.startswith("not valid YAML: ") and "quotes" in problem.hint


def test_not_yaml_says_what_yaml_was_reading_when_asked():
    plain_reader, context_reader = DocumentReader("t.yaml"), DocumentReader("t.yaml")
    plain_reader.parse('name: "open', code=ProblemCode.VALUE_INVALID, hint=None)
    context_reader.parse('name: "open', context=True)
    assert plain_reader.problems[0].message == "not valid YAML: found unexpected end of stream"
    assert plain_reader.problems[0].code is ProblemCode.VALUE_INVALID and plain_reader.problems[0].hint is None
    assert context_reader.problems[0].message == "not valid YAML: while scanning a quoted scalar found unexpected end of stream"


def test_an_empty_text_has_no_document_and_a_lone_scalar_has_a_line():
    assert parse("# nothing here\n")[0] is None and parse("# nothing here\n")[1].document_line is None
    document, reader = parse("# a comment\n\nhello\n")
    assert (document, reader.document_line) == ("hello", 3)


class _LastWins(DocumentReader):
    merge_keys = False

    def scalar(self, node, loader):
        return node.value  # every value as written

    def duplicate_key(self, mapping, key, location, line):
        return True


def test_a_loader_chooses_how_scalars_duplicates_and_merges_are_read():
    document, reader = parse("""
        base: &b {x: 1}
        move: {tier: no, from: 2027-04-01}
        move: {tier: silver}
        other:
          <<: *b
    """, _LastWins("s.yaml"))
    assert reader.problems == []
    assert document["move"] == {"tier": "silver"} and document.lines["move"] == 3
    assert document["other"] == {"<<": {"x": "1"}}
    assert parse("a: [no, 2027-04-01, ~]", _LastWins("s.yaml"))[0] == {"a": ["no", "2027-04-01", "~"]}


_BAND = (("unit_price",), ("up_to", "flat_fee"))


def test_mapping_reports_unknown_and_missing_keys_at_their_lines():
    document, reader = parse("""
        bands:
          - up_to: 100
            flat_fe: 5
    """)
    band = reader.mapping(document["bands"][0], "bands[0]", 2, _BAND, "band")
    assert band == {"up_to": "100", "flat_fe": "5"}  # read on, so every problem in it is found
    assert found(reader) == [("unknown-key", 3, "bands[0].flat_fe"), ("value-missing", 2, "bands[0].unit_price")]
    unknown, missing = reader.problems
    assert unknown.hint == "did you mean 'flat_fee'? allowed keys: unit_price, up_to, flat_fee"
    assert missing.hint == "add 'unit_price:' to the band"
    assert reader.fatal == 1  # an unknown key does not stop the record


def test_mapping_of_something_else_shows_what_to_write():
    reader = DocumentReader("t.yaml")
    assert reader.mapping(["x"], "bands[0]", 4, _BAND, "band") is None
    assert reader.mapping("x", "service_level", 7, ((), ("availability_pct", "response_minutes", "x")), "level") is None
    first, second = reader.problems
    assert (first.message, first.source.row, first.hint) == ("band must be a mapping of keys, not a list", 4,
                                                             "write it as {unit_price: ...}")
    assert second.hint == "write it as {availability_pct: ..., response_minutes: ...}"


class _Strict(DocumentReader):
    empty_is_missing = True
    read_incomplete = False


def test_a_stricter_loader_treats_empty_text_as_missing_and_stops_at_a_missing_key():
    document, reader = parse("""
        pool: {code: "", name: Labour}
    """, _Strict("rules.yaml"))
    assert reader.mapping(document["pool"], "pools[0]", 1, (("code", "name"), ()), "cost pool") is None
    assert found(reader) == [("value-missing", 1, "pools[0].code")]


def test_items_and_entries_give_each_value_its_location_and_line():
    document, reader = parse("""
        bands:
          - {up_to: 10}
          - {up_to: 20}
        tiers:
          gold: {model: flat}
          silver: {model: flat}
        credits: 5
    """)
    assert [(p, ln) for _, p, ln in reader.items(document, "bands", "tariffs[0]", "bands")] == [
        ("tariffs[0].bands[0]", 2), ("tariffs[0].bands[1]", 3)]
    assert [(k, p, ln) for k, _, p, ln in reader.entries(document, "tiers", "", "tier")] == [
        ("gold", "tiers.gold", 5), ("silver", "tiers.silver", 6)]
    assert reader.items(document, "credits", "", "bands") == [] and reader.entries(document, "credits", "", "tier") == []
    assert reader.items(document, "absent", "", "bands") == []
    assert [(p.message, p.source.row, p.hint) for p in reader.problems] == [
        ("credits must be a list of bands, not '5'", 7, "write each of the bands on its own '- ' line"),
        ("credits must be a mapping of tier, not '5'", 7, "write it as 'credits:' then one '<tier>: ...' per line"),
    ]


class PricingModel(enum.StrEnum):
    FLAT = "flat"
    GRADUATED = "graduated"


def test_typed_fields_and_the_hints_for_each_mistake():
    document, reader = parse("""
        code: no
        name: " Virtual machine "
        unit_price: 1,250.00
        flat_fee: "12.50"
        effective_from: 31/12/2026
        effective_to: 2026-12-31
        model: graduate
    """)
    assert reader.text(document, "name", "") == "Virtual machine" and reader.text(document, "absent", "") is None
    assert reader.text(document, "code", "") is None
    assert reader.number(document, "flat_fee", "") == Decimal("12.50") and reader.number(document, "absent", "") is None
    assert reader.number(document, "unit_price", "") is None
    assert reader.date(document, "effective_to", "") == dt.date(2026, 12, 31)
    assert reader.date(document, "effective_from", "") is None
    assert reader.choice(document, "model", "", PricingModel) is None
    assert [(p.code.value, p.source.row, p.message, p.hint) for p in reader.problems] == [
        ("value-invalid", 1, "code must be text, not yes/no (False)", 'write it in quotes, e.g. code: "no"'),
        ("not-a-number", 3, "unit_price is not a number: '1,250.00'",
         'write a plain number such as 0.12 or "1250.00" (no currency sign, no thousands separator)'),
        ("not-a-date", 5, "effective_from is not a date: '31/12/2026'",
         "write the date as YYYY-MM-DD, e.g. effective_from: 2026-01-01"),
        ("value-invalid", 7, "model 'graduate' is not one of flat, graduated",
         "did you mean 'graduated'? write one of: flat, graduated"),
    ]


def test_a_required_number_that_is_missing_is_reported_under_its_own_name():
    document, reader = parse("""
        to: {service:VM: , overhead: 40}
    """)
    assert reader.number(document["to"], "overhead", "to") == Decimal(40)
    assert reader.number(document["to"], "service:VM", "to", what="percentage for service:VM", required=True) is None
    assert [(p.source.location, p.message) for p in reader.problems] == [
        ("to.service:VM", "percentage for service:VM is not a number: 'None'")]


def test_report_ref_and_keep():
    reader = DocumentReader("vm.yaml")
    before = reader.fatal
    reader.report(ProblemCode.FILE_EMPTY, "the file is empty", "", None, severity=Severity.WARNING, fatal=False)
    assert reader.keep("record", before) == "record"
    reader.report(ProblemCode.VALUE_MISSING, "band has no unit_price", "bands[0].unit_price", 4, "add it")
    assert reader.keep("record", before) is None
    assert [p.render() for p in reader.problems] == [
        "warning: vm.yaml: file-empty the file is empty",
        "vm.yaml:4:bands[0].unit_price: value-missing band has no unit_price (add it)",
    ]
    assert reader.ref("", 3).location is None and reader.ref("tiers.gold", 3).render() == "vm.yaml:3:tiers.gold"


def test_small_helpers():
    assert (join("", "tiers"), join("tiers", "gold"), join("bands", 0)) == ("tiers", "tiers.gold", "bands.0")
    assert [describe(v) for v in (None, True, {}, [], dt.datetime(2026, 1, 1), dt.date(2026, 1, 1), "x")] == [
        "nothing", "yes/no (True)", "a mapping", "a list", "a date and time", "a date", "'x'"]
    assert (plain(False), plain(dt.date(2026, 1, 2)), plain("0.10")) == ("no", "2026-01-02", "0.10")
    assert did_you_mean("tarifs", ("units", "tariffs"), "allowed keys") == "did you mean 'tariffs'? allowed keys: units, tariffs"
    assert did_you_mean("zzz", ("units",), "allowed keys") == "allowed keys: units"

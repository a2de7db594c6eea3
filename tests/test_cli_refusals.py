"""The command line says what a refusal or a problem asks for as its own options."""

from billing.core.problems import Ask, Asked, ChargebackError, Problem, ProblemCode, SourceRef
from cli import refusal_text


def test_a_refusal_ends_with_the_options_it_asks_for():
    assert refusal_text(ChargebackError("a credit or debit note needs a reason", asks_for=(Ask.REASON,))) == (
        "a credit or debit note needs a reason (--reason)")
    assert refusal_text(ChargebackError("a debit note needs an amount or a quantity", asks_for=(Ask.AMOUNT, Ask.QUANTITY),
                                        either=True)) == "a debit note needs an amount or a quantity (--amount or --quantity)"
    assert refusal_text(ChargebackError("load it without declaring a new source",
                                        asks_for=(Asked(Ask.NEW_SOURCE, drop=True),))).endswith("(drop --new-source)")
    assert refusal_text(ChargebackError("the month is closed")) == "the month is closed"


def test_a_problem_s_hint_ends_with_the_options_it_asks_for():
    from cli import options_text

    problem = Problem(code=ProblemCode.WRONG_DELIMITER, message="the values are separated by semicolons",
                      source=SourceRef(file="usage.csv", row=1), hint="load it with the delimiter ';'",
                      asks_for=(Asked(Ask.DELIMITER, "';'"),))
    assert problem.render() == "usage.csv:1: wrong-delimiter the values are separated by semicolons (load it with the delimiter ';')"
    assert problem.render(options_text).endswith("(load it with the delimiter ';': --delimiter ';')")

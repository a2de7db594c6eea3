"""The ``chargeback`` command: parse, call one job, print.

Every command that touches the store runs in one transaction: it commits when the command
succeeds and leaves the store as it was when it fails or is interrupted.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import click

from billing.api import Store
from billing.core.problems import Ask, Asked, ChargebackError, NeedsConfirmation, Problem, ProblemsError, excerpt, printable
from billing.core.money import amount_text
from reports.text import quantity as quantity_text

def default_tariffs() -> Path:
    from billing.jobs.workspace import default_dir

    return default_dir("tariffs")


DEFAULT_TARIFFS_SHOWN = "tariffs/ here, else examples/tariffs"


# --- output, error handling and the store, in one place --------------------------------------


LINE_WIDTH = 2_000
"""The longest line printed; any input value in a line is a short excerpt already."""


class Refusal(click.ClickException):
    """A one-line error (exit 1) whose message, which may quote input, is printed safe like :func:`echo`."""

    def __init__(self, message: str):
        super().__init__(printable(excerpt(message, LINE_WIDTH)))


def echo(line: object = "", *, err: bool = False) -> None:
    """Print one line of output. Any line may hold input values (names, codes, paths, a reason,
    a message about a row), so each is printed safe: control characters (a terminal escape
    sequence, a carriage return that would overwrite the line) and invisible format characters
    are shown escaped (:func:`billing.core.problems.printable`), and an overlong line is cut."""
    click.echo(printable(excerpt(str(line), LINE_WIDTH)), err=err)


OPTION = {
    Ask.REASON: "--reason", Ask.LINE: "--line", Ask.AMOUNT: "--amount", Ask.QUANTITY: "--quantity",
    Ask.DEBIT: "--debit", Ask.CONFIRM: "--confirm", Ask.STRICT: "--strict", Ask.REPLACE: "--replace",
    Ask.SOURCE: "--source", Ask.NEW_SOURCE: "--new-source", Ask.SOURCES: "--sources",
    Ask.ALLOW_OTHER_SOURCE: "--allow-other-source", Ask.DELIMITER: "--delimiter", Ask.DECIMAL: "--decimal",
    Ask.ROLE: "--role", Ask.BUSINESS_LINES: "--line", Ask.READ_ONLY: "--read-only", Ask.NAME: "--name",
    Ask.MONTHS: "--months", Ask.STORE: "--db", Ask.DRY_RUN: "--dry-run", Ask.FOLDER: "--out",
    Ask.ATTACH_HTML: "--attach html", Ask.LOCAL_ENGINE: "--engine local",
}
"""What the engine asks for (billing.core.problems.Ask), as the command's options."""


def options_text(asks: Sequence[Asked], either: bool = False) -> str:
    """``--delimiter ';' --decimal comma``: what a refusal or a problem asks for, as options
    (``--amount or --quantity`` when they are alternatives)."""
    return (" or " if either else " ").join(("drop " if a.drop else "") + OPTION[a.ask] + (f" {a.value}" if a.value else "")
                                            for a in asks)


def refusal_text(exc: ChargebackError) -> str:
    """A refusal's message with the options it asks for: ``... needs a reason (--reason)``."""
    return f"{exc} ({options_text(exc.asks_for, exc.asks_either)})" if exc.asks_for else str(exc)


class ChargebackGroup(click.Group):
    """Turns the engine's refusals into one-line errors and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ProblemsError as exc:
            print_problems(exc.problems)
            raise Refusal(refusal_text(exc)) from None
        except NeedsConfirmation as exc:
            for reason in exc.reasons:
                echo(f"warning: {reason}", err=True)
            raise Refusal(refusal_text(exc)) from None
        except ChargebackError as exc:
            raise Refusal(refusal_text(exc)) from None
        except KeyboardInterrupt:
            echo("interrupted: nothing was changed", err=True)
            sys.exit(130)
        except Exception as exc:
            from sqlalchemy.exc import DBAPIError

            if isinstance(exc, DBAPIError):  # the database failed under the command: it was rolled back
                reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
                raise Refusal(f"the database failed: {reason}; nothing was changed") from None
            raise


def print_problems(problems: list[Problem], *, limit: int | None = None, total: int | None = None, see_all: str = "") -> None:
    """Print problems; past ``limit`` say how many more there are (``total`` when only some
    were kept) and how to see them all (``see_all``)."""
    shown = problems if limit is None else problems[:limit]
    for problem in shown:
        echo(problem.render(options_text), err=True)
    hidden = (len(problems) if total is None else total) - len(shown)
    if hidden > 0:
        echo(f"... and {hidden:,} more not shown" + (f": see them all with {see_all}" if see_all else ""), err=True)


def say_waiting(what: str, seconds: float) -> None:
    click.echo(f"waiting for another command that is writing {what} (up to {seconds:g} s; "
               f"CHARGEBACK_LOCK_WAIT sets how long) ...", err=True)


def with_store(command: Callable | None = None, *, creates: bool = False) -> Callable:
    """Give the command ``session`` as its first argument, inside one transaction.

    The store is opened only after click has checked every argument, so a bad argument
    never touches it. Only commands that load input (``creates=True``) may create a store
    that does not exist yet; the others refuse one, so a mistyped ``--db`` creates nothing.
    """
    if command is None:
        return functools.partial(with_store, creates=creates)

    @functools.wraps(command)
    @click.pass_obj
    def wrapper(store: Store, *args, **kwargs):
        with store.transaction(create=creates) as session:
            return command(session, *args, **kwargs)

    return wrapper


class MonthType(click.ParamType):
    """``YYYY-MM``, checked (and normalised) before the command runs: a usage error, exit 2."""

    name = "YYYY-MM"

    def convert(self, value, param, ctx):
        from billing.core.periods import parse_month

        try:
            return parse_month(str(value))
        except ChargebackError as exc:
            self.fail(str(exc), param, ctx)


class DecimalType(click.ParamType):
    """An exact decimal number written as text (never a float)."""

    name = "NUMBER"

    def convert(self, value, param, ctx):
        from billing.core.money import D

        if isinstance(value, Decimal):
            return value
        try:
            return D(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a number", param, ctx)


class DelimiterType(click.ParamType):
    """The character between a CSV file's values: ``,``, ``;``, ``tab`` or ``|``."""

    name = "CHAR"

    def convert(self, value, param, ctx):
        from billing.files.dialect import parse_delimiter

        try:
            return parse_delimiter(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


MONTH = MonthType()
NUMBER = DecimalType()
DELIMITER = DelimiterType()
INPUT_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
INPUT_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


class UsagePath(click.Path):
    """A file or directory that exists, or a glob that matches a file (``usage/*.csv``)."""

    def __init__(self) -> None:
        super().__init__(exists=True, path_type=Path)

    def convert(self, value, param, ctx):
        text = str(value)
        if any(c in text for c in "*?[") and not Path(text).exists():
            from billing.jobs.usage_spark import usage_files

            try:
                usage_files(text)
            except ChargebackError as exc:
                self.fail(str(exc), param, ctx)
            return Path(text)
        return super().convert(value, param, ctx)


def echo_table(headers: list[str], rows: list[list[object]], *, right: set[int] = frozenset()) -> None:
    from reports.text import table_lines

    for line in table_lines(headers, rows, right=right):
        echo(line)


month_argument = click.argument("month", metavar="YYYY-MM", type=MONTH)
rules_option = click.option("--rules", "rules_path", type=click.Path(exists=True, path_type=Path), default=None, envvar="CHARGEBACK_ALLOCATION",
                            help="Allocation rules: a YAML file or a folder of them. Default: allocation/ here, else examples/allocation.")


# --- the command -------------------------------------------------------------------------------


@click.group(cls=ChargebackGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--db", envvar="CHARGEBACK_DB", default=None, metavar="URL",
              help="Database URL (sqlite:///file.db or postgresql://host/db). Default: chargeback.db here; env CHARGEBACK_DB.")
@click.version_option(package_name="chargeback")
@click.pass_context
def chargeback(ctx: click.Context, db: str | None) -> None:
    """Chargeback and service-tier billing: price IT and shared services to the business lines
    that use them, close the month, and plan next year."""
    ctx.obj = Store(db, on_wait=say_waiting)  # the store --db names (billing.api.Store), opened on first use
    ctx.call_on_close(ctx.obj.close)


# --- db --------------------------------------------------------------------------------------


@chargeback.group()
def db() -> None:
    """The database: create or upgrade its schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(store: Store) -> None:
    """Create the schema or bring it to the newest version (also done on first use)."""
    from billing.store.db import upgrade_store

    engine, applied = upgrade_store(store.url)
    echo(f"{engine.url.render_as_string()}: schema {'upgraded' if applied else 'already up to date'}")


@chargeback.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def init(folder: Path) -> None:
    """Write a working folder to start from: the example catalogue (tariffs/), source definitions
    (sources/), allocation rules and scenarios, a small sample organisation, subscriptions and a
    month of usage, and a README with the commands to run there. FOLDER must be new or empty."""
    from billing.jobs.workspace import init_workspace

    written = init_workspace(folder)
    click.echo(f"{written.folder}: {len(written.files)} files written; next: cd {written.folder} and follow its README.md "
               f"(the store is created there, as chargeback.db, by the first load)")


# --- settings and audit --------------------------------------------------------------------


@chargeback.group()
def settings() -> None:
    """Engine settings: fiscal year start, currency, GL accounts, anomaly threshold."""


@settings.command("show")
@with_store
def settings_show(session) -> None:
    """Print every setting and its value."""
    from billing.jobs.listing import setting_texts

    echo_table(["setting", "value"], [[k, v] for k, v in setting_texts(session).items()])


def _checked_setting(ctx: click.Context, _param, value: str) -> str:
    from billing.jobs.settings import check_setting

    try:
        return check_setting(ctx.params["key"], value)
    except ChargebackError as exc:
        raise click.BadParameter(str(exc)) from None


@settings.command("set")
@click.argument("key")
@click.argument("value", callback=_checked_setting)
@with_store(creates=True)
def settings_set(session, key: str, value: str) -> None:
    """Change one setting, e.g. `settings set fiscal_year_start_month 4`."""
    from billing.jobs.settings import change_setting

    change_setting(session, key, value)
    echo(f"{key} = {value}")


# --- people and API tokens (the portal and the API) --------------------------------------------


ROLES = click.Choice(["finance", "head", "planner", "auditor", "admin"])


@chargeback.group()
def users() -> None:
    """People who sign in to the portal: add, disable, reset a password, list (docs/security.md)."""


@users.command("add")
@click.argument("name")
@click.option("--role", "roles", type=ROLES, multiple=True, required=True,
              help="A role the person holds (repeat for more): finance, head, planner, auditor, admin.")
@click.option("--line", "lines", multiple=True, metavar="CODE",
              help="A business line a head heads (repeat for more); only with --role head.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input instead of making a one-time password.")
@click.pass_obj
def users_add(store: Store, name: str, roles: tuple[str, ...], lines: tuple[str, ...], password_stdin: bool) -> None:
    """Add a person; prints a one-time password, changed at the first sign-in."""
    from billing import api

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    made = api.add_user(store, name, roles=roles, lines=lines, password=password)
    if password_stdin:
        echo(f"{made.user} added; the password given must be changed at the first sign-in")
    else:
        echo(f"{made.user} added; one-time password (shown once, changed at the first sign-in): {made.password}")


@users.command("disable")
@click.argument("name")
@click.pass_obj
def users_disable(store: Store, name: str) -> None:
    """Disable a person: they can no longer sign in, and every session they have open ends."""
    from billing import api

    ended = api.disable_user(store, name)
    echo(f"{name} disabled; {ended} open session(s) ended")


@users.command("reset")
@click.argument("name")
@click.pass_obj
def users_reset(store: Store, name: str) -> None:
    """Give a person a new one-time password; every session they have open ends."""
    from billing import api

    made = api.reset_password(store, name)
    echo(f"{made.user}: new one-time password (shown once, changed at the first sign-in): {made.password}; "
         f"{made.sessions_revoked} open session(s) ended")


@users.command("list")
@click.pass_obj
def users_list(store: Store) -> None:
    """List the people, their roles, the lines a head heads, state and open sessions."""
    from billing import api

    rows = [[u.name, ", ".join(u.roles), ", ".join(u.lines), "disabled" if u.disabled else
             ("must change password" if u.must_change_password else "active"),
             "single sign-on" if u.single_sign_on else "password", u.sessions, f"{u.created_at:%Y-%m-%d}"]
            for u in api.users(store)]
    echo_table(["user", "roles", "lines", "state", "signs in", "sessions", "added"], rows, right={5})


@chargeback.group()
def tokens() -> None:
    """API tokens: for one usage source, or read-only; shown once, kept hashed, revocable."""


@tokens.command("add")
@click.option("--name", required=True, help="Who uses the token, e.g. 'ServiceNow export' (shown in tokens list).")
@click.option("--source", "source_name", default=None, help="The usage source the token may send batches for.")
@click.option("--read-only", is_flag=True, help="A token that reads charges and invoices and sends nothing.")
@click.pass_obj
def tokens_add(store: Store, name: str, source_name: str | None, read_only: bool) -> None:
    """Make an API token and print it once (only its hash is kept)."""
    from billing import api

    made = api.add_token(store, name=name, source=source_name, read_only=read_only)
    what = f"usage source {made.token.source}" if made.token.source else "reading"
    echo(f"token {made.token.id} for {what} (shown once, keep it safe): {made.secret}")


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=click.IntRange(min=1))
@click.pass_obj
def tokens_revoke(store: Store, token_id: int) -> None:
    """Revoke an API token: it is refused from the next request on."""
    from billing import api

    revoked = api.revoke_token(store, token_id)
    echo(f"token {revoked.id} ({revoked.name}) revoked")


@tokens.command("list")
@click.pass_obj
def tokens_list(store: Store) -> None:
    """List the API tokens (never their secret): scope, source, state."""
    from billing import api

    rows = [[t.id, t.prefix + "…", t.name, t.scope.value, t.source or "", "revoked" if t.revoked_at else "active",
             f"{t.created_at:%Y-%m-%d}"] for t in api.tokens(store)]
    echo_table(["id", "token", "name", "scope", "source", "state", "made"], rows, right={0})


@chargeback.command("serve")
@click.option("--host", default="127.0.0.1", help="The address to listen on (127.0.0.1: this machine only).")
@click.option("--port", default=8000, type=click.IntRange(1, 65535), help="The port to listen on.")
@click.option("--workers", default=1, type=click.IntRange(1, 32), show_default=True,
              help="Server processes answering side by side (pages are rendered in Python: one process "
                   "serves one request's work at a time); they share the CSRF key and the store.")
@click.option("--sso", "sso_file", type=INPUT_FILE, default=None,
              help="Single sign-on with an OpenID Connect provider: its settings (YAML: issuer, client_id, the roles "
                   "claim and what each value gives; docs/security.md); the client secret is read from "
                   "CHARGEBACK_SSO_CLIENT_SECRET.")
@click.pass_obj
def serve(store: Store, host: str, port: int, workers: int, sso_file: Path | None) -> None:
    """Run the portal and the API (uvicorn) on the store --db names; stop with Ctrl-C."""
    import uvicorn

    from billing import api
    from portal.app import create_app, shared_settings

    sso = api.read_sso(sso_file) if sso_file else None  # every problem of the file, before listening
    app = create_app(store.url, sso=sso)  # refuses a store that is not there, before listening
    echo(f"portal on http://{host}:{port}/ (sign in as a user from `chargeback users add`"
         + (f", or with {sso.label}" if sso else "") + "; Ctrl-C stops it)")
    options = {"host": host, "port": port, "log_level": "warning", "server_header": False, "proxy_headers": False}
    if workers == 1:
        uvicorn.run(app, **options)
        return
    app.state.portal.store.close()
    # the worker processes read the store, the CSRF key and the single sign-on settings from here
    os.environ.update(shared_settings(store.url, str(sso_file.resolve()) if sso_file else None))
    uvicorn.run("portal.app:create_app_from_environment", factory=True, workers=workers, **options)


@chargeback.command("audit")
@click.option("--limit", default=50, type=click.IntRange(min=1), help="How many events, newest first.")
@with_store
def audit_log(session, limit: int) -> None:
    """Who loaded, ran, closed, reopened or adjusted what, and when."""
    from billing.jobs.listing import audit_trail

    trail = audit_trail(session, limit=limit)
    echo_table(["when", "who", "action", "subject", "detail"],
               [[e.at.strftime("%Y-%m-%d %H:%M:%S"), e.user, e.action, e.subject, e.detail or ""] for e in trail.events])
    hidden = trail.older
    if hidden > 0:
        echo(f"... and {hidden:,} older event(s) not shown: see them with `chargeback audit --limit {limit + hidden}`", err=True)


# --- organisation ----------------------------------------------------------------------------


@chargeback.group()
def org() -> None:
    """Business lines and cost centres."""


@org.command("load")
@click.argument("file", type=INPUT_FILE)
@with_store(creates=True)
def org_load(session, file: Path) -> None:
    """Load business lines or cost centres from CSV or .xlsx (again = update in place).

    \b
    Business lines: business_line, name; optional head_name, head_email, division.
    Cost centres:   cost_center, name, business_line, gl_cost_center; optional
                    effective_from (YYYY-MM-DD, the owner from that day: a move).
    A workbook may hold both, on sheets business_lines and cost_centers (docs/inputs.md)."""
    from billing.jobs.org import load_org

    result = load_org(session, file)
    b, c = result.business_lines, result.cost_centers
    echo(
        f"{file}: business lines {len(b.added)} added, {len(b.updated)} updated, {b.unchanged} unchanged; "
        f"cost centres {len(c.added)} added, {len(c.updated)} updated, {len(c.moved)} moved, {c.unchanged} unchanged"
    )


@org.command("list")
@click.option("--cost-centers", is_flag=True, help="List cost centres and their owners instead.")
@with_store
def org_list(session, cost_centers: bool) -> None:
    """Print business lines (or cost centres with their effective-dated owners)."""
    from billing.jobs.listing import business_lines, cost_centre_owners

    if cost_centers:
        echo_table(["cost centre", "business line", "from", "to"],
                   [[o.cost_center, o.business_line, o.effective_from, o.effective_to or ""] for o in cost_centre_owners(session)])
    else:
        echo_table(["code", "name", "head", "division"],
                   [[b.code, b.name, b.head_name or "", b.division or ""] for b in business_lines(session)])


# --- catalogue, tariffs, subscriptions -------------------------------------------------------


@chargeback.group()
def tariffs() -> None:
    """The service catalogue and its versioned tariffs (YAML files)."""


tariff_dir = click.argument("directory", required=False, default=default_tariffs, envvar="CHARGEBACK_TARIFFS", type=INPUT_DIR)


@tariffs.command("validate")
@tariff_dir
def tariffs_validate(directory: Path) -> None:
    """Check every tariff file in DIRECTORY and report every problem at once.

    DIRECTORY defaults to tariffs/ here (as `chargeback init` writes it), else examples/tariffs."""
    from billing.jobs.catalogue import check_catalogue
    from billing.core.problems import errors

    catalogue, problems = check_catalogue(directory)
    print_problems(problems)
    if errors(problems):
        raise Refusal(f"{directory}: {len(errors(problems))} problem(s)")
    models = {p.model for v in catalogue.tariffs for _, p in v.prices}
    echo(
        f"{directory}: OK - {len(catalogue.services)} services, "
        f"{sum(len(s.tiers) for s in catalogue.services)} tiers, {len(catalogue.tariffs)} tariff versions, "
        f"{len(models)} pricing models, {_agreements_text(len(catalogue.agreements))}"
    )


def _agreements_text(count: int) -> str:
    return f"{count} agreement{'s' if count != 1 else ''}"


@tariffs.command("load")
@tariff_dir
@with_store(creates=True)
def tariffs_load(session, directory: Path) -> None:
    """Validate DIRECTORY and store its services and tariff versions.

    DIRECTORY defaults to tariffs/ here (as `chargeback init` writes it), else examples/tariffs."""
    from billing.jobs.catalogue import load_tariffs

    c = load_tariffs(session, directory)
    echo(
        f"{directory}: services {len(c.services_added)} added, {len(c.services_updated)} updated; "
        f"tariff versions {len(c.versions_added)} added, {len(c.versions_updated)} updated, {c.versions_unchanged} unchanged; "
        f"{_agreements_text(c.agreements)} stored (replacing {c.agreements_before})"
    )


@tariffs.command("show")
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Date (YYYY-MM-DD); default today.")
@with_store
def tariffs_show(session, at: dt.datetime | None) -> None:
    """Print the rate card in force on a date."""
    from billing.jobs.catalogue import rate_card
    from tariffs.pricing import describe_price

    day = at.date() if at else dt.date.today()
    rows = [[line.service.code, line.service.name, line.tier.name, line.version.version if line.version else "-",
             line.version.currency if line.version else "",
             describe_price(line.price, line.service.unit) if line.price else "no tariff in force"]
            for line in rate_card(session, day)]
    echo(f"Rate card in force on {day}")
    echo_table(["service", "name", "tier", "version", "currency", "price"], rows)


@chargeback.group()
def subscriptions() -> None:
    """Which business line takes which service at which tier."""


@subscriptions.command("load")
@click.argument("file", type=INPUT_FILE)
@with_store(creates=True)
def subscriptions_load(session, file: Path) -> None:
    """Load subscriptions: which business line takes which service at which tier, and when.

    \b
    Columns: business_line, service, tier, effective_from (YYYY-MM-DD); optional
    effective_to (inclusive; empty = open-ended). CSV or .xlsx (docs/inputs.md)."""
    from billing.jobs.catalogue import load_subscription_file

    result = load_subscription_file(session, file)
    echo(f"{file}: {result.read} rows read; {result.total} subscriptions stored")


@subscriptions.command("list")
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Only those in force on this date.")
@with_store
def subscriptions_list(session, at: dt.datetime | None) -> None:
    """Print the subscriptions: business line, service, tier and the dates they are in force."""
    from billing.jobs.listing import subscriptions_in_force

    subs = subscriptions_in_force(session, on=at.date() if at else None)
    echo_table(["business line", "service", "tier", "from", "to"],
               [[s.business_line, s.service, s.tier, s.effective_from, s.effective_to or ""] for s in subs])


# --- usage -------------------------------------------------------------------------------------


@chargeback.group()
def usage() -> None:
    """Usage feeds from source systems: load, list, rejects."""


class RowProgress:
    """A row counter on stderr, shown only when stderr is a terminal."""

    def __init__(self, label: str):
        self.label = label
        self.shown = sys.stderr.isatty()
        self.rows = 0

    def __call__(self, rows: int) -> None:
        self.rows = rows
        if self.shown:
            click.echo(f"\r{self.label}: {rows:,} rows", err=True, nl=False)

    def done(self) -> None:
        if self.shown and self.rows:
            click.echo("", err=True)


@usage.command("load")
@click.argument("file", metavar="PATH", type=UsagePath())
@click.option("--source", "source_name", required=True,
              help="The declared source the file comes from, e.g. servicedesk or focus-cloud: one with a source definition "
                   "(--sources) or registered by an earlier --new-source. Any other name is refused.")
@click.option("--new-source", is_flag=True,
              help="Register --source as a new source of our usage format on this first load (a typo is not a new source).")
@click.option("--allow-other-source", is_flag=True,
              help="Load although this file, or record ids in it, were already loaded under another source "
                   "(only when both sources truly send the same records).")
@click.option("--format", "fmt", type=click.Choice(["usage", "focus"]), default=None,
              help="File format; default: the source definition's, else our usage columns.")
@click.option("--sources", "sources_dir", type=INPUT_DIR, default=None,
              envvar="CHARGEBACK_SOURCES",
              help="Directory of source definitions. Default: sources/ here (as `chargeback init` writes it), else examples/sources.")
@click.option("--strict", is_flag=True, help="Load nothing if any row is bad.")
@click.option("--replace", is_flag=True, help="Replace this source's earlier feeds for the same months (kept for audit).")
@click.option("--delimiter", type=DELIMITER, default=",", show_default="','",
              help="The character between the values of a CSV file: ',', ';', tab or '|'.")
@click.option("--decimal", type=click.Choice(["point", "comma"]), default=None, show_default="point",
              help="How a CSV file's numbers are written: 1234.56 (point) or 1.234,56 (comma, as in most "
                   "';'-separated exports from Excel).")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="Where the rows are validated, de-duplicated and summed per day: here (polars), or as an Apache Spark "
                   "job (our usage format or FOCUS, in CSV or Parquet; needs pyspark and Java 17; docs/scale-out.md).")
@click.option("--spark-master", default=None, metavar="URL",
              help="With --engine spark: the Spark master, e.g. spark://host:7077 (default local[2]).")
@click.option("--spark-remote", default=None, metavar="sc://HOST",
              help="With --engine spark: a Spark Connect server instead of a master.")
@with_store(creates=True)
def usage_load(session, file: Path, source_name: str, new_source: bool, allow_other_source: bool, fmt: str | None,
               sources_dir: Path | None, strict: bool, replace: bool, delimiter: str, decimal: str | None,
               engine: str, spark_master: str | None, spark_remote: str | None) -> None:
    """Validate, map and store a usage file (CSV, Parquet, .xlsx or FOCUS CSV).

    \b
    PATH is a file, a glob (usage/*.csv) or a directory (a Hive-partitioned one such
    as month=2026-03/part-0.parquet too), each file its own feed, all in one
    transaction. Our usage format: record_id, usage_date, service, quantity, unit,
    and cost_center or business_line (or both); optional tier, description, cost. A
    FOCUS export is read with its own columns by the source's definition
    (docs/feeds.md). A CSV is comma-separated with decimal points unless --delimiter
    and --decimal say otherwise."""
    from billing.files.dialect import Dialect
    from billing.jobs.usage import load_usage_file, resolve_source
    from billing.jobs.usage_spark import load_usage_spark, refuse_workbooks, spark_for_load, usage_files

    if engine == "local" and (spark_master or spark_remote):
        raise click.UsageError("--spark-master and --spark-remote go with --engine spark")
    files = usage_files(str(file))
    source = resolve_source(session, source_name, fmt, sources_dir, new_source=new_source)
    dialect = Dialect(delimiter=delimiter, decimal=decimal)
    if engine == "spark":
        refuse_workbooks(files)
        with spark_for_load(spark_master, spark_remote) as spark:
            for path in files:
                result = load_usage_spark(session, path, source, spark, strict=strict, replace=replace,
                                          allow_other_source=allow_other_source, dialect=dialect)
                _print_load(path, source, result)
        return
    for path in files:
        progress = RowProgress(f"loading {path.name}")
        result = load_usage_file(session, path, source, strict=strict, replace=replace,
                                 allow_other_source=allow_other_source, on_progress=progress, dialect=dialect)
        progress.done()
        _print_load(path, source, result)


def _print_load(file: Path, source, result) -> None:
    from billing.jobs.usage import per_invoice_line

    if result.already_loaded_as is not None:
        echo(f"{file}: already loaded as feed {result.already_loaded_as} for source {source.name}; nothing charged twice "
                   f"(use --replace to load it again in place of that feed)")
        return
    print_problems(result.problems, limit=50, total=result.problem_count,
                   see_all=f"`chargeback usage rejects --feed {result.feed_id}`")
    kind = f", {result.feed_kind}" if result.feed_kind else ""
    echo(f"{file}: feed {result.feed_id} ({source.name}{kind}, months {', '.join(result.months) or 'none'}): "
         f"{result.reconciliation()}")
    if result.provider_invoices:
        echo(per_invoice_line(result.provider_invoices, source.cost or "cost"))
    if result.replaced_feeds:
        echo(f"replaced feed(s) {', '.join(map(str, result.replaced_feeds))}; their rows stay in the store for audit")
    if result.rated_months:
        echo(f"{', '.join(result.rated_months)} already rated: run `chargeback month run` again to price this usage")


@usage.command("feeds")
@click.option("--month", default=None, metavar="YYYY-MM", type=MONTH, help="Only feeds with usage in this month.")
@click.option("--source", "source_name", default=None, help="Only feeds of this source.")
@with_store
def usage_feeds(session, month: str | None, source_name: str | None) -> None:
    """List loaded feeds with their reconciliation counts."""
    from billing.jobs.listing import usage_feeds as feeds

    rows = [[f.id, f.source, Path(f.file_name).name, ",".join(f.months), f.status, f.rows_read, f.rows_loaded,
             f.rows_rejected, f.rows_duplicate, f.rows_conflict, f.loaded_at.strftime("%Y-%m-%d %H:%M")]
            for f in feeds(session, month=month, source=source_name)]
    echo_table(["feed", "source", "file", "months", "status", "read", "loaded", "rejected", "duplicates", "conflicts",
                "loaded at"], rows, right={5, 6, 7, 8, 9})


@usage.command("rejects")
@click.option("--month", default=None, metavar="YYYY-MM", type=MONTH, help="Only rejects of feeds for this month.")
@click.option("--source", "source_name", default=None, help="Only rejects of this source's feeds.")
@click.option("--feed", "feed_id", default=None, type=click.IntRange(min=1), help="Only rejects of this feed.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write them to this CSV file.")
@with_store
def usage_rejects(session, month: str | None, source_name: str | None, feed_id: int | None, out: Path | None) -> None:
    """List rows that were not loaded, with file, row, column and reason."""
    from billing.jobs.listing import usage_rejects as rejects
    from reports.csv_export import write_rejects_csv

    found = rejects(session, month=month, source=source_name, feed=feed_id)
    if out:
        out.write_bytes(write_rejects_csv(found))
        echo(f"{len(found)} rejected row(s) written to {out}")
        return
    for r in found:
        echo(f"{r.place}: {r.code} {r.reason} [feed {r.feed}, {r.source}]")
    echo(f"{len(found)} rejected row(s)", err=True)


@chargeback.group()
def sources() -> None:
    """Sources of usage: the declared ones and their definitions; what a FOCUS export holds, and a
    draft definition for it."""


@sources.command("list")
@click.option("--sources", "sources_dir", type=INPUT_DIR, default=None, envvar="CHARGEBACK_SOURCES",
              help="Directory of source definitions. Default: sources/ here (as `chargeback init` writes it), else examples/sources.")
@with_store
def sources_list(session, sources_dir: Path | None) -> None:
    """List every source a feed may name: defined in the sources folder, or registered with
    --new-source, with its format, since when, and its active feeds."""
    from billing.jobs.usage_sources import source_rows

    directory, rows = source_rows(session, sources_dir)
    echo_table(["source", "format", "declared by", "since", "active feeds", "last loaded"], rows, right={4})
    click.echo(f"definitions read from {directory}; a new source of our usage format: `chargeback usage load FILE "
               f"--source NAME --new-source`", err=True)


@sources.command("inspect")
@click.argument("file", type=INPUT_FILE)
@click.option("--source", "source_name", default=None, help="Also show where the cost goes with this source definition.")
@click.option("--sources", "sources_dir", type=INPUT_DIR, default=None, envvar="CHARGEBACK_SOURCES",
              help="Directory of source definitions. Default: sources/ here (as `chargeback init` writes it), else examples/sources.")
@click.option("--write-draft", "draft", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a starter source definition (YAML) mapping the tag that carries the cost centre.")
@click.option("--name", "draft_name", default=None, help="Name of the drafted source; default: the file's name.")
@with_store
def sources_inspect(session, file: Path, source_name: str | None, sources_dir: Path | None, draft: Path | None,
                    draft_name: str | None) -> None:
    """Tag keys (values, share of cost), sub accounts and services of a FOCUS export; mapped vs UNALLOCATED cost."""
    from billing.jobs.inspect import inspect_file
    from reports.inspect_text import inspect_lines

    report = inspect_file(session, file, source_name=source_name, sources_dir=sources_dir, draft=draft,
                          draft_name=draft_name)
    for line in inspect_lines(report):
        echo(line)


# --- month -------------------------------------------------------------------------------------


@chargeback.group()
def month() -> None:
    """Month-end: run (rate), review, close, reopen."""


@month.command("run")
@month_argument
@with_store
def month_run(session, month: str) -> None:
    """Price the month's usage (again, if it is open): identical input gives identical charges."""
    from billing.jobs.rating import run_month

    result = run_month(session, month)
    for (mode, currency), total in sorted(result.totals.items()):
        echo(f"{result.month} {mode}: {amount_text(total, currency, code=True)}")
    echo(f"{result.month}: {len(result.rated.charges)} charges from {result.rated.usage_rows:,} usage rows (run {result.run_id})"
               + (f"; {result.flagged} flagged (see `month review`)" if result.flagged else ""))
    for warning in result.warnings:
        echo(f"warning: {warning.message} (closing will need --confirm)", err=True)


@month.command("review")
@month_argument
@click.option("--all", "show_all", is_flag=True, help="List every flagged charge and idle subscription (default: the first 20).")
@with_store
def month_review(session, month: str, show_all: bool) -> None:
    """Print the month before closing: totals, movers, anomalies, rejects, unallocated, idle subscriptions."""
    from billing.jobs.review import review_stored_month
    from reports.review_text import review_lines

    for line in review_lines(review_stored_month(session, month, show_all=show_all)):
        echo(line)


@month.command("close")
@month_argument
@click.option("--issue-date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Invoice issue date; default today.")
@click.option("--confirm", is_flag=True,
              help="Close although the review warns: no usage, far less usage than the months around it (per source), "
                   "a month not yet ended, earlier months still open. The warnings are kept in the audit trail.")
@with_store
def month_close(session, month: str, issue_date: dt.datetime | None, confirm: bool) -> None:
    """Lock the month and issue one numbered invoice per business line."""
    from billing.jobs.close import close_month

    result = close_month(session, month, issue_date=issue_date.date() if issue_date else None, confirm=confirm)
    for reason in result.confirmed:
        echo(f"confirmed: {reason}", err=True)
    numbers = [i.number for i in result.invoices]
    echo(f"{result.month} closed: {len(numbers)} invoices "
               f"({numbers[0]} to {numbers[-1]}) totalling {amount_text(result.total, result.currency, code=True)}" if numbers
               else f"{result.month} closed: nothing to invoice")
    if result.showback_total:
        echo(f"showback (shown on statements, not invoiced): {amount_text(result.showback_total, result.currency, code=True)}")


@month.command("reopen")
@month_argument
@click.option("--reason", required=True, help="Why the month is reopened (recorded in the audit trail).")
@with_store
def month_reopen(session, month: str, reason: str) -> None:
    """Reopen a closed month for a mistake; its invoices are cancelled by credit notes."""
    from billing.jobs.close import reopen_month

    notes = reopen_month(session, month, reason=reason)
    echo(f"{month} reopened; {len(notes)} invoice(s) cancelled by credit notes"
               + (f" {notes[0].number} to {notes[-1].number}" if notes else ""))


@month.command("pack")
@month_argument
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The file to write.")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True,
              help="An HTML page printable on A4, or an A4 PDF (needs Chromium).")
@rules_option
@with_store
def month_pack(session, month: str, out: Path, fmt: str, rules_path: Path | None) -> None:
    """Write finance's month pack, one document for the month-end meeting: total and change, by
    service, largest movers, cost recovery and overhead, UNALLOCATED, quarantined rows, service
    levels missed and credits, budget position (a draft while the month is open)."""
    from billing.api import month_pack_in

    data = month_pack_in(session, month, rules=rules_path, fmt=fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    echo(f"month pack for {month} written to {out} ({len(data):,} bytes)")


@month.command("status")
@with_store
def month_status(session) -> None:
    """List months with usage or charges and whether each is open or closed."""
    from billing.jobs.review import month_statuses
    from reports.review_text import MONTH_STATUS_HEADERS, month_status_rows

    echo_table(MONTH_STATUS_HEADERS, month_status_rows(month_statuses(session)), right={3, 4})


# --- service levels, adjustments, invoices ----------------------------------------------------


@chargeback.group()
def sla() -> None:
    """Measured service levels, which give service credits when a target is missed."""


@sla.command("load")
@click.argument("file", type=INPUT_FILE)
@with_store(creates=True)
def sla_load(session, file: Path) -> None:
    """Load measured service levels per month (a missed target gives a service credit).

    \b
    Columns: month (YYYY-MM), service, tier, metric (availability_pct,
    response_minutes or restore_hours), achieved; optional business_line (empty =
    every business line at that tier). CSV or .xlsx (docs/inputs.md)."""
    from billing.jobs.sla import load_sla_file

    result = load_sla_file(session, file)
    echo(f"{file}: {result.rows} measurement(s) for {', '.join(result.months)}")
    if result.rated_months:
        echo(f"{', '.join(result.rated_months)} already rated: run `chargeback month run` again to apply credits")


@chargeback.command("adjust")
@click.option("--invoice", "number", required=True, help="The invoice number to correct, e.g. CB-2026-000012.")
@click.option("--line", "line_no", type=click.IntRange(min=1), default=None, help="One line of it; default the whole invoice.")
@click.option("--amount", type=NUMBER, default=None, help="Amount to credit (or debit), positive.")
@click.option("--quantity", type=NUMBER, default=None, help="Quantity to credit, priced at the line's average price.")
@click.option("--debit", is_flag=True, help="Issue a debit note (charge more) instead of a credit note.")
@click.option("--reason", required=True, help="Why (printed on the note and kept in the audit trail).")
@with_store
def adjust(session, number: str, line_no: int | None, amount: Decimal | None, quantity: Decimal | None, debit: bool, reason: str) -> None:
    """Issue a credit or debit note against a closed month's invoice, dated in the next open month."""
    from billing.jobs.adjust import adjust_invoice

    note = adjust_invoice(session, number, reason=reason, line_no=line_no, amount=amount, quantity=quantity, debit=debit)
    echo(f"{note.kind.replace('_', ' ')} {note.number} for {note.business_line} in {note.month}: "
               f"{amount_text(note.total, note.currency, code=True)} against {number}")


@chargeback.group()
def disputes() -> None:
    """Disputes of invoice lines raised by business-line heads in the portal: list, accept, reject."""


@disputes.command("list")
@click.option("--state", type=click.Choice(["open", "accepted", "rejected"]), default=None,
              help="Only the disputes in this state (default every one).")
@click.option("--line", "business_line", default=None, help="Only the disputes of this business line.")
@click.pass_obj
def disputes_list(store: Store, state: str | None, business_line: str | None) -> None:
    """List the disputes, newest first: the invoice line, what is asked, state, who raised and decided it."""
    from billing import api

    found = api.disputes(store, state=state, lines=None if business_line is None else {business_line.strip()})
    echo_table(["id", "line", "invoice line", "asked", "state", "accepted", "raised", "decided", "note"],
               [[d.id, d.business_line, f"{d.reference} {d.service_name}",
                 amount_text(d.amount, d.currency, code=True) if d.amount is not None else f"{d.quantity} {d.unit}",
                 d.state.value + (" in part" if d.in_part else ""),
                 amount_text(d.accepted_amount, d.currency, code=True) if d.accepted_amount is not None else "",
                 f"{d.raised_by} {d.raised_at:%Y-%m-%d}",
                 f"{d.decided_by} {d.decided_at:%Y-%m-%d}" if d.decided_by and d.decided_at else "", d.note or ""]
                for d in found], right={0, 3, 5})
    if not found:
        echo("no dispute" + (f" {state}" if state else ""), err=True)


@disputes.command("accept")
@click.argument("dispute_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--remark", default=None, help="A remark kept with the decision (optional; needed with --amount).")
@click.option("--amount", type=NUMBER, default=None,
              help="Accept this much only (less than the dispute asks, in the invoice's currency, e.g. 40.00): the "
                   "note is issued for it.")
@click.pass_obj
def disputes_accept(store: Store, dispute_id: int, remark: str | None, amount: Decimal | None) -> None:
    """Accept a dispute: its credit (or debit) note is issued in the next open month, citing it;
    for the amount asked, or with --amount for less (partial acceptance)."""
    from billing import api

    done = api.accept_dispute(store, dispute_id, remark=remark, amount=amount)
    note = api.document(store, done.note) if done.note else None
    asked = (f" ({amount_text(abs(done.accepted_amount), done.currency, code=True)} of "
             f"{amount_text(abs(done.asked_amount), done.currency, code=True)} asked)") if done.in_part else ""
    echo(f"dispute {done.id} accepted{asked}: " + (
        f"{note.kind.replace('_', ' ')} {note.number} for {note.business_line} in {note.month}: "
        f"{amount_text(note.total, note.currency, code=True)} against {done.invoice}" if note else "no note"))


@disputes.command("reject")
@click.argument("dispute_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why (the head reads it in the portal).")
@click.pass_obj
def disputes_reject(store: Store, dispute_id: int, reason: str) -> None:
    """Reject a dispute with a reason; nothing is issued."""
    from billing import api

    done = api.reject_dispute(store, dispute_id, reason=reason)
    echo(f"dispute {done.id} rejected: {done.reference} stays as issued")


@chargeback.group()
def invoices() -> None:
    """Issued invoices, credit notes and debit notes."""


@invoices.command("list")
@click.option("--month", required=True, metavar="YYYY-MM", type=MONTH)
@with_store
def invoices_list(session, month: str) -> None:
    """List the documents dated in a month."""
    from billing.jobs.listing import month_documents

    docs = month_documents(session, month)
    echo_table(["number", "kind", "business line", "issued", "lines", "total", "corrects"],
               [[d.number, d.kind.replace("_", " "), f"{d.business_line} {d.buyer_name}", d.issue_date, len(d.lines),
                 amount_text(d.total, d.currency, code=True), d.original_invoice or ""] for d in docs], right={4, 5})


@invoices.command("show")
@click.argument("number")
@with_store
def invoices_show(session, number: str) -> None:
    """Print one document with its lines and cost-centre splits."""
    from billing.jobs.listing import document

    doc = document(session, number)
    echo(f"{doc.kind.replace('_', ' ').title()} {doc.number}  {doc.month}  issued {doc.issue_date}")
    echo(f"To: {doc.buyer_name} ({doc.business_line}){' - ' + doc.buyer_head if doc.buyer_head else ''}")
    if doc.original_invoice:
        echo(f"Corrects: {doc.original_invoice}. Reason: {doc.reason}")
    from reports.views import working_lines

    rows: list[list[object]] = []
    for l in doc.lines:  # a line's workings one step a row under it, as the statement shows them
        steps = working_lines(l, doc.currency) or [""]
        rows.append([l.line_no, l.description, quantity_text(l.quantity), l.unit, steps[0], amount_text(l.amount, doc.currency)])
        rows += [["", "", "", "", step, ""] for step in steps[1:]]
    echo_table(["line", "description", "quantity", "unit", "how it is priced", "amount"], rows, right={2, 5})
    echo(f"Total {amount_text(doc.total, doc.currency, code=True)}")


class StatementsGroup(click.Group):
    """``chargeback statements YYYY-MM --out DIR`` writes the statements; ``chargeback statements
    send YYYY-MM`` e-mails them. Anything but a subcommand's name goes to the writing command."""

    def __init__(self, *args, write: click.Command, **kwargs):
        super().__init__(*args, **kwargs)
        self.write = write

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            ctx.meta["statements.write"] = True
            ctx.args, ctx._protected_args = list(args), []
            return ctx.args
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        if ctx.meta.get("statements.write"):
            with self.write.make_context(ctx.info_name, list(ctx.args), parent=ctx.parent) as sub:
                return self.write.invoke(sub)
        return super().invoke(ctx)


@click.command("statements")
@month_argument
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Directory for the statements.")
@click.option("--line", "line", metavar="BL", default=None, help="Write only this business line's statement (its code).")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True,
              help="HTML pages, or one A4 PDF per business line (needs Chromium).")
@with_store
def statements_write(session, month: str, out: Path, line: str | None, fmt: str) -> None:
    """Write one statement per business line (HTML printable on A4, or PDF) and an index; with --line, one line's alone."""
    from billing.api import write_statements_in

    written = write_statements_in(session, month, out, line=line, fmt=fmt,
                                  on_progress=SeriesProgress(f"writing {fmt.upper()} statements", unit="statements"))
    echo(f"{len(written.paths)} statements for {written.month}{' (DRAFT: the month is open)' if written.draft else ''} "
               f"in {out}; open {written.index}")


@chargeback.group("statements", cls=StatementsGroup, write=statements_write, invoke_without_command=False,
                  context_settings={"ignore_unknown_options": True},
                  subcommand_metavar="YYYY-MM --out DIR [--line BL] [--format html|pdf] | send YYYY-MM [OPTIONS]")
def statements() -> None:
    """Statements of a month: `statements YYYY-MM --out DIR [--line BL] [--format html|pdf]` writes one
    statement per business line (HTML printable on A4, or an A4 PDF) and an index; `statements send YYYY-MM` e-mails each head their own."""


@statements.command("send")
@month_argument
@click.option("--dry-run", is_flag=True, help="Write each message as an .eml file into --out instead of sending it.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for --dry-run's .eml files (default: mail-YYYY-MM).")
@click.option("--resend", is_flag=True, help="Send again the statements already sent for this month.")
@click.option("--line", "line", metavar="BL", default=None, help="Send only this business line's statement (its code).")
@click.option("--attach", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True,
              help="Attach the statement as an A4 PDF (needs Chromium) or as its HTML page.")
@click.pass_obj
def statements_send(store: Store, month: str, dry_run: bool, out: Path | None, resend: bool, line: str | None,
                    attach: str) -> None:
    """E-mail each head of a closed month their own statement (HTML body, the statement attached as PDF),
    through the SMTP server of the settings (smtp_host, smtp_port, smtp_starttls, smtp_user; the
    password in CHARGEBACK_SMTP_PASSWORD); every message sent is kept in the audit trail, and a
    second send sends only what was not sent yet unless --resend."""
    from billing.api.delivery import send_statements

    if out is not None and not dry_run:
        raise click.UsageError("--out is where --dry-run writes its .eml files: give --dry-run too")
    folder = (out or Path(f"mail-{month}")) if dry_run else None
    done = send_statements(store, month, line=line, resend=resend, dry_run=dry_run, folder=folder, attach=attach)
    verb = "written" if dry_run else "sent"
    for recipient, address in done.sent:
        echo(f"{verb}: {recipient.business_line} to {address} ({recipient.invoice})")
    if done.already_sent:
        echo(f"already sent before, not sent again: {len(done.already_sent)} "
             f"({', '.join(r.business_line for r in done.already_sent[:10])}"
             f"{', ...' if len(done.already_sent) > 10 else ''}); --resend sends them again (see `chargeback audit`)")
    for code in done.kept:
        echo(f"kept: {code} (usage no business line was found for) has no head to send it to; "
             f"the month pack shows it (`chargeback month pack {done.month}`)")
    for recipient, reason in done.without_address:
        echo(f"not sent: {recipient.business_line} has no usable address ({reason}): add its head_email to the "
             f"organisation file, `chargeback org load` it, and send again", err=True)
    for failure in done.failed:
        echo(f"failed: {failure.business_line} to {failure.address}: {failure.reason}", err=True)
    summary = (f"{done.month}: {len(done.sent)} statement(s) {verb}"
               + (f" into {done.folder}" if done.folder else "") + f", the statement attached as {done.attachment}")
    if not done.sent and done.already_sent and done.complete:
        summary = f"{done.month}: every statement was already sent; nothing sent (--resend sends them again)"
    echo(summary)
    if not done.complete:
        raise Refusal(f"{len(done.failed) + len(done.without_address)} statement(s) not {verb}: "
                      + ", ".join([f.business_line for f in done.failed] + [r.business_line for r, _ in done.without_address])
                      + f"; `chargeback statements send {done.month}` again sends only those not sent")


@chargeback.command("export")
@month_argument
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "focus", "focus-parquet"]), default="xlsx",
              help="Workbook, CSV, or the closed month's bill as a FOCUS 1.2 dataset (CSV or Parquet).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@with_store
def export(session, month: str, fmt: str, out: Path) -> None:
    """Export the month's charges: summary (business line × service) and every line by cost centre;
    with --format focus, the closed month's invoices and notes as a FinOps FOCUS 1.2 cost-and-usage
    file (one row per invoice line and cost centre)."""
    from billing.api import export_in

    data = export_in(session, month, fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    echo(f"{month} exported to {out} ({len(data):,} bytes)")


@chargeback.command("journal")
@month_argument
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="CSV file to write.")
@click.option("--posting-date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Posting date; default the month's last day.")
@with_store
def journal(session, month: str, out: Path, posting_date: dt.datetime | None) -> None:
    """Write the closed month's balanced GL journal (see docs/journal.md for ERP mappings)."""
    from billing.api import journal_in

    found = journal_in(session, month, posting_date=posting_date.date() if posting_date else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(found.csv)
    echo(f"{month} journal: {len(found.lines)} lines, debits = credits = {amount_text(found.debit, found.lines[0].currency if found.lines else '')}, written to {out}")


@chargeback.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo"), help="Directory for the demo's files and database.")
@click.option("--rows", "rows", type=click.IntRange(min=1), default=20_000, help="Usage rows per month.")
@click.option("--months", type=click.IntRange(min=1, max=120), default=24, help="Months of history.")
@click.option("--through", metavar="YYYY-MM", type=MONTH, default=None, help="Last month; default the last complete month.")
@click.option("--business-lines", type=click.IntRange(min=6), default=200, help="How many business lines.")
@click.option("--cost-centers", type=click.IntRange(min=12), default=1300, help="How many cost centres.")
def demo(out: Path, rows: int, months: int, through: str | None, business_lines: int, cost_centers: int) -> None:
    """Generate a realistic organisation and usage, and run it through month-end into OUT."""
    from billing.api.demo import run_demo

    run_demo(out, rows_per_month=rows, months=months, through=through, business_lines=business_lines,
             cost_centers=cost_centers, echo=click.echo)


def _invoice_line(_ctx, _param, value: str | None) -> str | None:
    if value is None:
        return None
    number, _, line = value.partition("/")
    if not number or not line.isdigit() or int(line) < 1:
        raise click.BadParameter(f"{value!r}: write the invoice number and line as NUMBER/LINE, e.g. CB-2026-000003/2")
    return value


def _change_of(_ctx, _param, value: tuple[str, str] | None) -> tuple[str, str] | None:
    if not value:
        return None
    line, month = value
    return line, MONTH.convert(month, _param, _ctx)


@chargeback.command("explain")
@click.argument("reference", metavar="INVOICE/LINE", required=False, callback=_invoice_line)
@click.option("--rows", "limit", default=20, type=click.IntRange(min=0), help="How many usage rows to list.")
@click.option("--change", "change", nargs=2, metavar="BL MONTH", default=None, callback=_change_of,
              help="Why business line BL's bill changed in MONTH against the month before, step by step.")
@with_store
def explain(session, reference: str | None, limit: int, change: tuple[str, str] | None) -> None:
    """Trace an invoice line to its charge, tariff version and usage rows (e.g. CB-2026-000003/2);
    with --change BL MONTH, split the change of a business line's bill into price, tier, volume,
    new and ended services, credits, fees, discounts, true-ups, corrections and funding."""
    if (reference is None) == (change is None):
        raise click.UsageError("give an invoice line (NUMBER/LINE) or --change BL MONTH, not both and not neither")
    if change is not None:
        from billing.api import change_lines_in

        for text in change_lines_in(session, *change):
            echo(text)
        return
    from billing.jobs.explain import explain_line
    from reports.explain_text import explanation_lines

    for line in explanation_lines(explain_line(session, reference, limit=limit)):
        echo(line)


# --- cost recovery (begin) ---




@chargeback.group()
def costs() -> None:
    """IT's actual and budgeted costs per month and cost pool."""


@costs.command("load")
@click.argument("file", type=INPUT_FILE)
@click.option("--strict", is_flag=True, help="Load nothing if any row is bad.")
@click.option("--replace", is_flag=True, help="Replace earlier cost feeds of the same months and scenarios (kept for audit).")
@with_store(creates=True)
def costs_load(session, file: Path, strict: bool, replace: bool) -> None:
    """Validate and store IT's actual or budgeted costs (CSV or .xlsx).

    \b
    Columns: month, cost_pool, gl_account, amount, source_ref; optional scenario
    (actual or budget; default actual), currency, description (docs/inputs.md)."""
    from billing.jobs.costs import load_cost_file

    result = load_cost_file(session, file, strict=strict, replace=replace)
    if result.already_loaded_as is not None:
        echo(f"{file}: already loaded as cost feed {result.already_loaded_as}; nothing loaded twice (--replace loads it again)")
        return
    print_problems(result.problems, limit=50, see_all="`chargeback costs rejects`")
    echo(f"{file}: cost feed {result.feed_id} ({', '.join(result.months) or 'nothing new'}): {result.reconciliation()}")
    if result.replaced_feeds:
        echo(f"replaced cost feed(s) {', '.join(map(str, result.replaced_feeds))}; their rows stay in the store for audit")


@costs.command("feeds")
@with_store
def costs_feeds(session) -> None:
    """List loaded cost files with their reconciliation counts."""
    from billing.jobs.costs import cost_feeds

    loaded = cost_feeds(session)
    echo_table(["feed", "file", "months", "status", "read", "loaded", "rejected", "duplicates", "conflicts", "amount"],
               [[f.id, Path(f.file_name).name, ",".join(f.months), f.status, f.rows_read, f.rows_loaded, f.rows_rejected,
                 f.rows_duplicate, f.rows_conflict, amount_text(f.amount_total, loaded.currency)] for f in loaded.feeds],
               right={4, 5, 6, 7, 8, 9})


@costs.command("rejects")
@with_store
def costs_rejects(session) -> None:
    """List cost rows that were not loaded, with file, row, column and reason."""
    from billing.jobs.listing import cost_rejects

    found = cost_rejects(session)
    for r in found:
        echo(f"{r.place}: {r.code} {r.reason} [cost feed {r.feed}]")
    echo(f"{len(found)} rejected row(s)", err=True)


@chargeback.group()
def drivers() -> None:
    """Allocation drivers (headcount, revenue, ...) per business line and month."""


@drivers.command("load")
@click.argument("file", type=INPUT_FILE)
@with_store(creates=True)
def drivers_load(session, file: Path) -> None:
    """Load allocation driver values per business line and month; again = update in place.

    \b
    Columns: month, driver (e.g. headcount), business_line, value (docs/inputs.md)."""
    from billing.jobs.costs import load_driver_file

    result = load_driver_file(session, file)
    echo(f"{file}: {result.rows} value(s) of {', '.join(result.drivers)} for {', '.join(result.months)}: "
               f"{result.added} added, {result.updated} updated")


@drivers.command("list")
@with_store
def drivers_list(session) -> None:
    """Print each loaded driver per month: how many business lines and the total."""
    from billing.jobs.listing import driver_totals

    echo_table(["month", "driver", "business lines", "total"],
               [[t.month, t.driver, t.business_lines, format(t.total.normalize(), "f")] for t in driver_totals(session)],
               right={2, 3})


@chargeback.group()
def allocation() -> None:
    """Allocation rules: cost pools to services to business lines."""


@allocation.command("validate")
@rules_option
@click.option("--tariffs", "tariffs_dir", type=INPUT_DIR, default=default_tariffs, show_default=DEFAULT_TARIFFS_SHOWN,
              envvar="CHARGEBACK_TARIFFS",
              help="The catalogue the rules refer to.")
def allocation_validate(rules_path: Path | None, tariffs_dir: Path) -> None:
    """Check the allocation rules against the catalogue and report every problem at once."""
    from billing.jobs.catalogue import check_catalogue
    from billing.jobs.recovery import check_rules_files, rules_location
    from billing.core.problems import errors

    rules, problems = check_rules_files(rules_location(rules_path), check_catalogue(tariffs_dir)[0])
    print_problems(problems)
    if errors(problems):
        raise Refusal(f"{rules_location(rules_path)}: {len(errors(problems))} problem(s)")
    echo(f"{rules_location(rules_path)}: OK - {len(rules.pools)} cost pools, {len(rules.shared_services)} shared services, "
               f"{len(rules.steps)} steps")


@allocation.command("explain")
@click.option("--month", required=True, metavar="YYYY-MM", type=MONTH)
@click.option("--budget", is_flag=True, help="Allocate the budgeted costs instead of the actual ones.")
@rules_option
@with_store
def allocation_explain(session, month: str, budget: bool, rules_path: Path | None) -> None:
    """Show each allocation step's inputs and outputs and each cost pool's reconciliation."""
    from billing.jobs.recovery import explain_allocation
    from reports.recovery_text import allocation_lines

    found = explain_allocation(session, month, rules_path=rules_path, scenario="budget" if budget else "actual")
    for line in allocation_lines(found.result, month=found.month, scenario=found.scenario, rules=found.rules,
                                 warnings=found.warnings):
        echo(line)


@chargeback.command("recovery")
@click.option("--month", default=None, metavar="YYYY-MM", type=MONTH, help="One month.")
@click.option("--fy", type=int, default=None, metavar="YYYY", help="A fiscal year (its months with actual costs).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write it to a .csv or .xlsx file.")
@rules_option
@with_store
def recovery(session, month: str | None, fy: int | None, out: Path | None, rules_path: Path | None) -> None:
    """Over/under recovery per service: cost, recovered through tariffs, allocated, recovery %, in overhead."""
    from billing.jobs.recovery import recovery_for
    from reports.recovery_export import recovery_csv, recovery_xlsx
    from reports.recovery_text import pool_rows, recovery_rows

    if (month is None) == (fy is None):
        raise click.UsageError("give --month YYYY-MM or --fy YYYY")
    report = recovery_for(session, month=month, fy=fy, rules_path=rules_path)
    echo(f"Cost recovery {report.period} ({report.currency})")
    echo_table(*recovery_rows(report), right={3, 4, 5, 6, 7, 8})
    echo("")
    echo_table(*pool_rows(report), right={2, 3, 4, 5})
    for note in report.notes:
        echo(f"note: {note}", err=True)
    if out:
        out.write_bytes(recovery_xlsx(report) if out.suffix.lower() == ".xlsx" else recovery_csv(report))
        echo(f"written to {out}")


@chargeback.group()
def rates() -> None:
    """Rate setting: propose next year's break-even tariffs."""


@rates.command("propose")
@click.option("--fy", type=int, required=True, metavar="YYYY", help="The fiscal year to price (its budget; last year's volumes).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Directory for the draft.")
@rules_option
@click.option("--tariffs", "tariffs_dir", type=INPUT_DIR, default=None, envvar="CHARGEBACK_TARIFFS",
              help="The catalogue to start from. Default: tariffs/ here, else examples/tariffs.")
@with_store
def rates_propose(session, fy: int, out: Path, rules_path: Path | None, tariffs_dir: Path | None) -> None:
    """Write a draft tariff version that recovers the budgeted cost, and its expected recovery."""
    from billing.jobs.rates import propose_stored_rates

    result = propose_stored_rates(session, fy, out, rules_path=rules_path, tariffs_dir=tariffs_dir)
    print_problems(list(result.warnings))
    echo_table(["service", "budget", "expected", "difference", "proposal"],
               [[s.service, *(amount_text(v, result.proposal.currency) for v in (s.budget, s.expected, s.difference)), s.method]
                for s in result.proposal.services],
               right={1, 2, 3})
    echo(f"draft {result.draft}; catalogue with the draft {result.catalogue_dir}; report {result.report}")


# --- cost recovery (end) ---


# --- planning (begin) ---


class SeriesProgress:
    """A bar of what is done out of all (fitted series, written statements) on stderr, shown
    only when stderr is a terminal."""

    def __init__(self, label: str, unit: str = "series"):
        self.label, self.unit = label, unit
        self.shown = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.shown:
            width = 30
            filled = width * done // max(total, 1)
            click.echo(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} {self.unit}", err=True,
                       nl=done >= total)


def _plan_pct(value) -> str:
    return "-" if value is None else f"{value:+.1f}%"


@chargeback.group()
def budget() -> None:
    """Budgets per business line, service and month: load, compare with actual."""


@budget.command("load")
@click.argument("file", type=INPUT_FILE)
@with_store(creates=True)
def budget_load(session, file: Path) -> None:
    """Load a budget table (CSV or .xlsx) or a planner's edited `plan` workbook.

    \b
    Budget table columns: business_line, service, month, amount; optional quantity,
    tier (docs/inputs.md)."""
    from billing.api import read_budget_plan
    from billing.jobs.budgets import load_budget_file

    result = load_budget_file(session, file, plan=read_budget_plan(file))
    print_problems(list(result.warnings))
    echo(f"{file}: {result.kind} budget FY{', FY'.join(map(str, result.fiscal_years))} for "
               f"{len(result.business_lines)} business line(s), {result.lines} line(s), total {amount_text(result.total, result.currency, code=True)}")


@budget.command("show")
@month_argument
@click.option("--business-line", "business_line", default=None, help="Per service for one business line.")
@with_store
def budget_show(session, month: str, business_line: str | None) -> None:
    """Budget against actual, year to date up to MONTH, per business line (or per service)."""
    from billing.jobs.budgets import budget_to_date

    found = budget_to_date(session, month, business_line=business_line)
    rows = [[r.service if business_line else r.business_line,
             *(amount_text(v, found.currency) for v in (r.budget_ytd, r.actual_ytd, r.variance)), _plan_pct(r.variance_pct)]
            for r in found.rows]
    headers = ["service" if business_line else "business line", "budget YTD", "actual YTD", "variance", "%"]
    if not rows:
        raise ChargebackError(f"no budget is loaded for the fiscal year of {month} (`chargeback budget load FILE`)")
    echo_table(headers, rows, right={1, 2, 3, 4})


@chargeback.command("forecast")
@click.option("--from", "first_month", default=None, metavar="YYYY-MM", type=MONTH, help="First forecast month; default the month after the last rated one.")
@click.option("--months", default=12, type=click.IntRange(1, 60), help="How many months.")
@click.option("--business-line", "business_line", default=None, help="Per service for one business line.")
@click.option("--backtest", is_flag=True, help="Instead: forecast the last --holdout rated months from those before and print the error.")
@click.option("--holdout", default=6, type=click.IntRange(1, 24), help="Months held out by --backtest.")
@click.option("--scenario", "scenario_file", type=INPUT_FILE, default=None,
              help="Compare the scenarios of this YAML file with the baseline, per business line.")
@with_store
def forecast(session, first_month: str | None, months: int, business_line: str | None, backtest: bool, holdout: int,
             scenario_file: Path | None) -> None:
    """Forecast each business line's volumes per service and price them, with an 80 % interval."""
    from billing.jobs import forecast as jobs

    progress = SeriesProgress("forecasting")
    if backtest:
        _print_backtest(jobs.run_backtest(session, holdout=holdout, on_progress=progress))
    elif scenario_file:
        _print_scenarios(jobs.compare_scenarios(session, scenario_file, first_month=first_month, months=months,
                                                on_progress=progress), scenario_file)
    else:
        _print_forecast(jobs.run_forecast(session, first_month=first_month, months=months, on_progress=progress), business_line)


def _print_forecast(result, business_line: str | None) -> None:
    from billing.planning.totals import forecast_totals

    print_problems(list(result.problems))
    echo(f"Forecast {result.months[0]}..{result.months[-1]} from {len(result.history_months)} rated months "
               f"({result.history_months[0]}..{result.history_months[-1]}), {result.currency}, 80 % interval "
               f"(totals add the monthly bounds)")
    echo("series by method: " + ", ".join(f"{m} {n}" for m, n in sorted(result.methods.items())))
    totals = forecast_totals(result.lines, business_line=business_line)
    labels = ["service", "tier", "method", "volume"] if business_line else ["business line"]
    rows = [[*t.key, *([format(t.quantity, ",f")] if business_line else []),
             *(amount_text(x, result.currency) for x in (t.amount, t.amount_low, t.amount_high))] for t in totals]
    total = sum((t.amount for t in totals), Decimal(0))
    echo_table([*labels, "forecast", "low", "high"], rows + [["total", *[""] * (len(labels) - 1), amount_text(total, result.currency), "", ""]],
               right=set(range(len(labels) - (1 if business_line else 0), len(labels) + 3)))


def _print_backtest(result) -> None:
    echo(f"Backtest: fitted on {result.fitted_months[0]}..{result.fitted_months[-1]}, "
               f"forecast the {len(result.held_out)} held-out months {result.held_out[0]}..{result.held_out[-1]}")
    echo("error: WAPE = sum of |actual - forecast| / sum of actual volumes, per service")
    wape = lambda e: "-" if e is None else f"{e * 100:.1f}%"  # noqa: E731
    echo_table(["service", "series", "methods", "WAPE"],
               [[r.service, r.series, ", ".join(f"{m} {n}" for m, n in sorted(r.methods.items())), wape(r.error)]
                for r in result.rows] + [["all", sum(r.series for r in result.rows), "", wape(result.overall)]],
               right={1, 3})


def _print_scenarios(result, scenario_file: Path) -> None:
    from billing.planning.totals import scenario_totals

    print_problems(list(result.problems))
    echo(f"Scenarios of {scenario_file}, {result.months[0]}..{result.months[-1]}, {result.currency}: "
               f"forecast totals per business line")
    headers = ["business line", "baseline"]
    for name in result.names:
        headers += [name, "difference"]
    rows = []
    for row in result.rows:
        cells = [row.business_line, amount_text(row.baseline, result.currency)]
        for amount, difference in zip(row.amounts, row.differences):
            cells += [amount_text(amount, result.currency), amount_text(difference, result.currency)]
        rows.append(cells)
    baseline, amounts = scenario_totals(result.rows, len(result.names))
    totals = ["total", amount_text(baseline, result.currency)]
    for amount in amounts:
        totals += [amount_text(amount, result.currency), amount_text(amount - baseline, result.currency)]
    echo_table(headers, rows + [totals], right=set(range(1, len(headers))))


@chargeback.command("advise")
@click.option("--business-line", "business_line", required=True, help="The business line to advise.")
@click.option("--month", default=None, metavar="YYYY-MM", type=MONTH, help="The last month to look at; default the last rated one.")
@with_store
def advise(session, business_line: str, month: str | None) -> None:
    """Each service's last 12 months priced at every tier, with the service each tier would have given."""
    from billing.jobs.advice import advise as advise_line

    result = advise_line(session, business_line, month)
    echo(f"Tier advice for {result.business_line}, {result.months[0]}..{result.months[-1]} ({result.currency})")
    echo_table(["service", "tier", "amount", "difference", "%", "missed targets", "credits"],
               [[o.service, o.tier + (" (current)" if o.is_current else ""), amount_text(o.amount, result.currency),
                 "" if o.is_current else amount_text(o.difference, result.currency), "" if o.is_current else _plan_pct(o.difference_pct),
                 o.missed_targets if o.measured else "not measured", amount_text(o.credits, result.currency)]
                for o in result.options], right={2, 3, 4, 5, 6})
    for option in result.options:
        if not option.is_current:
            echo(f"{option.service}: {option.sentence}")


@chargeback.command("plan")
@click.option("--fy", type=int, required=True, metavar="YYYY", help="The fiscal year to plan.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The workbook to write (.xlsx).")
@with_store
def plan(session, fy: int, out: Path) -> None:
    """Write the planning workbook: rate card, a sheet per business line with live cost formulas, summary."""
    from billing.api import plan_in

    found = plan_in(session, fy, on_progress=SeriesProgress("forecasting"))
    result = found.result
    out.write_bytes(found.workbook)
    print_problems(list(result.problems))
    echo(f"{out}: plan FY{result.fiscal_year} ({result.months[0]}..{result.months[-1]}"
               + (f", actual through {result.actual_through}" if result.actual_through else "") + f") for "
               f"{result.business_lines} business line(s), {result.services} service line(s); plan total "
               f"{amount_text(result.total, result.currency, code=True)}")


# --- planning (end) ---


if __name__ == "__main__":  # pragma: no cover
    chargeback()

"""Digest of everything the demo writes: proof that a change altered no document.

    python bench/demo_digest.py --write before.json      # on the code before a change
    python bench/demo_digest.py --check before.json      # on the code after it
    python bench/demo_digest.py --quick --write q.json   # a smaller demo (30 lines, 14 months)

The demo runs in a child process (``chargeback demo``) for a fixed last month, so two runs of
the same code write the same files. Every file it writes is digested (SHA-256): the input
files it generated, the statements, the journal, the FOCUS bill, and the workbooks. A
workbook's zip carries the time it was written, so an ``.xlsx`` is digested by its content
instead: every sheet's name and every cell's coordinate, value, number format and formula.
A statement says when it was prepared (``Prepared 02 December 2026, 04:40 UTC``): that time
is digested as ``Prepared <time>``, and the demo's folder (a new temporary one each run, which
the month pack names with each quarantined row's file) as ``<demo>``. The database is left out (it holds timestamps); what it
issued is in the documents.

``--check`` prints every file that differs, is missing or is new, and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THROUGH = "2026-10"
FULL = ["--through", THROUGH]
QUICK = ["--through", THROUGH, "--months", "14", "--rows", "2000", "--business-lines", "30", "--cost-centers", "150"]


def workbook_digest(path: Path) -> str:
    """The content of a workbook, not its zip (which carries the time it was written)."""
    from openpyxl import load_workbook

    digest = hashlib.sha256()
    book = load_workbook(path)
    for sheet in book.worksheets:
        digest.update(f"sheet {sheet.title}\n".encode())
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    digest.update(f"{cell.coordinate}\t{cell.value!r}\t{cell.number_format}\n".encode())
    for name, defined in sorted(book.defined_names.items()):
        digest.update(f"name {name} {defined.attr_text}\n".encode())
    return digest.hexdigest()


PREPARED = re.compile(rb"Prepared \d{1,2} \w+ \d{4}, \d{2}:\d{2} UTC")


def file_digest(path: Path, folder: Path | None = None) -> str:
    """A file's digest; in HTML the "Prepared" time is masked, and so is ``folder`` (the demo's
    own folder, a new temporary one each run, which the month pack names with each quarantined
    row's file)."""
    if path.suffix == ".xlsx":
        return workbook_digest(path)
    data = path.read_bytes()
    if path.suffix == ".html":
        data = PREPARED.sub(b"Prepared <time>", data)
        if folder is not None:
            data = data.replace(str(folder).encode(), b"<demo>")
    return hashlib.sha256(data).hexdigest()


def digest_folder(folder: Path) -> dict[str, str]:
    found = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("chargeback.db"):
            continue
        name = str(path.relative_to(folder))
        found[name] = file_digest(path, folder)
    return found


def run_demo(options: list[str]) -> dict[str, str]:
    engine = Path(sys.executable).with_name("chargeback")
    command = [str(engine)] if engine.exists() else [sys.executable, "-m", "cli"]
    with tempfile.TemporaryDirectory(prefix="chargeback-digest-") as folder:
        out = Path(folder) / "demo"
        subprocess.run([*command, "demo", "--out", str(out), *options], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        return digest_folder(out)


def compare(before: dict[str, str], after: dict[str, str]) -> list[str]:
    lines = [f"differs: {name}" for name in sorted(before.keys() & after.keys()) if before[name] != after[name]]
    lines += [f"missing: {name}" for name in sorted(before.keys() - after.keys())]
    lines += [f"new:     {name}" for name in sorted(after.keys() - before.keys())]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", type=Path, help="Write the digest of a demo run to this JSON file.")
    action.add_argument("--check", type=Path, help="Compare a demo run with this JSON file.")
    parser.add_argument("--quick", action="store_true", help="A smaller demo (30 business lines, 14 months).")
    args = parser.parse_args()
    options = QUICK if args.quick else FULL
    digest = run_demo(options)
    if args.write:
        args.write.write_text(json.dumps({"options": options, "files": digest}, indent=1, sort_keys=True))
        print(f"{len(digest)} files digested into {args.write}")
        return 0
    recorded = json.loads(args.check.read_text())
    if recorded["options"] != options:
        print(f"{args.check} was written with {' '.join(recorded['options'])}; run with the same options")
        return 2
    differences = compare(recorded["files"], digest)
    for line in differences:
        print(line)
    print(f"{len(digest)} files compared: " + (f"{len(differences)} differ" if differences else "all identical"))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())

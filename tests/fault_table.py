"""The fault table of `docs/faults.md`: one row per fault-injection test, declared beside the test with
`@fault(...)`, so the table says what the suite shows and nothing else.

    python tests/fault_table.py   # writes docs/faults.md from the tests' rows
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS: list[tuple] = []  # (module, line, fault, what happens, what is lost, test)


def fault(what: str, happens: str, lost: str = "nothing"):
    "Declare the row of the table that the decorated test shows."
    def mark(test):
        ROWS.append((test.__module__, test.__code__.co_firstlineno, what, happens, lost, test.__name__))
        return test
    return mark


def table() -> str:
    import test_faults, test_sweep  # noqa: F401 - their decorators fill ROWS
    lines = ["# Faults and what they cost",
             "",
             "Each row is a test of the suite (`tests/test_faults.py`, `tests/test_sweep.py`) that injects the",
             "fault into a real run on the CPU and checks the outcome; this file is written from those tests",
             "by `python tests/fault_table.py`, and a test checks it is up to date.",
             "",
             "| fault | what happens | what is lost | test |",
             "|---|---|---|---|"]
    lines += [f"| {w} | {h} | {l} | `{t}` |" for _, _, w, h, l, t in sorted(ROWS)]  # in file order
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import fault_table  # as the tests import it: the module their decorators fill
    (ROOT / "docs" / "faults.md").write_text(fault_table.table())

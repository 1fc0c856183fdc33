"""The preflight report: one row per check (OK / WARN / FAIL / SKIP) and the table it prints.

>>> report = Report()
>>> _ = report.ok("config composes", "recipe thinkj_grpo, 1 override(s)")
>>> _ = report.fail("data.train_files", "missing: train.parquet")
>>> print(report.table())
check             status  detail / fix
----------------  ------  ----------------------------------------
config composes   OK      recipe thinkj_grpo, 1 override(s)
data.train_files  FAIL    missing: train.parquet
<BLANKLINE>
1 check(s) FAILED (2 run)
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"


@dataclass
class Check:
    """One row of the report."""

    name: str
    status: str
    detail: str


class Report:
    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(self, name: str, status: str, detail: str) -> Check:
        check = Check(name, status, detail)
        self.checks.append(check)
        return check

    def ok(self, name: str, detail: str) -> Check:
        return self.add(name, OK, detail)

    def fail(self, name: str, detail: str) -> Check:
        return self.add(name, FAIL, detail)

    def warn(self, name: str, detail: str) -> Check:
        """A launch that runs but may not do what was meant (the exit status stays 0)."""
        return self.add(name, WARN, detail)

    def skip(self, name: str, detail: str) -> Check:
        return self.add(name, SKIP, detail)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    def table(self) -> str:
        width = max([len("check"), *(len(c.name) for c in self.checks)])
        lines = [f"{'check':<{width}}  {'status':<6}  detail / fix", f"{'-' * width}  ------  {'-' * 40}"]
        for c in self.checks:
            detail = c.detail.replace("\n", " ")
            lines.append(f"{c.name:<{width}}  {c.status:<6}  {detail}")
        verdict = f"{len(self.failed)} check(s) FAILED" if self.failed else "all checks passed"
        warnings_ = sum(c.status == WARN for c in self.checks)
        if warnings_:
            verdict += f", {warnings_} warning(s)"
        lines.append(f"\n{verdict} ({len(self.checks)} run)")
        return "\n".join(lines)


def quiet():
    """Silence verl's and the dataset's progress prints inside a check (the table is the output)."""
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    return stack



def error_text(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, (AssertionError, ValueError)) else text

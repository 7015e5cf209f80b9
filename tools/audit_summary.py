"""Summarise a `pip-audit --format json` report for `make audit`.

Exit 1 when a locked package has a known vulnerability that is not listed, with its reason,
in audit-ignore.txt. When the vulnerability database cannot be reached (no network, or an
index that is not PyPI) pip-audit skips every package yet prints "No known vulnerabilities
found"; this says instead, plainly, that nothing was audited, and does not fail the build.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

IGNORE_FILE = Path("audit-ignore.txt")  # lines: VULN-ID  reason (why it does not apply)


def ignored() -> dict[str, str]:
    if not IGNORE_FILE.exists():
        return {}
    entries = {}
    for line in IGNORE_FILE.read_text().splitlines():
        vuln, _, reason = line.partition(" ")
        if vuln and not vuln.startswith("#"):
            entries[vuln] = reason.strip()
    return entries


def main(report_path: str) -> int:
    report = Path(report_path)
    if not report.exists() or not report.read_text().strip():
        print("audit NOT done: pip-audit produced no report (no network to the "
              "vulnerability database?)")
        return 0
    dependencies = json.loads(report.read_text())["dependencies"]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = [d for d in dependencies if not d.get("skip_reason")]
    if not audited:
        print(f"audit NOT done: none of the {len(dependencies)} locked packages could be "
              "checked (the vulnerability database or PyPI is unreachable from here); "
              "run `make audit` where it is reachable (CI)")
        return 0
    allowed = ignored()
    findings = [(d["name"], d["version"], v["id"], v.get("fix_versions") or [])
                for d in audited for v in d.get("vulns", [])]
    open_findings = [f for f in findings if f[2] not in allowed]
    for name, version, vuln, fixes in findings:
        note = f"ignored: {allowed[vuln]}" if vuln in allowed else (
            f"fix: upgrade to {', '.join(fixes)}" if fixes else "no fixed release yet")
        print(f"{name} {version}: {vuln} ({note})")
    print(f"audited {len(audited)} of {len(dependencies)} locked packages"
          + (f" ({len(skipped)} could not be checked)" if skipped else "")
          + f": {len(open_findings)} open finding(s), {len(findings) - len(open_findings)} "
          "documented in audit-ignore.txt")
    return 1 if open_findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

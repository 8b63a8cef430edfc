"""Batch engine of ``cocity report``: many notebooks, few kernels, nothing half-written.

How a run goes (:func:`run_reports`):

1. The main process resolves the processed dir once to one dataset (``current`` ->
   ``runs/<run_id>``, :mod:`cocity_analysis.datasets`), checks that every file carries its run
   id, hashes the inputs of every report (the processed files it reads, the report code, the
   notebook) and, with ``changed_only``, drops the reports whose run id and hashes match the
   last successful run recorded in ``reports/manifest.json``.
2. ``jobs`` Jupyter kernels start at once, each warming itself up while it boots (imports of
   pandas and the report code), and each is kept for all the reports it makes. One asyncio
   loop in this process drives them all (:class:`Engine`): per report it parameterises the
   notebook with papermill (values stay Python strings: ``"064008"`` keeps its zero), resets the
   kernel's namespace and global state (:func:`kernel_reset`: ``%reset -f``, matplotlib rcParams
   and figures, warnings filters, random states, cwd, ``sys.path``, environment, pandas options,
   execution counter), executes the cells with nbclient in the already started kernel, and
   exports the HTML in-process (nbconvert, package template ``cocity``, compiled once). A
   report made this way is byte-identical to the same report made alone (tested).
3. A kernel that dies, hangs, or fails to start ("Kernel died before replying to
   kernel_info") is replaced by a fresh one and the report is retried once. A notebook
   error is not retried: it is the same error every time.
4. Every file is written atomically. A failed report keeps the previous good HTML in place
   and leaves its executed notebook in ``failed/<key>.ipynb``; each report has a log in
   ``logs/<key>.log``. The main process writes ``index.html`` and ``manifest.json`` last.

Output layout under ``out_dir``::

    index.html                  the 39 cities, sortable, links to every report
    overview.html               profiles, diagnostics, map by profile, priorities of the 39
    cities/<istat_code>.html    one report per city
    logs/<key>.log              what happened to each report in its last run
    failed/<key>.ipynb          executed notebook of a report that failed (removed once it works)
    manifest.json               per report: status, seconds, attempts, hashes, error

This module is imported inside kernels too (for :func:`kernel_warmup`/:func:`kernel_reset`), so
it imports only the standard library at module level.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import json
import logging
import os
import queue as _queue
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from cocity_analysis.errors import CocityError

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = 1
OVERVIEW_KEY = "overview"
KERNEL_STARTUP_TIMEOUT_S = 60
KERNEL_WARMUP_TIMEOUT_S = 120
CELL_TIMEOUT_S = 600
# modules imported once per kernel, before the first report (the point of reusing a kernel)
WARM_MODULES = ("numpy", "pandas", "yaml", "IPython.display", "cocity_analysis.reporting.views", "cocity_analysis.reporting.sections", "cocity_analysis.reporting.charts", "cocity_analysis.reporting.maps")


def _skip_slow_iri_checker() -> None:
    """Keep ``jsonschema`` from importing ``rfc3987_syntax`` in our processes.

    ``nbformat`` imports ``jsonschema``, whose format checkers import ``rfc3987_syntax`` when it is
    installed (pulled in by ``jsonschema[format-nongpl]``); that module compiles ~35 Earley
    grammars at import and costs about 2-3 s per process here (python-jsonschema/jsonschema#1428).
    Notebook validation never checks the ``iri`` formats it serves. Only effective before
    ``jsonschema`` is first imported; harmless otherwise.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Jobs and results
# ---------------------------------------------------------------------------


@dataclass
class Job:
    """One report to make."""

    key: str  # ISTAT code, or "overview"
    kind: str  # "city" | "overview"
    out_dir: str
    notebook: str
    parameters: dict
    target: str  # HTML path
    title: str
    lang: str
    inputs: dict = field(default_factory=dict)  # name -> sha256
    notebook_sha256: str = ""
    name: str = ""
    run_id: str | None = None  # the prepared dataset the report is made from


@dataclass
class CityResult:
    """Outcome of one report in a run (``city_code`` is the job key: a code or "overview")."""

    city_code: str
    status: str  # "ok" | "failed" | "unchanged"
    seconds: float
    error: str | None = None
    html_path: Path | None = None
    failed_notebook: Path | None = None
    attempts: int = 0
    kind: str = "city"
    html_bytes: int | None = None
    html_sha256: str | None = None
    log_path: Path | None = None
    worker: int | None = None  # number of the kernel that made it
    kernel_start_failures: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "unchanged")


@dataclass
class ReportRunSummary:
    """Per-report outcomes of :func:`run_reports`, the index path and the wall time."""

    results: list[CityResult] = field(default_factory=list)
    seconds: float = 0.0
    index_path: Path | None = None
    manifest_path: Path | None = None
    jobs: int = 0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def made(self) -> list[CityResult]:
        return [r for r in self.results if r.status == "ok"]

    @property
    def n_ok(self) -> int:
        return len(self.made)

    @property
    def failed(self) -> list[CityResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def unchanged(self) -> list[CityResult]:
        return [r for r in self.results if r.status == "unchanged"]

    def summary_line(self) -> str:
        """E.g. "39 report scritti, 0 falliti, 0 invariati in 14.2 s (2 processi)"."""
        return (f"{self.n_ok} report scritti, {len(self.failed)} falliti, {len(self.unchanged)} invariati "
                f"in {self.seconds:.1f} s (kernel in parallelo: {self.jobs})")


# ---------------------------------------------------------------------------
# Kernel side: state reset between reports (runs inside the kernel)
# ---------------------------------------------------------------------------

_KERNEL_SNAPSHOT: dict = {}


def kernel_warmup(modules: Sequence[str] = WARM_MODULES) -> None:
    """Import ``modules`` and take the snapshot of global state that :func:`kernel_reset` restores.

    Runs once in each kernel, before its first report (also in a kernel made for one report,
    so a report made alone goes through the same steps as one made in a batch).
    """
    import importlib
    import random
    import warnings

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    snapshot: dict = {
        "cwd": os.getcwd(),
        "sys_path": list(sys.path),
        "environ": dict(os.environ),
        "warnings": list(warnings.filters),
        "random": random.getstate(),
    }
    if "numpy" in sys.modules:
        snapshot["numpy_random"] = sys.modules["numpy"].random.get_state()
    if "matplotlib" in sys.modules:
        snapshot["rcparams"] = sys.modules["matplotlib"].rcParams.copy()  # no backend resolution
    _KERNEL_SNAPSHOT.clear()
    _KERNEL_SNAPSHOT.update(snapshot)


def kernel_reset(shell=None) -> None:
    """Give the next report the kernel state the first one had (see :func:`kernel_warmup`).

    Clears the user namespace and output cache (``%reset -f``), closes figures, restores
    matplotlib rcParams, warnings filters, ``random``/``numpy.random`` states, cwd,
    ``sys.path``, environment variables and pandas options, and restarts the execution
    counter. Modules stay imported: that is what makes reuse fast.
    """
    import gc
    import random
    import warnings

    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is not None:
        # %reset -f; IPython ends it with gc.collect() (60 ms with pandas loaded), which changes
        # nothing a report shows: skipped while resetting
        collect = gc.collect
        gc.collect = lambda *args, **kwargs: 0
        try:
            shell.reset(new_session=False)
        finally:
            gc.collect = collect
        shell.execution_count = 1
    if not _KERNEL_SNAPSHOT:  # the kernel did not warm up at boot (another kernelspec): do it now
        kernel_warmup()
    snap = _KERNEL_SNAPSHOT
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    if "matplotlib" in sys.modules:
        # imported before the snapshot: back to the snapshot; imported by an earlier report: back to
        # the values matplotlib had right after its import (rcParamsOrig)
        matplotlib = sys.modules["matplotlib"]
        saved = snap.get("rcparams", getattr(matplotlib, "rcParamsOrig", None))
        if saved is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                params = matplotlib.rcParams
                if hasattr(params, "_update_raw"):
                    params._update_raw(saved)  # noqa: SLF001 - no validation, no backend switch
                else:  # matplotlib < 3.10
                    dict.update(params, saved)  # type: ignore[arg-type]
    if "pandas" in sys.modules:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sys.modules["pandas"].reset_option("all")
    if "numpy_random" in snap and "numpy" in sys.modules:
        sys.modules["numpy"].random.set_state(snap["numpy_random"])
    random.setstate(snap["random"])
    warnings.filters[:] = snap["warnings"]
    if hasattr(warnings, "_filters_mutated"):
        warnings._filters_mutated()  # noqa: SLF001 - invalidate the C module's cache
    os.chdir(snap["cwd"])
    sys.path[:] = snap["sys_path"]
    if dict(os.environ) != snap["environ"]:
        os.environ.clear()
        os.environ.update(snap["environ"])


# run by the kernel itself while it boots (IPKernelApp.exec_lines): no name left in the namespace. IPython
# swallows an exception raised here and kernel_reset then warms up during the first report instead, so a
# test asks a booted kernel whether they ran.
WARMUP_LINES = ["__import__('importlib').import_module('cocity_analysis.reporting.batch').kernel_warmup()"]
RESET_CODE = (
    "import cocity_analysis.reporting.batch as _cocity_batch\n"
    "_cocity_batch.kernel_reset(get_ipython())\n"
)


# ---------------------------------------------------------------------------
# Worker side: a kernel kept across reports, papermill + nbclient, HTML in-process
# ---------------------------------------------------------------------------


class KernelProblem(RuntimeError):
    """The kernel died, hung or could not start: worth a fresh kernel and one retry."""

    def __init__(self, message: str, executed=None):
        super().__init__(message)
        self.executed = executed  # the notebook as far as it ran, when it did


class NotebookFailed(RuntimeError):
    """A cell raised: the same error would come again, no retry."""

    def __init__(self, message: str, executed=None):
        super().__init__(message)
        self.executed = executed


def _kernel_env() -> dict:
    env = dict(os.environ)
    # one BLAS thread per kernel: the kernels already use every core
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    env["PYTHONHASHSEED"] = "0"  # same set/dict order in every kernel: reproducible output
    env.pop("JPY_PARENT_PID", None)
    return env


class KernelSession:
    """One Jupyter kernel (local sockets in a private temp dir) kept alive across reports.

    The kernel warms itself up while it boots (``IPKernelApp.exec_lines`` runs
    :func:`kernel_warmup`): the imports every report needs are done once per kernel, before the
    first request, in parallel with whatever the engine does meanwhile.
    """

    def __init__(self, kernel_name: str, cwd: str, workdir: Path, number: int = 0):
        self.kernel_name = kernel_name
        self.cwd = cwd
        self.workdir = workdir
        self.number = number
        self.km = None
        self.kc = None
        self.starts = 0
        self._ready = False

    @property
    def alive(self) -> bool:
        return self.km is not None and self._ready

    async def launch(self) -> None:
        """Start the kernel process (returns as soon as it is spawned; see :meth:`ready`)."""
        from jupyter_client.manager import AsyncKernelManager

        await self.stop()
        self.starts += 1
        stem = self.workdir / f"kernel-{self.number}-{self.starts}"
        km = AsyncKernelManager(kernel_name=self.kernel_name, transport="ipc", ip=str(stem),
                                connection_file=str(stem) + ".json")
        self.km = km
        try:
            await km.start_kernel(cwd=self.cwd, env=_kernel_env(), extra_arguments=[
                "--HistoryManager.hist_file=:memory:",
                f"--IPKernelApp.exec_lines={WARMUP_LINES!r}",
            ])
        except Exception as exc:  # noqa: BLE001 - any start failure means: try a fresh kernel
            await self.stop()
            raise KernelProblem(f"il kernel non è partito: {type(exc).__name__}: {exc}") from exc

    async def ready(self) -> None:
        """Wait until the launched kernel answers (its warm-up included)."""
        if self.km is None:
            await self.launch()
        kc = self.km.client()
        kc.start_channels()
        self.kc = kc
        try:
            await kc.wait_for_ready(timeout=KERNEL_STARTUP_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - "Kernel died before replying to kernel_info", timeouts
            await self.stop()
            raise KernelProblem(f"il kernel non è partito: {type(exc).__name__}: {exc}") from exc
        kc.allow_stdin = False
        self._ready = True

    async def start(self) -> None:
        await self.launch()
        await self.ready()

    async def stop(self) -> None:
        kc, km = self.kc, self.km
        self.kc = self.km = None
        self._ready = False
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception:  # noqa: BLE001
                pass
        if km is not None:
            try:
                if await km.is_alive():
                    await km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001
                pass
            try:
                await km.cleanup_resources()
            except Exception:  # noqa: BLE001
                pass

    async def run_code(self, code: str, timeout: float, what: str) -> None:
        """Run ``code``; KernelProblem if the kernel dies or does not answer, RuntimeError on an error."""
        kc = self.kc
        msg_id = kc.execute(code, silent=False, store_history=False, stop_on_error=True)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KernelProblem(f"{what}: il kernel non risponde dopo {timeout:.0f} s")
            try:
                reply = await kc.get_shell_msg(timeout=min(1.0, remaining))
            except _queue.Empty:
                if not await self.km.is_alive():
                    raise KernelProblem(f"{what}: kernel morto") from None
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                break
        content = reply["content"]
        # drain iopub up to this request's "idle", so that nothing of it reaches the next notebook
        while True:
            try:
                message = await kc.get_iopub_msg(timeout=1.0)
            except _queue.Empty:
                break
            if (message.get("parent_header", {}).get("msg_id") == msg_id and message["msg_type"] == "status"
                    and message["content"].get("execution_state") == "idle"):
                break
        if content.get("status") != "ok":
            raise RuntimeError(f"{what}: {content.get('ename')}: {content.get('evalue')}")

    async def execute(self, nb, timeout: int):
        """Execute ``nb`` in this kernel with nbclient; return the executed notebook."""
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        client = NotebookClient(nb, km=self.km, timeout=timeout, kernel_name=self.kernel_name,
                                allow_errors=False, record_timing=True, resources={"metadata": {"path": self.cwd}})
        client.kc = self.kc
        try:
            await client.async_execute()
        except CellExecutionError as exc:
            raise NotebookFailed(_short_error(exc), client.nb) from None
        except CellTimeoutError as exc:
            raise KernelProblem(f"una cella non ha finito entro {timeout} s: {exc}", client.nb) from None
        except DeadKernelError as exc:
            raise KernelProblem(f"kernel morto durante l'esecuzione: {exc}", client.nb) from None
        except RuntimeError as exc:
            if not await self.km.is_alive():
                raise KernelProblem(f"kernel morto: {exc}", client.nb) from None
            raise
        return client.nb


def _short_error(exc) -> str:
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = getattr(exc, "evalue", None)
    if evalue is None:
        evalue = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
    return f"{ename}: {evalue}"


class Engine:
    """``jobs`` kernels, each kept for all the reports it makes, driven from one asyncio loop.

    The kernels are separate processes, so they compute in parallel; this process only sends
    cells, collects outputs and exports HTML (about 10 ms per report), sharing one set of imports
    and one compiled HTML exporter per language. Use :meth:`launch` as early as possible: kernels
    boot (and warm up) while the caller prepares the jobs.
    """

    def __init__(self, n_kernels: int, kernel_name: str, cwd: str, timeout: int = CELL_TIMEOUT_S):
        _skip_slow_iri_checker()
        self.loop = asyncio.new_event_loop()
        self.workdir = Path(tempfile.mkdtemp(prefix="cocity-kernels-"))
        self.sessions = [KernelSession(kernel_name, cwd, self.workdir, i) for i in range(max(1, n_kernels))]
        self.timeout = timeout
        self._exporters: dict[str, object] = {}
        self._notebooks: dict[str, tuple[str, object]] = {}
        self.launch_errors: list[str] = []

    # -- set-up ------------------------------------------------------------------------------

    def launch(self) -> "Engine":
        """Spawn the kernel processes now (a few ms each); they boot in the background."""
        async def launch_all():
            results = await asyncio.gather(*(s.launch() for s in self.sessions), return_exceptions=True)
            self.launch_errors = [str(r) for r in results if isinstance(r, BaseException)]

        self.loop.run_until_complete(launch_all())
        return self

    def prepare(self, langs: Sequence[str]) -> None:
        """Imports and compiled exporters (the first export compiles the templates: do it now)."""
        import nbclient  # noqa: F401
        import nbformat
        import papermill.parameterize  # noqa: F401

        empty = nbformat.v4.new_notebook()
        for lang in langs:
            export_html(empty, title="", lang=lang, exporter=self.exporter(lang))

    def exporter(self, lang: str):
        if lang not in self._exporters:
            self._exporters[lang] = _html_exporter(lang)
        return self._exporters[lang]

    def notebook(self, path: str):
        import nbformat

        text = Path(path).read_text(encoding="utf-8")
        cached = self._notebooks.get(path)
        if cached is None or cached[0] != text:
            cached = (text, json.loads(text))
            self._notebooks[path] = cached
        return nbformat.reads(cached[0], as_version=4)  # a private copy per report

    # -- running -----------------------------------------------------------------------------

    def run(self, jobs: list[Job], on_done) -> None:
        """Make ``jobs`` (first come, first served over the kernels); ``on_done(job, result)`` per report."""
        self.loop.run_until_complete(self._run(jobs, on_done))

    async def _run(self, jobs: list[Job], on_done) -> None:
        pending = list(jobs)
        retired: list[str] = []

        async def slot(session: KernelSession) -> None:
            while pending:
                job = pending.pop(0)
                result = await self._make(session, job)
                on_done(job, result)
                if result.status == "failed" and result.kernel_start_failures >= 2:
                    retired.append(result.error or "")
                    return  # this slot cannot get a kernel: leave the rest to the others

        await asyncio.gather(*(slot(s) for s in self.sessions))
        for job in pending:  # every slot retired
            on_done(job, CityResult(job.key, "failed", 0.0, kind=job.kind,
                                    error=f"nessun kernel disponibile: {retired[-1] if retired else ''}"))

    async def _make(self, session: KernelSession, job: Job) -> CityResult:
        from cocity_analysis.fileio import write_bytes_atomic
        from cocity_analysis.reporting.html_export import external_references

        start = time.perf_counter()
        lines = [f"{_now()} inizio {job.kind} {job.key} ({job.name}) lang={job.lang} kernel={session.number}",
                 f"notebook {job.notebook} sha256={job.notebook_sha256}",
                 f"parametri {json.dumps(job.parameters, ensure_ascii=False, sort_keys=True)}"]
        failed_path = Path(job.out_dir) / "failed" / f"{job.key}.ipynb"
        log_path = Path(job.out_dir) / "logs" / f"{job.key}.log"
        result = CityResult(job.key, "failed", 0.0, kind=job.kind, log_path=log_path, worker=session.number)
        executed = None
        for attempt in (1, 2):
            result.attempts = attempt
            executed = None
            try:
                if not session.alive:
                    if session.km is None:
                        lines.append(f"{_now()} avvio di un nuovo kernel")
                    try:
                        await session.ready()
                    except KernelProblem:
                        result.kernel_start_failures += 1
                        raise
                    lines.append(f"{_now()} kernel pronto (avvio n. {session.starts})")
                await session.run_code(RESET_CODE, 60, "azzeramento del kernel")
                nb = _parameterize(self.notebook(job.notebook), job.parameters)
                t0 = time.perf_counter()
                executed = await session.execute(nb, self.timeout)
                lines.append(f"{_now()} eseguito in {time.perf_counter() - t0:.2f} s (tentativo {attempt})")
                _log_cells(executed, lines)
                t1 = time.perf_counter()
                body = export_html(executed, title=job.title, lang=job.lang, exporter=self.exporter(job.lang))
                external = external_references(body)
                if external:
                    raise NotebookFailed(f"l'HTML caricherebbe risorse esterne: {external[:3]}", executed)
                data = body.encode("utf-8")
                write_bytes_atomic(Path(job.target), data)
                lines.append(f"{_now()} HTML esportato in {time.perf_counter() - t1:.2f} s, {len(data)} byte")
                if len(data) > _html_max_bytes():
                    lines.append(f"attenzione: l'HTML supera {_html_max_bytes()} byte")
                result.status = "ok"
                result.error = None
                result.html_path = Path(job.target)
                result.html_bytes = len(data)
                result.html_sha256 = hashlib.sha256(data).hexdigest()
                if failed_path.exists():  # a stale failure from an earlier run no longer applies
                    failed_path.unlink()
                break
            except KernelProblem as exc:
                result.error = str(exc)
                executed = exc.executed
                lines.append(f"{_now()} problema del kernel (tentativo {attempt}): {exc}")
                await session.stop()
                await self._relaunch(session, lines)  # the retry (or the next report) gets a fresh kernel
                if attempt == 1:
                    lines.append("nuovo tentativo con un kernel nuovo")
                    continue
            except NotebookFailed as exc:
                result.error = str(exc)
                executed = exc.executed if exc.executed is not None else executed
                lines.append(f"{_now()} errore nel notebook: {exc}")
                _log_cells(executed, lines)
                break
            except Exception as exc:  # noqa: BLE001 - one failing report must not stop the others
                result.error = f"{type(exc).__name__}: {exc}"
                lines.append(f"{_now()} errore: {result.error}")
                lines.append(traceback.format_exc())
                break
        if result.status != "ok":
            result.failed_notebook = _keep_failed(executed, failed_path, lines)
        result.seconds = time.perf_counter() - start
        lines.append(f"{_now()} fine: {result.status} in {result.seconds:.2f} s")
        _write_log(log_path, lines)
        return result

    async def _relaunch(self, session: KernelSession, lines: list[str]) -> None:
        try:
            await session.launch()
            lines.append(f"{_now()} nuovo kernel avviato")
        except KernelProblem as exc:
            lines.append(f"{_now()} nuovo kernel non avviato: {exc}")

    def close(self) -> None:
        async def stop_all():
            await asyncio.gather(*(s.stop() for s in self.sessions), return_exceptions=True)

        try:
            self.loop.run_until_complete(stop_all())
        finally:
            self.loop.close()
            shutil.rmtree(self.workdir, ignore_errors=True)


def _html_max_bytes() -> int:
    from cocity_analysis.reporting.html_export import HTML_MAX_BYTES

    return HTML_MAX_BYTES


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _write_log(path: Path, lines: list[str]) -> None:
    from cocity_analysis.fileio import write_text_atomic

    try:
        write_text_atomic(path, "\n".join(lines) + "\n")
    except OSError as exc:
        log.warning("log %s non scritto: %s", path, exc)


def _log_cells(nb, lines: list[str]) -> None:
    """Cell timings, stderr (warnings) and error tracebacks of an executed notebook, into the log."""
    import re

    if nb is None:
        return
    strip = re.compile(r"\x1b\[[0-9;]*m")
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        timing = cell.get("metadata", {}).get("execution", {})
        started, ended = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if started and ended:
            try:
                seconds = (_dt.datetime.fromisoformat(ended.replace("Z", "+00:00"))
                           - _dt.datetime.fromisoformat(started.replace("Z", "+00:00"))).total_seconds()
                lines.append(f"  cella {index}: {seconds:.3f} s")
            except ValueError:
                pass
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines.append(f"  cella {index} stderr: {str(output.get('text', '')).strip()[:2000]}")
            elif output.get("output_type") == "error":
                lines.append(f"  cella {index} errore {output.get('ename')}: {output.get('evalue')}")
                lines.extend("    " + strip.sub("", line) for line in output.get("traceback", []))


def _keep_failed(nb, path: Path, lines: list[str]) -> Path | None:
    if nb is None:
        return None
    import nbformat

    from cocity_analysis.fileio import write_text_atomic

    try:
        write_text_atomic(path, nbformat.writes(nb))
    except Exception as exc:  # noqa: BLE001
        lines.append(f"notebook eseguito non salvato: {exc}")
        return None
    lines.append(f"notebook eseguito conservato in {path}")
    return path


def _parameterize(nb, parameters: dict):
    """Inject ``parameters`` after the cell tagged ``parameters`` (papermill), as Python literals."""
    from papermill.parameterize import parameterize_notebook

    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:  # as papermill's own loader does
        cell.metadata.setdefault("tags", [])
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    return parameterize_notebook(nb, parameters, kernel_name=kernel, language="python")


def _html_exporter(lang: str):
    """The HTML exporter of the reports: package template ``cocity``, no code, no prompts.

    Two costs of nbconvert's HTMLExporter are skipped, both useless here: validating the
    notebook after every preprocessor (``optimistic_validation``: once at the end), and the
    BeautifulSoup pass that fills missing ``alt`` texts and makes outputs focusable (our
    fragments carry their own ``alt``/ARIA text). Together about 0.2 s per report.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    from cocity_analysis import config
    from cocity_analysis.reporting.html_export import REMOVED_CELL_TAGS, TEMPLATE_NAME

    class ReportHTMLExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code",
                                 self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    exporter = ReportHTMLExporter(
        # no code is shown, so no pygments stylesheet either
        config=Config({"CSSHTMLHeaderPreprocessor": {"enabled": False}}),
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(config.TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=False,  # outputs carry their images as data: URIs already; no markdown images
        optimistic_validation=True,
        language_code=lang,
    )
    remover = TagRemovePreprocessor(config=Config(), remove_cell_tags=set(REMOVED_CELL_TAGS))
    remover.enabled = True
    exporter.register_preprocessor(remover, enabled=True)
    return exporter


def export_html(notebook_node, *, title: str, lang: str = "it", exporter=None) -> str:
    """HTML of an executed notebook through the ``cocity`` template (inputs, prompts, stderr left out)."""
    exporter = exporter or _html_exporter(lang)
    body, _resources = exporter.from_notebook_node(notebook_node, resources={"metadata": {"name": title}})
    return body


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hash_files(paths) -> dict[str, str]:
    from cocity_analysis.fileio import sha256_file

    return {name: sha256_file(path) for name, path in paths if Path(path).is_file()}


def report_inputs(processed_dir: Path, kind: str) -> dict[str, str]:
    """sha256 of everything a report reads: processed files, report code, template, catalogue."""
    from cocity_analysis import config
    from cocity_analysis.reporting import views

    if kind == "overview":
        files = sorted(p for p in processed_dir.iterdir() if p.is_file() and not p.name.startswith("."))
        named = [(p.name, p) for p in files]
    else:
        named = [(name, processed_dir / name) for name in views.CITY_REPORT_INPUTS]
    code = [(f"code:{Path(p).relative_to(config.PACKAGE_DIR).as_posix()}", p)
            for p in views.REPORT_CODE_FILES]
    return _hash_files(named + code)


def read_manifest(out_dir: str | Path) -> dict:
    """The manifest of the last run in ``out_dir`` (empty when missing or unreadable)."""
    path = Path(out_dir) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return manifest if isinstance(manifest, dict) and isinstance(manifest.get("reports"), dict) else {}


def _fingerprint(job: Job) -> dict:
    return {"run_id": job.run_id, "inputs": job.inputs, "notebook_sha256": job.notebook_sha256, "lang": job.lang}


def _unchanged(job: Job, previous: dict) -> str | None:
    """The sha256 of the existing HTML when ``job`` needs no new run, else None."""
    from cocity_analysis.fileio import sha256_file

    last = (previous.get("reports", {}).get(job.key) or {}).get("last_success")
    if not last or any(last.get(k) != v for k, v in _fingerprint(job).items()):
        return None
    target = Path(job.target)
    if not target.is_file():
        return None
    digest = sha256_file(target)
    return digest if digest == last.get("html_sha256") else None


def _make_jobs(codes: Sequence[str], data, processed: Path, out_dir: Path, notebook: Path, lang: str,
               overview_notebook: Path | None) -> list[Job]:
    from cocity_analysis.reporting import messages, views
    from cocity_analysis.fileio import sha256_file

    jobs = []
    if overview_notebook is not None:
        jobs.append(Job(key=OVERVIEW_KEY, kind="overview", out_dir=str(out_dir), notebook=str(overview_notebook),
                        parameters={"lang": lang, "processed_dir": str(processed)},
                        target=str(out_dir / "overview.html"), title=views.overview_title(lang), lang=lang,
                        inputs=report_inputs(processed, "overview"), run_id=data.run_id,
                        notebook_sha256=sha256_file(overview_notebook), name=views.overview_title(lang)))
    city_inputs = report_inputs(processed, "city")
    notebook_hash = sha256_file(notebook)
    for code in codes:
        name = str(data.cities.at[code, "name"])
        title = messages._t(lang, "title", city=name, province=data.cities.at[code, "province_abbr"])
        jobs.append(Job(key=code, kind="city", out_dir=str(out_dir), notebook=str(notebook),
                        parameters={"city_code": code, "lang": lang, "processed_dir": str(processed)},
                        target=str(city_report_path(out_dir, code)), title=title, lang=lang,
                        inputs=city_inputs, notebook_sha256=notebook_hash, name=name, run_id=data.run_id))
    return jobs


def _manifest_entry(job: Job, result: CityResult, previous: dict, out_dir: Path) -> dict:
    entry = {
        "kind": job.kind,
        "name": job.name,
        "status": result.status,
        "seconds": round(result.seconds, 3),
        "attempts": result.attempts,
        "html": os.path.relpath(job.target, out_dir),
        "html_bytes": result.html_bytes,
        "html_sha256": result.html_sha256,
        "notebook": job.notebook,
        "notebook_sha256": job.notebook_sha256,
        "lang": job.lang,
        "run_id": job.run_id,
        "inputs": job.inputs,
        "error": result.error,
        "log": os.path.relpath(result.log_path, out_dir) if result.log_path else None,
        "failed_notebook": os.path.relpath(result.failed_notebook, out_dir) if result.failed_notebook else None,
        "finished_at": _now(),
    }
    last = (previous.get("reports", {}).get(job.key) or {}).get("last_success")
    if result.status == "ok":
        last = {**_fingerprint(job), "html_sha256": result.html_sha256, "finished_at": entry["finished_at"]}
    elif result.status == "unchanged":
        entry["html_bytes"] = Path(job.target).stat().st_size
        entry["html_sha256"] = last.get("html_sha256") if last else None
    entry["last_success"] = last
    return entry


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, desc="Report", unit="report", disable=None, file=sys.stderr, leave=False)


def run_reports(
    city_codes: Sequence[str] | None,
    *,
    processed_dir: str | Path,
    out_dir: str | Path,
    notebook: str | Path | None = None,
    lang: str = "it",
    jobs: int | None = None,
    changed_only: bool = False,
    overview: bool | None = None,
    overview_notebook: str | Path | None = None,
    kernel_name: str | None = None,
    timeout: int = CELL_TIMEOUT_S,
    progress: bool = True,
) -> ReportRunSummary:
    """Make the reports of ``city_codes`` (None = every prepared city), the overview and the index.

    Parameters
    ----------
    city_codes : list of str or None
        ISTAT codes as strings (``"064008"``); None for all prepared cities.
    jobs : int, optional
        Kernels working in parallel, each kept for all the reports it makes (default: the cores
        this process may use).
    changed_only : bool
        Skip the reports whose inputs, notebook and language match the last successful run
        in ``out_dir/manifest.json`` and whose HTML is still the one that run wrote.
    overview : bool, optional
        Make ``overview.html`` too; default: when all cities are requested.
    kernel_name : str, optional
        Jupyter kernel (default: the notebook's kernelspec).

    Returns
    -------
    ReportRunSummary
        One result per report; ``summary.ok`` is False when any failed. ``index.html`` and
        ``manifest.json`` are written in every case.
    """
    _skip_slow_iri_checker()
    from cocity_analysis import config  # light: the heavy imports come after the kernels are launched

    start = time.perf_counter()
    notebook = Path(notebook or config.CITY_REPORT_NOTEBOOK).resolve()
    n_wanted = max(1, jobs or default_jobs())
    if overview is None:
        overview = city_codes is None
    engine = None
    n_reports = None if city_codes is None else len(city_codes) + bool(overview)
    from cocity_analysis import datasets

    held = None
    try:  # resolved once (`current` of a processed folder): every report reads this dataset
        dataset_dir = datasets.resolve(processed_dir)[0]
    except CocityError:
        dataset_dir = Path(processed_dir)  # reported below
    likely_work = not changed_only or _probably_changed(dataset_dir, Path(out_dir), notebook, lang)
    if (likely_work and notebook.is_file() and lang in ("it", "en") and n_reports != 0
            and (dataset_dir / "cities.parquet").is_file()):
        # launch the kernels now: they boot and warm up while this process prepares the jobs
        n = n_wanted if n_reports is None else min(n_wanted, n_reports)
        engine = Engine(n, kernel_name or _kernel_name(notebook), str(notebook.parent), int(timeout)).launch()
    try:
        from cocity_analysis.reporting import messages, views

        messages._check_lang(lang)
        processed = views.check_processed_dir(dataset_dir).resolve()
        held = datasets.open_dataset(processed, verify_files=False, hold=True)  # not pruned while we read it
        out_dir = Path(out_dir).resolve()
        if not notebook.is_file():
            raise CocityError(f"notebook del report {notebook} non trovato")
        return _run(city_codes, processed, out_dir, notebook, lang, n_wanted, changed_only, overview,
                    overview_notebook, kernel_name, int(timeout), progress, engine, start)
    finally:
        if engine is not None:
            engine.close()
        if held is not None:
            held.release()


def _probably_changed(processed: Path, out_dir: Path, notebook: Path, lang: str) -> bool:
    """Cheap guess (no pandas) whether a ``--changed-only`` run will make any city report, to decide
    whether to launch the kernels before the exact check. Wrong guesses only cost time."""
    from cocity_analysis.fileio import sha256_file

    try:
        previous = read_manifest(out_dir).get("reports", {})
        cities = [e for e in previous.values() if e.get("kind") == "city"]
        if not cities or not processed.is_dir() or not notebook.is_file():
            return True
        run_id = json.loads((processed / "dataset.json").read_text(encoding="utf-8")).get("run_id")
        fingerprint = {"run_id": run_id, "inputs": report_inputs(processed.resolve(), "city"),
                       "notebook_sha256": sha256_file(notebook), "lang": lang}
        return any((e.get("last_success") or {}).get(k) != v for e in cities for k, v in fingerprint.items())
    except Exception:  # noqa: BLE001 - a guess
        return True


def _run(city_codes, processed: Path, out_dir: Path, notebook: Path, lang: str, n_wanted: int, changed_only: bool,
         overview: bool, overview_notebook, kernel_name: str | None, timeout: int, progress: bool,
         engine: "Engine | None", start: float) -> ReportRunSummary:
    from cocity_analysis.reporting import html_export, index_page, views
    from cocity_analysis.fileio import write_json_atomic, write_text_atomic

    data = views.read_processed(processed)
    if city_codes is None:
        codes = list(data.cities.index)
    else:
        codes = []
        for code in city_codes:
            code = views._check_code(code)
            if not views._CODE_RE.match(code):
                raise CocityError(f"il codice ISTAT della città deve avere 6 cifre come '064008', ricevuto {code!r}")
            codes.append(code)
        codes = list(dict.fromkeys(codes))
    ov_nb = Path(overview_notebook or html_export.OVERVIEW_NOTEBOOK).resolve() if overview else None
    if ov_nb is not None and not ov_nb.is_file():
        raise CocityError(f"notebook del quadro d'insieme {ov_nb} non trovato")

    known = [c for c in codes if c in data.cities.index]
    unknown = [c for c in codes if c not in data.cities.index]
    all_jobs = _make_jobs(known, data, processed, out_dir, notebook, lang, ov_nb)
    previous = read_manifest(out_dir)
    results: dict[str, CityResult] = {}
    for code in unknown:  # the notebook would say the same; no kernel needed for it
        results[code] = CityResult(code, "failed", 0.0, error=str(views._unknown_code_error(code, data.cities)))
    to_run = []
    for job in all_jobs:
        digest = _unchanged(job, previous) if changed_only else None
        if digest is not None:
            results[job.key] = CityResult(job.key, "unchanged", 0.0, kind=job.kind, html_path=Path(job.target),
                                          html_sha256=digest)
        else:
            to_run.append(job)

    n_kernels = 0
    if to_run:
        if engine is None:
            engine = Engine(min(n_wanted, len(to_run)), kernel_name or _kernel_name(notebook), str(notebook.parent),
                            timeout).launch()
            owned = engine
        else:
            owned = None
        n_kernels = len(engine.sessions)
        (out_dir / "cities").mkdir(parents=True, exist_ok=True)
        bar = _progress(len(to_run)) if progress else None

        def on_done(job: Job, result: CityResult) -> None:
            results[job.key] = result
            if bar is not None:
                bar.update()
            if result.status == "failed":
                log.error("%s: %s", job.key, result.error)

        try:
            engine.prepare([lang])
            engine.run(to_run, on_done)
        finally:
            if bar is not None:
                bar.close()
            if owned is not None:
                owned.close()

    order = [job.key for job in all_jobs] + unknown
    summary = ReportRunSummary(results=[results[k] for k in order if k in results], jobs=n_kernels)
    ok_codes = [r.city_code for r in summary.results if r.ok and r.kind == "city"]
    summary.index_path = write_text_atomic(
        out_dir / "index.html", index_page.index_html(processed, out_dir, ok_codes, lang=lang))

    done_jobs = {job.key: job for job in all_jobs}
    manifest = {"schema": MANIFEST_SCHEMA, "reports": dict(previous.get("reports", {}))}
    for result in summary.results:
        job = done_jobs.get(result.city_code)
        if job is None:
            manifest["reports"][result.city_code] = {"kind": "city", "status": "failed", "error": result.error,
                                                     "finished_at": _now(), "last_success": None}
            continue
        manifest["reports"][job.key] = _manifest_entry(job, result, previous, out_dir)
    summary.seconds = time.perf_counter() - start
    manifest["last_run"] = {
        "finished_at": _now(),
        "processed_dir": str(processed),
        "run_id": data.run_id,
        "lang": lang,
        "jobs": n_kernels,
        "seconds": round(summary.seconds, 3),
        "made": summary.n_ok,
        "failed": len(summary.failed),
        "unchanged": len(summary.unchanged),
        "summary": summary.summary_line(),
    }
    manifest["reports"] = dict(sorted(manifest["reports"].items()))
    summary.manifest_path = write_json_atomic(out_dir / MANIFEST_NAME, manifest)
    summary.seconds = time.perf_counter() - start
    return summary


def _kernel_name(notebook: Path) -> str:
    """The kernel ``notebook`` declares (``python3`` when it declares none), checked to be installed."""
    try:
        name = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["kernelspec"]["name"]
    except (OSError, KeyError, json.JSONDecodeError):
        name = "python3"
    check_kernel(name, notebook)
    return name


def check_kernel(name: str, notebook: Path | None = None) -> None:
    """Raise CocityError, saying how to install it, when the Jupyter kernel ``name`` is not installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from cocity_analysis import config

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        where = f" (dichiarato da {notebook})" if notebook else ""
        raise CocityError(
            f"kernel Jupyter «{name}» non installato{where}: eseguire `make setup` oppure "
            f"`python -m ipykernel install --sys-prefix --name {config.KERNEL_NAME} "
            f"--display-name {config.KERNEL_DISPLAY_NAME}` con il python di questo ambiente") from None


def render_one(city_code: str, *, processed_dir: str | Path, out_dir: str | Path, notebook: str | Path | None = None,
               lang: str = "it", kernel_name: str | None = None) -> Path:
    """Make one city's report alone, in a fresh kernel; raise ReportError when it fails.

    Goes through the same steps as a batch (warm-up, reset, execution, export), so its HTML is
    the reference a batch-made report is compared with. Does not touch index or manifest.
    """
    _skip_slow_iri_checker()
    from cocity_analysis import config
    from cocity_analysis.reporting import messages, views
    from cocity_analysis.fileio import sha256_file

    messages._check_lang(lang)
    code = views._check_code(city_code)
    if not views._CODE_RE.match(code):
        raise CocityError(f"il codice ISTAT della città deve avere 6 cifre come '064008', ricevuto {city_code!r}")
    processed = views.check_processed_dir(processed_dir).resolve()
    notebook = Path(notebook or config.CITY_REPORT_NOTEBOOK).resolve()
    if not notebook.is_file():
        raise CocityError(f"notebook del report {notebook} non trovato")
    out_dir = Path(out_dir).resolve()
    data = views.read_processed(processed)
    name = str(data.cities.at[code, "name"]) if code in data.cities.index else code
    title = (messages._t(lang, "title", city=name, province=data.cities.at[code, "province_abbr"])
             if code in data.cities.index else code)
    job = Job(key=code, kind="city", out_dir=str(out_dir), notebook=str(notebook),
              parameters={"city_code": code, "lang": lang, "processed_dir": str(processed)},
              target=str(city_report_path(out_dir, code)), title=title, lang=lang,
              notebook_sha256=sha256_file(notebook), name=name, run_id=data.run_id)
    outcome: list[CityResult] = []
    engine = Engine(1, kernel_name or _kernel_name(notebook), str(notebook.parent)).launch()
    try:
        engine.prepare([lang])
        engine.run([job], lambda _job, result: outcome.append(result))
    finally:
        engine.close()
    result = outcome[0]
    if not result.ok:
        raise ReportError(code, result.error or "errore sconosciuto", result.failed_notebook)
    return result.html_path


__all__ = ["CityResult", "Engine", "Job", "ReportRunSummary", "export_html", "kernel_reset", "kernel_warmup",
           "read_manifest", "render_one", "report_inputs", "run_reports"]


class ReportError(CocityError):
    """A report could not be produced; ``failed_notebook`` is the executed notebook kept for debugging."""

    def __init__(self, city_code: str, message: str, failed_notebook: Path | None = None):
        self.city_code = city_code
        self.failed_notebook = failed_notebook
        self.reason = message
        text = f"report per {city_code} non riuscito: {message}"
        if failed_notebook is not None:
            text += f" (notebook eseguito conservato in {failed_notebook})"
        super().__init__(text)


def city_report_path(out_dir: str | Path, city_code: str) -> Path:
    return Path(out_dir) / "cities" / f"{city_code}.html"


def failed_notebook_path(out_dir: str | Path, city_code: str) -> Path:
    return Path(out_dir) / "failed" / f"{city_code}.ipynb"

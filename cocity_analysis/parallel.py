"""Independent steps of ``cocity prepare`` in a second process, so that both cores work.

The analysis itself runs single-threaded (its matrices are small: threads only contend), so on
2 cores a step that does not depend on the others (reading some sources, the Monte Carlo, the
benchmarks, the map files) can run beside them. The child is *forked*: it starts with the parent's memory
(modules, data: its arguments are not copied through a pipe), and only its result travels back,
pickled. Where the platform cannot fork, or the machine has one core, the step runs in place and
:func:`submit` returns it already done: the result is the same either way, only the timing differs.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from typing import Any, Callable

#: ``COCITY_PARALLEL=0`` runs every step in place (e.g. to profile one process).
ENV_SWITCH = "COCITY_PARALLEL"
#: Niceness :func:`submit_when_idle` adds in its child: a tenth of a normal process's share of a busy
#: core (19, the lowest, gave no faster ``prepare`` and starves the step on a machine busy with other work).
IDLE_NICENESS = 10


def available() -> bool:
    """True when :func:`submit` runs its step in a forked child."""
    return (os.environ.get(ENV_SWITCH, "1") != "0" and (os.cpu_count() or 1) > 1
            and "fork" in multiprocessing.get_all_start_methods())


class Job:
    """A step started by :func:`submit`; :meth:`result` waits for it."""

    def __init__(self, process=None, connection=None, outcome: tuple | None = None):
        self._process, self._connection, self._outcome = process, connection, outcome

    def result(self) -> Any:
        """The step's value, or the error it raised raised here (once the child has ended)."""
        if self._outcome is None:
            try:
                self._outcome = self._connection.recv()
            except EOFError:
                self._process.join()
                self._outcome = ("error", RuntimeError(
                    f"the second process of this step ended without a result (exit code {self._process.exitcode})"))
            finally:
                self._connection.close()
            self._process.join()
        status, payload = self._outcome
        if status == "error":
            raise payload
        return payload

    def cancel(self) -> None:
        """Stop the child if its result was not taken (nobody will read it: the caller failed first)."""
        process = self._process
        if process is not None and self._outcome is None and process.is_alive():
            process.terminate()
            process.join()

    def __del__(self):
        try:
            self.cancel()
        except Exception:  # noqa: BLE001 - at interpreter exit the process machinery may be gone
            pass


def _run_child(connection, function, args, kwargs, niceness=0) -> None:
    if niceness:
        os.nice(niceness)
    try:
        outcome = ("ok", function(*args, **kwargs))
    except BaseException as error:  # noqa: BLE001 - whatever it is, the parent raises it
        outcome = ("error", error)
    try:
        connection.send(outcome)
    except OSError:
        pass  # the parent stopped waiting (it failed before asking for the result): nothing to report
    except Exception as error:  # noqa: BLE001 - a result that cannot be pickled
        try:
            connection.send(("error", RuntimeError(f"the result of this step cannot be sent back: {error!r}")))
        except OSError:
            pass
    connection.close()


def submit(function: Callable[..., Any], /, *args, **kwargs) -> Job:
    """Start ``function(*args, **kwargs)`` in a forked child process.

    Parameters
    ----------
    function : callable
        Its result (or the error it raises) must be picklable.
    *args, **kwargs
        Its arguments, as they are in this process now (the child is a copy of it).

    Returns
    -------
    Job
        ``result()`` gives the function's value or raises the error it raised.

    Examples
    --------
    >>> submit(sum, [1, 2, 3]).result()
    6
    >>> submit(int, "seven").result()
    Traceback (most recent call last):
    ...
    ValueError: invalid literal for int() with base 10: 'seven'
    """
    return _start(function, args, kwargs, niceness=0)


def submit_when_idle(function: Callable[..., Any], /, *args, **kwargs) -> Job:
    """:func:`submit` at a low scheduling priority (``nice`` +:data:`IDLE_NICENESS`).

    For a step nobody waits for until the end (the map files): while the other steps keep both cores
    busy it takes little of them, so it does not lengthen them, and it runs at full speed as soon as a
    core is free. The price: on a machine whose cores are busy with *other* programs it waits for them
    too (``prepare`` measured 15 -> 21 s beside two busy loops).

    Examples
    --------
    >>> submit_when_idle(sorted, [3, 1, 2]).result()
    [1, 2, 3]
    """
    return _start(function, args, kwargs, niceness=IDLE_NICENESS)


def _start(function, args, kwargs, *, niceness: int) -> Job:
    if not available():
        return run_in_place(function, *args, **kwargs)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_run_child, args=(sender, function, args, kwargs, niceness), daemon=True)
    # The child's garbage collector would write into the header of every object it inherits, copying
    # nearly every page of the parent (copy-on-write); frozen at the fork, they are left alone there.
    # The parent unfreezes at once: its own collections go on as before.
    gc.freeze()
    try:
        process.start()
    finally:
        gc.unfreeze()
    sender.close()  # the child holds its own end: EOF here when it ends without sending
    return Job(process, receiver)


def run_in_place(function: Callable[..., Any], /, *args, **kwargs) -> Job:
    """``function(*args, **kwargs)`` in this process, as a finished :class:`Job` (what :func:`submit`
    gives when it cannot fork): its error, if any, is raised by ``result()``.

    Examples
    --------
    >>> run_in_place(max, 2, 5).result()
    5
    """
    try:
        return Job(outcome=("ok", function(*args, **kwargs)))
    except Exception as error:  # noqa: BLE001 - raised by result(), where a child's error would be
        return Job(outcome=("error", error))

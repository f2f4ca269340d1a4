"""The progress bar of ``verbose=True`` fits (SVI steps, Gibbs sweeps).

One tqdm bar per run, on standard error, that ends with one line saying how
the run ended. Disabled, the bar does nothing and prints nothing, so callers
make one unconditionally.
"""

from __future__ import annotations

import sys

__all__ = ["ProgressBar"]


class ProgressBar:
    """A tqdm bar, or nothing, that closes with a final line.

    Parameters
    ----------
    total : int
        Iterations expected; ``extend`` adds to it.
    desc : str
        What runs (``"SVI"``, ``"Gibbs"``); it starts the bar and the final
        line.
    enabled : bool
        Whether to show anything at all.
    unit : str
        What one iteration is called.

    Notes
    -----
    Use it as a context manager: leaving the block closes the bar whether
    or not the run raised, and ``finish`` writes the final line after the
    bar is gone (``leave=False``), so the terminal keeps one line per run.

    Examples
    --------
    >>> import contextlib
    >>> import io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err), ProgressBar(4, "Demo") as bar:
    ...     bar.update(4, loss="1.5")
    ...     bar.finish("4 steps, loss 1.5")
    >>> err.getvalue().splitlines()[-1]
    'Demo: 4 steps, loss 1.5'
    >>> with ProgressBar(4, "Quiet", enabled=False) as bar:  # prints nothing
    ...     bar.update(4)
    ...     bar.finish("never shown")
    """

    def __init__(
        self, total: int, desc: str, *, enabled: bool = True, unit: str = "it"
    ):
        self.desc = desc
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            # The stream of the moment: a redirected or captured stderr too.
            self._file = sys.stderr
            self._bar = tqdm(
                total=total, desc=desc, unit=unit, leave=False, file=self._file
            )

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def enabled(self) -> bool:
        """Whether the bar is shown (and still open)."""
        return self._bar is not None

    def update(self, n: int = 1, **postfix) -> None:
        """Advance by ``n``; ``postfix`` (name to text) is shown after the bar."""
        if self._bar is None:
            return
        if postfix:
            self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(n)

    def phase(self, label: str) -> None:
        """Name the current phase after ``desc``: ``"Gibbs (warm-up)"``."""
        if self._bar is not None:
            self._bar.set_description(f"{self.desc} ({label})", refresh=False)

    def extend(self, n: int) -> None:
        """Expect ``n`` more iterations than so far."""
        if self._bar is not None:
            self._bar.total += n
            self._bar.refresh()

    def close(self) -> None:
        """Remove the bar (it leaves no line behind); idempotent."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def finish(self, summary: str) -> None:
        """Close the bar, then write ``"{desc}: {summary}"`` as its final line."""
        if self._bar is None:
            return
        from tqdm.auto import tqdm

        self.close()
        tqdm.write(f"{self.desc}: {summary}", file=self._file)
        self._file.flush()

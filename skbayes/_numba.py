"""The one way skbayes compiles a function with numba.

Compiled code is cached on disk beside its module, so a process pays the
compilation once per installation, not once per fit.
"""

from __future__ import annotations

import numba

__all__ = ["compiled"]


def compiled(function):
    """Compile ``function`` in nopython mode, lazily, on its first call.

    ``nogil``: two estimators fitting in two threads run side by side (each
    has its own generator, so nothing is shared). Reassociation and
    contraction let loops of dot products vectorise; unlike the rest of
    ``fastmath`` they assume nothing about NaN or infinity. Division follows
    numpy (a float divided by 0 is inf or NaN, not an exception).
    """
    return numba.njit(
        cache=True,
        nogil=True,
        error_model="numpy",
        fastmath={"reassoc", "contract"},
    )(function)

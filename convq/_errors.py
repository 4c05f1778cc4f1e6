"""Exceptions of convq."""


class DecodeError(ValueError):
    """A quantizer message (or any encoded payload) is malformed.

    Encoded messages come from outside (a network peer, a file), so decoders treat them
    as untrusted: a wrong length, an out-of-range field, non-zero padding bits or a
    range-coder state that is not the canonical code of a valid value all raise this.
    """


# scikit-learn's own class when it is installed, so that its users filter one warning
# (importing it costs nothing once scikit-learn is loaded; without it, a plain subclass)
try:
    from sklearn.exceptions import ConvergenceWarning
except ImportError:  # pragma: no cover - without scikit-learn
    class ConvergenceWarning(UserWarning):
        """The optimiser stopped before its tolerance was met (as scikit-learn's)."""


class NotLogConcaveWarning(RuntimeWarning):
    """A log-density is not concave on a sampled chord.

    The samplers of :mod:`convq.sampling` assume a log-concave density F (the mixing
    bounds of Frieze and Kannan, and the exact envelope of ``refine=True``). At set-up,
    ``grid_walk`` and ``ball_walk`` test a Python ``LogDensity`` on a few chords of the
    body (in the same call of the function as the start points, with their own fixed-seed
    generator, so the chains do not change) and warn with this class when log F falls
    below a chord. The built-in densities are log-concave and are not tested. Silence it
    with ``warnings.simplefilter("ignore", convq.NotLogConcaveWarning)``.
    """

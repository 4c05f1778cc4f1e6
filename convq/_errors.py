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

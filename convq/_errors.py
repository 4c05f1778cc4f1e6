"""Exceptions of convq."""


class DecodeError(ValueError):
    """A quantizer message (or any encoded payload) is malformed.

    Encoded messages come from outside (a network peer, a file), so decoders treat them
    as untrusted: a wrong length, an out-of-range field, non-zero padding bits or a
    range-coder state that is not the canonical code of a valid value all raise this.
    """

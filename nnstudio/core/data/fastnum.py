"""Vectorised parser for blocks of plain numeric delimited text.

``pandas.read_csv`` parses numbers in C; NumPy's own text parsers (``np.loadtxt``,
``np.fromstring``) and ``float()`` cost 250-300 ns a value, 8x slower. This module parses a
block of bytes such as ``b"1.5,-2,3\\n4,5.25,6\\n"`` with whole-array operations instead:

1. every token's last 16 bytes are gathered as two little-endian ``uint64`` words;
2. bytes before the token are masked off, non-digits (sign, dot) become digit 0;
3. eight digits per word are combined with three multiply/shift steps (the "SWAR" trick
   of simdjson's ``parse_eight_digits_unrolled``);
4. the decimal point is removed arithmetically: with ``S`` the digits read as one integer
   (the dot counting as a 0 digit) and ``f`` the digits after the dot,
   ``value = (S mod 10**f + (S - S mod 10**f) / 10) / 10**f``.

Every step is exact for tokens of at most 15 characters (at most 15 digits, so ``S < 2**53``)
and the final division by an exact power of ten rounds once: the result equals
``float(token)`` bit for bit. Longer tokens and tokens with an exponent (``1e-5``) are parsed
one by one with ``float()``. Anything else (quotes, spaces, letters, ``nan``, a misplaced sign,
a ragged row) makes :func:`parse_numeric_block` return ``None`` and the caller falls back to
the general ``csv``-module reader, which also produces the precise error message.
"""

from __future__ import annotations

import numpy as np

#: Bytes the fast path understands (the delimiter and newline are added per call).
_ALLOWED = b"0123456789.-+eE"

#: Leading pad bytes the caller puts before a block so ``word[end - 16]`` never underflows.
PAD = 16

_U = np.uint64
_FULL = (1 << 64) - 1
#: KEEP[k] keeps the k highest bytes of a word (the last k characters before the token end).
_KEEP = np.array([0] + [_FULL ^ ((1 << (8 * (8 - k))) - 1) for k in range(1, 9)], dtype=_U)
_B01 = _U(0x0101010101010101)
_B10 = _U(0x1010101010101010)
_B0F = _U(0x0F0F0F0F0F0F0F0F)
_M1 = _U(0x000000FF000000FF)
_MUL1 = _U(0x000F424000000064)  # 100 + (1_000_000 << 32)
_MUL2 = _U(0x0000271000000001)  # 1 + (10_000 << 32)
#: Indexed by (digits after the dot + 1), 0 meaning "no dot".
_POW10_1 = np.concatenate([[1.0], 10.0 ** np.arange(16)])
_DIV = np.concatenate([[1.0], np.full(16, 10.0)])
_SIGNED_POW10_1 = np.concatenate([_POW10_1, -_POW10_1])


def _digits_word(x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clean one word per token.

    Parameters
    ----------
    x : uint64 (T,)
        The 8 bytes ending at a position, first character in the lowest byte.
    n : intp (T,)
        How many of the highest bytes belong to the token (0-8).

    Returns
    -------
    digits : uint64 (T,)
        One digit value 0-9 per byte; bytes outside the token, signs and dots are 0.
    dot : uint64 (T,)
        0x01 in the byte holding ``.``, else 0.
    ndig : intp (T,)
        Number of digit bytes.
    """
    x &= _KEEP[n]
    # In the token only digits (0x30-0x39) and . - + (0x2e 0x2d 0x2b) remain, so bit 4
    # tells digits apart, and "bits 1, 2 and 3 all set" singles out '.' (0x2e).
    dot = (x >> _U(1)) & (x >> _U(2)) & (x >> _U(3)) & _B01
    m = x & _B10
    m -= m >> _U(4)  # 0x0F in digit bytes, no borrow between bytes
    x &= m
    ndig = np.bitwise_count(m) >> np.uint8(2)
    return x, dot, ndig


def _swar8(x: np.ndarray) -> np.ndarray:
    """Eight digit bytes (first digit lowest) -> their integer value, uint64 (T,)."""
    x = x * _U(10) + (x >> _U(8))
    return (((x & _M1) * _MUL1) + (((x >> _U(16)) & _M1) * _MUL2)) >> _U(32)


def _dot_offset(dot: np.ndarray) -> np.ndarray:
    """Byte index of the dot in a word (0-7), 8 if the word has none."""
    return (np.bitwise_count(dot - _U(1)) >> np.uint8(3)).astype(np.intp)


def parse_numeric_block(buf: bytes, ncols: int, delimiter: bytes) -> np.ndarray | None:
    """Parse a block of purely numeric delimited rows.

    Parameters
    ----------
    buf : bytes
        ``PAD`` filler bytes (``b"0" * PAD``) followed by whole lines, each ending in ``\\n``
        (no ``\\r``), without header.
    ncols : int
        Expected number of fields in every row.
    delimiter : bytes
        One byte, e.g. ``b","``.

    Returns
    -------
    float64 (rows, ncols) or None
        Empty fields become NaN. ``None`` when the block holds anything this fast path does
        not handle; the caller then reparses the block with the general reader.
    """
    if buf.translate(None, _ALLOWED + delimiter + b"\n"):
        return None
    b = np.frombuffer(buf, np.uint8)
    dl = delimiter[0]
    sep = np.flatnonzero((b == dl) | (b == 10))
    ntok = sep.size
    if ntok == 0 or ntok % ncols:
        return None
    # Every ncols-th separator must be the end of a line, and no other.
    is_nl = b[sep] == 10
    rows = is_nl.reshape(-1, ncols)
    if not rows[:, -1].all() or (ncols > 1 and rows[:, :-1].any()):
        return None
    ln = np.empty_like(sep)
    ln[0] = sep[0] - PAD
    np.subtract(sep[1:], sep[:-1], out=ln[1:])
    ln -= 1
    ln[0] += 1
    special = ln > 15
    if b"e" in buf or b"E" in buf:
        epos = np.flatnonzero((b == 101) | (b == 69))
        special[np.searchsorted(sep, epos)] = True

    words = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    lo, dot_lo, nd = _digits_word(words[sep - 8], np.minimum(ln, 8))
    value = _swar8(lo).astype(np.float64)
    # frac1 = digits after the dot + 1, or 0 when there is no dot.
    frac1 = 8 - _dot_offset(dot_lo)
    long_idx = np.flatnonzero(ln > 8)
    if long_idx.size:
        sub = np.minimum(ln[long_idx] - 8, 8)
        hi, dot_hi, nd_hi = _digits_word(words[sep[long_idx] - 16], sub)
        value[long_idx] += _swar8(hi).astype(np.float64) * 1e8
        nd[long_idx] += nd_hi
        in_hi = np.flatnonzero(dot_hi)
        frac1[long_idx[in_hi]] = 16 - _dot_offset(dot_hi[in_hi])

    first = b[sep - ln]
    neg = first == 45
    # Grammar checks by counting: one dot at most, signs only in front, a digit somewhere.
    if np.any((nd == 0) != (ln == 0)):
        return None
    spec_idx = np.flatnonzero(special)
    ends, lens = sep[spec_idx].tolist(), ln[spec_idx].tolist()
    spec_tokens = [buf[s - n : s] for s, n in zip(ends, lens, strict=True)]
    n_dots = int(np.count_nonzero(frac1)) - int(np.count_nonzero(frac1[spec_idx]))
    n_dots += sum(t.count(b".") for t in spec_tokens)
    if buf.count(b".") != n_dots:
        return None
    signed = neg | (first == 43)
    signed &= ln > 0
    n_signs = int(np.count_nonzero(signed)) - int(np.count_nonzero(signed[spec_idx]))
    n_signs += sum(t.count(b"-") + t.count(b"+") for t in spec_tokens)
    if buf.count(b"-") + buf.count(b"+") != n_signs:
        return None

    p = _POW10_1[frac1]
    q = np.floor(value / p)
    q *= p  # the digits left of the dot, still followed by the dot's 0 digit
    value -= q
    q /= _DIV[frac1]
    value += q
    value /= _SIGNED_POW10_1[frac1 + 17 * neg]
    value[ln == 0] = np.nan
    if spec_tokens:
        try:
            value[spec_idx] = [float(t) for t in spec_tokens]
        except ValueError:
            return None
    return value.reshape(-1, ncols)

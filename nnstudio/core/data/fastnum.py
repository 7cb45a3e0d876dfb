"""Vectorised parser for blocks of plain numeric delimited text.

``pandas.read_csv`` parses numbers in C; NumPy's own text parsers (``np.loadtxt``,
``np.fromstring``) and ``float()`` cost 250-300 ns a value, 8x slower. This module parses a
block of bytes such as ``b"1.5,-2,3\\n4,5.25,6\\n"`` with whole-array operations instead:

1. every token's last bytes are gathered as little-endian ``uint64`` words;
2. bytes before the token are masked off, non-digits (sign, dot) become digit 0;
3. eight digits per word are combined with three multiply/shift steps (the "SWAR" trick
   of simdjson's ``parse_eight_digits_unrolled``);
4. the decimal point is removed: arithmetically for short tokens (with ``S`` the digits read
   as one integer, the dot a 0 digit, and ``f`` the digits after the dot,
   ``value = (S mod 10**f + (S - S mod 10**f) / 10) / 10**f``), by deleting every dot from
   the block when each token has one (Python's ``repr``, ``%.18e``), or by moving the digits
   before it one byte up.

Results are bit-for-bit ``float(token)`` (correctly rounded): short tokens (at most 15
characters, no exponent) stay below 2**53 and round once; longer mantissas (up to 19 digits)
and exponents (``1.5e-07``) are scaled with a double-double correction (see
:func:`_scale_exact`). Mantissas of more than 19 digits and exponents beyond +-22 go to
``float()`` one by one. Anything else (quotes, spaces, letters, ``nan``, a misplaced sign, a
ragged row) makes :func:`parse_numeric_block` return ``None`` and the caller falls back to the
general ``csv``-module reader, which also writes the precise error message.
"""

from __future__ import annotations

import numpy as np

#: Bytes the fast path understands (the delimiter and newline are added per call).
_ALLOWED = b"0123456789.-+eE"

#: Leading pad bytes the caller puts before a block so ``word[end - 32]`` never underflows.
PAD = 32

_U = np.uint64
_FULL = (1 << 64) - 1
#: KEEP[k] keeps the k highest bytes of a word (the last k characters before the token end).
_KEEP = np.array([0] + [_FULL ^ ((1 << (8 * (8 - k))) - 1) for k in range(1, 9)], dtype=_U)
_B01 = _U(0x0101010101010101)
_B10 = _U(0x1010101010101010)
_B0F = _U(0x0F0F0F0F0F0F0F0F)
_B02 = _U(0x0202020202020202)
_M1 = _U(0x000000FF000000FF)
_MUL1 = _U(0x000F424000000064)  # 100 + (1_000_000 << 32)
_MUL2 = _U(0x0000271000000001)  # 1 + (10_000 << 32)
#: Indexed by (digits after the dot + 1), 0 meaning "no dot".
_POW10_1 = np.concatenate([[1.0], 10.0 ** np.arange(16)])
_DIV = np.concatenate([[1.0], np.full(16, 10.0)])
_SIGNED_POW10_1 = np.concatenate([_POW10_1, -_POW10_1])
_POW10 = 10.0 ** np.arange(23)
#: 10**k (k < 23) then -10**k, and their Veltkamp halves (hi + lo == value, 26 bits each).
_SPOW10 = np.concatenate([_POW10, -_POW10])
_SPOW10_HI = _SPOW10 * 134217729.0 - (_SPOW10 * 134217729.0 - _SPOW10)
_SPOW10_LO = _SPOW10 - _SPOW10_HI
#: Bytes above / below byte k of a word (k = 8: no dot in the word).
_ABOVE = np.array([_FULL ^ ((1 << (8 * (k + 1))) - 1) for k in range(8)] + [_FULL], dtype=_U)
_BELOW = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [0], dtype=_U)


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


def _short_tokens(buf: bytes, b: np.ndarray, sep: np.ndarray, ln: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Parse tokens of at most 15 characters without exponent (two words each, exact).

    Returns float64 values (T,) and a bool (T,) grammar check; longer tokens get garbage
    here and are overwritten by the caller.
    """
    words = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    lo, dot_lo, nd = _digits_word(words[sep - 8], np.minimum(ln, 8))
    value = _swar8(lo).astype(np.float64)
    frac1 = 8 - _dot_offset(dot_lo)  # digits after the dot + 1; 0 = no dot
    long_idx = np.flatnonzero(ln > 8)
    if long_idx.size:
        sub = np.minimum(ln[long_idx] - 8, 8)
        hi, dot_hi, nd_hi = _digits_word(words[sep[long_idx] - 16], sub)
        value[long_idx] += _swar8(hi).astype(np.float64) * 1e8
        nd[long_idx] += nd_hi
        in_hi = np.flatnonzero(dot_hi)
        frac1[long_idx[in_hi]] = 16 - _dot_offset(dot_hi[in_hi])
        # Two dots (one per word) are caught by the count check below.
        frac1[long_idx] += 16 * ((dot_lo[long_idx] != 0) & (dot_hi != 0))
    first = b[sep - ln]
    neg = first == 45
    signed = (neg | (first == 43)) & (ln > 0)
    # Grammar by counting: only digits, one dot at most and one leading sign are allowed.
    n_dots = (frac1 > 0).astype(np.intp) + (frac1 > 16)
    valid = (nd > 0) & (ln - nd == n_dots + signed)
    f1 = np.minimum(frac1, 16)
    p = _POW10_1[f1]
    q = np.floor(value / p)
    q *= p  # the digits left of the dot, still followed by the dot's 0 digit
    value -= q
    q /= _DIV[f1]
    value += q
    value /= _SIGNED_POW10_1[f1 + 17 * neg]
    return value, valid


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's error-free product: a * b == p + e exactly (float64 arrays)."""
    p = a * b
    ca, cb = a * 134217729.0, b * 134217729.0  # 2**27 + 1: Veltkamp splitting
    ah = ca - (ca - a)
    bh = cb - (cb - b)
    al, bl = a - ah, b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def _scale_exact(m: np.ndarray, scale: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """float64 nearest to (-1 if negative) * m * 10**scale, for uint64 m and |scale| <= 22.

    ``float(m)`` may already be rounded (m > 2**53), so a plain multiply or divide could be
    off by one unit in the last place. The rounding error of m and of the quotient/product
    is carried exactly (double-double, with 10**k pre-split) and added back before the
    final rounding, which makes the result correctly rounded.
    """
    mh = m.astype(np.float64)
    k = np.abs(scale) + 23 * negative  # index into the signed power tables
    p = _SPOW10[k]
    down = not (scale > 0).any()
    out = mh / p if down else np.where(scale > 0, mh * np.abs(p), mh / np.abs(p))
    if negative.any() and not down:
        out[negative] *= -1
    wide = m > _U(1 << 53)
    if not wide.any():
        return out  # every m was exact: one rounding only
    idx = None if wide.mean() > 0.5 else np.flatnonzero(wide)
    if idx is not None:
        m, mh, k, p, scale, out_sub = m[idx], mh[idx], k[idx], p[idx], scale[idx], out[idx]
    else:
        out_sub = out
    big = mh >= 18446744073709551616.0  # rounded up to 2**64: error not measurable here
    ml = (m - np.where(big, 0.0, mh).astype(_U)).view(np.int64).astype(np.float64)
    ml[big] = np.nan
    ph, pl = _SPOW10_HI[k], _SPOW10_LO[k]
    if down:  # q = m / p: add (m - q * p) / p, with q * p computed exactly
        q = out_sub
        qs = q * 134217729.0
        qh = qs - (qs - q)
        ql = q - qh
        prod = q * p
        err = ((qh * ph - prod) + qh * pl + ql * ph) + ql * pl
        fixed = q + (((mh - prod) - err) + ml) / p
    else:
        fixed = np.empty_like(mh)
        for sel, mul in ((scale > 0, True), (scale <= 0, False)):
            if not sel.any():
                continue
            ps = p[sel]
            if mul:  # m * |p| (sign restored below)
                pa = np.abs(ps)
                prod, err = _two_product(mh[sel], pa)
                fixed[sel] = np.copysign(prod + (err + ml[sel] * pa), ps)
            else:
                q = mh[sel] / ps
                qh_, ql_ = _two_product(q, ps)
                fixed[sel] = q + (((mh[sel] - qh_) - ql_) + ml[sel]) / ps
    if idx is None:
        return fixed
    out[idx] = fixed
    return out


def _mantissa_words(buf: bytes, mend: np.ndarray, mlen: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """Gather the mantissa bytes of each token as words.

    Returns
    -------
    x : uint64 (nw, T)
        Low nibbles of the mantissa bytes (the last byte in the top byte of row nw - 1);
        bytes before the token are 0.
    m : uint64 (nw, T)
        0x0F in the bytes holding digits.
    nw : int
    """
    nw = max(1, -(-int(mlen.max()) // 8))
    width = 8 * nw
    items = np.ndarray((len(buf) - width + 1,), dtype=f"V{width}", buffer=buf, strides=(1,))
    x = items[mend - width].view("<u8").reshape(-1, nw).T.copy()  # (nw, T); row nw-1 last
    for i in range(nw):  # blank the bytes before the token (whole words inside need nothing)
        n = mlen - 8 * (nw - 1 - i)
        if n.min() < 8:
            x[i] &= _KEEP[np.minimum(np.maximum(n, 0), 8)]
    m = x & _B10
    m -= m >> _U(4)  # 0x0F in digit bytes
    x &= _B0F  # low nibbles: digits 0-9, '.' 0xE, '-' 0xD, '+' 0xB
    return x, m, nw


def _long_tokens(buf: bytes, b: np.ndarray, mend: np.ndarray, mlen: np.ndarray,
                 sep: np.ndarray, epos: np.ndarray | None, dotpos: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse tokens with up to 32 mantissa characters and an optional exponent.

    The mantissa's bytes are gathered as ``nw`` words per token, laid out ``(nw, T)`` so that
    each step is one whole-array operation; the dot is removed by moving the digits before it
    up one byte, and the exact integer mantissa is scaled by :func:`_scale_exact`.

    Parameters
    ----------
    buf : bytes
    b : uint8 (bytes,)
        ``buf`` as an array.
    mend, mlen : intp (T,)
        End (exclusive) and length of each token's mantissa (sign, digits, dot).
    sep : intp (T,)
        End of each token.
    epos : intp (T,) or None
        Position of the ``e``/``E`` (-1 when none); None when no token has one.
    dotpos : intp (T,) or None
        Position of each token's one dot, when the caller knows every token has one.

    Returns
    -------
    values : float64 (T,)
    ok : bool (T,)
        Parsed here; the others (more than 19 digits, exponents past +-22) go to ``float()``.
    valid : bool (T,)
        The grammar holds (false means "not a number": the block is refused).
    """
    first = b[mend - mlen]
    if dotpos is not None:
        # Every token has one dot: delete them all from the bytes (token t moves t + 1 to
        # the left) and read plain integers; no dot handling per token is left.
        has_dot = np.ones(mlen.size, bool)
        frac = mend - dotpos - 1
        shift = np.arange(1, mlen.size + 1)
        x, m, nw = _mantissa_words(buf.replace(b".", b""), mend - shift, mlen - 1)
        x &= m
        ndig = (np.bitwise_count(m).sum(axis=0, dtype=np.intp)) >> 2
        valid = (ndig > 0) & (mlen - 1 - ndig == ((first == 45) | (first == 43)))
    else:
        x, m, nw = _mantissa_words(buf, mend, mlen)
        rows = np.arange(nw)[:, None]
        dot = (x + _B02) & _B10  # 0x10 in the byte holding '.'
        hit = dot != 0
        off = (np.bitwise_count(dot - _U(1)) >> np.uint8(3)).astype(np.intp)  # its byte
        has_dot = hit.any(axis=0)
        gw = (hit * rows).sum(axis=0) - ~has_dot  # word holding the dot, -1 if none
        k = np.where(has_dot, (hit * off).sum(axis=0), 8)
        x &= m
        ndig = (np.bitwise_count(m).sum(axis=0, dtype=np.intp)) >> 2
        frac = ((nw - 1 - gw) * 8 + 7 - k) * has_dot
        # Remove the dot: the digits before it move up one byte (towards the end).
        carry = np.zeros_like(x)
        carry[1:] = x[:-1] >> _U(56)
        moved = (x << _U(8)) | carry
        at_dot = (x & _ABOVE[k]) | ((x & _BELOW[k]) << _U(8)) | carry
        np.copyto(x, moved, where=rows < gw)
        np.copyto(x, at_dot, where=rows == gw)
        signed = ((first == 45) | (first == 43)) & (mlen > 0)
        valid = (ndig > 0) & (mlen - ndig == has_dot.astype(np.intp) + signed)
    digits = _swar8(x)
    total = digits[0].copy()
    overflow = np.zeros(mlen.size, bool)
    for i in range(1, nw):
        if i >= 2:
            overflow |= total > _U(184467440736)  # total * 1e8 + digits would pass 2**64
        total *= _U(100_000_000)
        total += digits[i]
    scale = -frac
    ei = np.flatnonzero(epos >= 0) if epos is not None else ()
    if len(ei):
        se, pe = sep[ei], epos[ei]
        elen = se - pe - 1
        words = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
        ex, _, end = _digits_word(words[se - 8], np.minimum(elen, 8))
        ex = _swar8(ex).astype(np.intp)
        efirst = b[pe + 1]
        esigned = (efirst == 45) | (efirst == 43)
        valid[ei] &= (end > 0) & (elen - end == esigned) & (elen <= 8)
        ex[efirst == 45] *= -1
        scale[ei] += ex
    ok = ~overflow & (np.abs(scale) <= 22)
    values = _scale_exact(total, np.minimum(np.maximum(scale, -22), 22), first == 45)
    ok &= np.isfinite(values)
    return values, ok, valid


def _find_all(buf: bytes, needles: tuple[bytes, ...]) -> np.ndarray:
    """Sorted positions of a few rare bytes (cheaper than a whole-array pass)."""
    found = []
    for needle in needles:
        i = buf.find(needle)
        while i >= 0:
            found.append(i)
            i = buf.find(needle, i + 1)
    return np.array(sorted(found), dtype=np.intp)


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
    sep = np.flatnonzero((b == delimiter[0]) | (b == 10))
    ntok = sep.size
    if ntok == 0 or ntok % ncols:
        return None
    # Every ncols-th separator must be the end of a line, and no other.
    rows = (b[sep] == 10).reshape(-1, ncols)
    if not rows[:, -1].all() or (ncols > 1 and rows[:, :-1].any()):
        return None
    ln = np.empty_like(sep)
    ln[0] = sep[0] - PAD
    np.subtract(sep[1:], sep[:-1], out=ln[1:])
    ln[1:] -= 1

    # Long tokens and exponents (Python's repr, %.18e, 1e-05) need the wider parser.
    special = ln > 15
    epos_tok = None
    n_e = buf.count(b"e") + buf.count(b"E")
    if n_e:
        epos = _find_all(buf, (b"e", b"E")) if n_e < 1000 else \
            np.flatnonzero((b == 101) | (b == 69))
        etok = np.searchsorted(sep, epos)
        if etok.size > 1 and not np.all(np.diff(etok)):
            return None  # two exponents in one token
        special[etok] = True
        epos_tok = np.full(ntok, -1, np.intp)
        epos_tok[etok] = epos
    n_special = int(np.count_nonzero(special))
    if n_special > ntok // 2:  # mostly long tokens: parse all of them the wide way
        value = np.empty(ntok)
        valid = np.ones(ntok, bool)
        spec = np.arange(ntok)
    else:
        value, valid = _short_tokens(buf, b, sep, ln)
        spec = np.flatnonzero(special)
    if spec.size:
        mend = sep[spec] if epos_tok is None else np.where(epos_tok[spec] >= 0,
                                                             epos_tok[spec], sep[spec])
        mlen = mend - (sep[spec] - ln[spec])
        short = mlen <= 32
        idx = spec[short]
        dotpos = None
        if spec.size == ntok and short.all():
            # Typical of long tokens (0.1257302210933933): one dot each, found in one pass.
            dots = np.flatnonzero(b == 46)
            if dots.size == ntok and np.all(dots >= mend - mlen) and np.all(dots < mend):
                dotpos = dots
        if idx.size:
            vals, ok, good = _long_tokens(buf, b, mend[short], mlen[short], sep[idx],
                                          None if epos_tok is None else epos_tok[idx], dotpos)
            value[idx] = vals
            valid[idx] = good
            short[np.flatnonzero(short)[~ok]] = False
        rest = spec[~short]
        if rest.size:  # rare: more than 19 digits, or an exponent beyond +-22
            ends, lens = sep[rest].tolist(), ln[rest].tolist()
            try:
                value[rest] = [float(buf[e - n : e]) for e, n in zip(ends, lens, strict=True)]
            except ValueError:
                return None
            valid[rest] = True
    empty = ln == 0
    if empty.any():
        value[empty] = np.nan
        valid[empty] = True
    if not valid.all():
        return None
    return value.reshape(-1, ncols)

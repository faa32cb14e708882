#!/usr/bin/env python3
"""Writes the malformed matrix files of tests/data/bad/ and the valid-but-odd ones of tests/data/odd/.

Used by the `cli: ...` tests (tests/svd/tests.cmake) and listed in docs/bad-inputs.md. Pure Python, no numpy:
    python3 tests/data/bad/make_files.py
"""
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ODD = os.path.join(os.path.dirname(HERE), "odd")
RNG = random.Random(6)


def npy(header, data=b"", major=1, pad=True):
    """A .npy file: magic, version, header length, the header dict text (padded to 64 bytes), data."""
    h = header.encode("latin1")
    pre = 10 if major == 1 else 12
    if pad:
        total = pre + len(h) + 1
        h += b" " * ((64 - total % 64) % 64) + b"\n"
    size = struct.pack("<H", len(h)) if major == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([major, 0]) + size + h + data


def dict_(descr, shape, fortran=False):
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False", shape)


def f8(values, endian="<"):
    return b"".join(struct.pack(endian + "d", v) for v in values)


BAD = {
    # CSV
    "ragged.csv": b"1,2,3\n4,5,6\n7,8\n",
    "ragged_long.csv": b"1 2\n3 4 5\n",
    "not_a_number.csv": b"1,2\n3,abc\n",
    "header_row.csv": b"x,y\n1,2\n",
    "trailing_garbage.csv": b"1,2\n3,4x\n",
    "empty.csv": b"",
    "comments_only.csv": b"# nothing\n\n# here\n",
    "nan.csv": b"1,2\nNaN,4\n",
    "inf.csv": b"1,inf\n2,3\n",
    "overflow.csv": b"1,2\n3,1e999\n",
    "empty_field.csv": b"1,,2\n",
    "mixed_separators.csv": b"1,2\n3 4\n",
    "binary.csv": bytes(RNG.randrange(256) for _ in range(4096)),
    "long_line.csv": b"1," * 100000 + b"x\n",
    "utf16.csv": "1,2\n3,4\n".encode("utf-16"),
    # Matrix Market
    "pattern.mtx": b"%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 1\n",
    "complex.mtx": b"%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 1 1.0 0.0\n",
    "no_banner.mtx": b"2 2\n1\n2\n3\n4\n",
    "lying_size.mtx": b"%%MatrixMarket matrix array real general\n1000 1000\n1\n2\n3\n",
    "huge_size.mtx": b"%%MatrixMarket matrix coordinate real general\n100000000 100000000 1\n1 1 1\n",
    "sparse_lie.mtx": b"%%MatrixMarket matrix coordinate real general\n8192 8192 1\n1 1 1\n",
    "out_of_range.mtx": b"%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1.0\n4 2 2.0\n",
    "truncated.mtx": b"%%MatrixMarket matrix array real general\n2 2\n1.25\n2.25\n3.25\n",
    "symmetric_upper.mtx": b"%%MatrixMarket matrix coordinate real symmetric\n3 3 1\n1 2 5.0\n",
    "nan.mtx": b"%%MatrixMarket matrix array real general\n2 1\n1\nnan\n",
    # NumPy
    "not_npy.npy": b"NUMPY this is not a numpy file\n",
    "int64.npy": npy(dict_("<i8", "(2, 2)"), b"\0" * 32),
    "complex.npy": npy(dict_("<c16", "(1, 1)"), b"\0" * 16),
    "lying_shape.npy": npy(dict_("<f8", "(1000, 1000)"), f8([1.0, 2.0])),
    "huge_shape.npy": npy(dict_("<f8", "(4000000000, 4000000000)"), f8([1.0])),
    "truncated.npy": npy(dict_("<f8", "(2, 2)"), f8([1.0, 2.0, 3.0])),
    "header_len.npy": b"\x93NUMPY\x01\x00\xff\xff{'descr': '<f8'",
    "bad_header.npy": npy("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1, 1), }", f8([1.0])),
    "three_d.npy": npy(dict_("<f8", "(1, 1, 1)"), f8([1.0])),
    "nan.npy": npy(dict_("<f8", "(2, 1)"), f8([1.0, float("nan")])),
}

ODD_FILES = {
    # BOM, CRLF, comments, blank lines, spaces around commas, a trailing comment, no final newline
    "bom_crlf_comments.csv": b"\xef\xbb\xbf# a 3x2 matrix\r\n\r\n1.5, 2\r\n# between rows\r\n3,4 # trailing\r\n5,6",
    "whitespace.csv": b"  1\t2\n\n3    4\n5 6\n",
    "symmetric.mtx": b"%%MatrixMarket matrix coordinate real symmetric\n% comment\n3 3 4\n1 1 2\n2 1 1\n3 3 4\n3 2 -1\n",
    "array_integer.mtx": b"%%MatrixMarket matrix array integer general\n3 2\n1\n2\n3\n4\n5\n7\n",
    "fortran.npy": npy(dict_("<f8", "(3, 2)", fortran=True), f8([1, 3, 5, 2, 4, 6])),
    "float32_v2.npy": npy(dict_("<f4", "(3, 2)"), struct.pack("<6f", 1, 2, 3, 4, 5, 6), major=2),
    "big_endian.npy": npy(dict_(">f8", "(3, 2)"), f8([1, 2, 3, 4, 5, 6], ">")),
}

if __name__ == "__main__":
    os.makedirs(ODD, exist_ok=True)
    for name, data in BAD.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    for name, data in ODD_FILES.items():
        with open(os.path.join(ODD, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(BAD)} files to {HERE} and {len(ODD_FILES)} to {ODD}")

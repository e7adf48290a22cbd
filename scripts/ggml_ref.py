"""llama.cpp's own reference quantizers through ctypes (libggml-base.so as
bundled with llama-cpp-python), for the fixture generators."""
import ctypes
import os

import llama_cpp
import numpy as np

LIB = os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml-base.so")


def load():
    return ctypes.CDLL(LIB)


def quantize_rows_ref(lib, name, rows, block_values, block_bytes):
    """Concatenated bytes of quantize_row_<name>_ref over each row."""
    fn = getattr(lib, "quantize_row_%s_ref" % name)
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    fn.restype = None
    out = bytearray()
    for r in rows:
        src = np.ascontiguousarray(r, dtype=np.float32)
        dst = (ctypes.c_uint8 * (src.size // block_values * block_bytes))()
        fn(src.ctypes.data, ctypes.addressof(dst), src.size)
        out += bytes(dst)
    return bytes(out)

# Included by _codec.pyx. Twin: _codec_cells_py.py (same names, same results).

# Included by _codec.pyx. Twin: _codec_json_py.py (same names, same results).

# Included by _codec.pyx. Twin: _codec_text_py.py (same names, same results).

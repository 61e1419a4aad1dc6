# Included by _codec.pyx. Twin: _codec_xml_py.py (same names, same results).

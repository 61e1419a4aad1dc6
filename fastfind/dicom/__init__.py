"""DICOM vocabulary: UIDs and transfer syntaxes, statuses, the data dictionary, VR tables.

Nothing here imports anything else of fastfind's (the bottom layer).
"""

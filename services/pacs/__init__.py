"""Images from a PACS: query and retrieve over DICOMweb, or receive over DICOM (C-STORE).

Contract: both ways end in :func:`services.pacs.instances.take_instance`, the file import's
intake for one instance given as bytes (one de-identification, one duplicate rule), and both
record each import as a row of ``imports`` (:mod:`services.import_runs`). The modules that need
the optional ``[pacs]`` dependencies are imported by name, not from here:
:mod:`services.pacs.dicomweb` (``dicomweb-client``) and :mod:`services.pacs.receiver`
(``pynetdicom``); :mod:`services.pacs.instances` needs neither.
"""

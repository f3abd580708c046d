"""Reader studies: the same readers read the same cases under several arms (with and without the
model's answer and reasoning), and accuracy, time and confidence are compared.

Contract: the domain in plain modules, imported by name (this package imports nothing itself, so
any of them can be imported alone):

- :mod:`~services.reader_study.design`: arms, the crossover randomization (pure, seeded);
- :mod:`~services.reader_study.analysis`: accuracy, paired differences, time, confidence (pure);
- :mod:`~services.reader_study.figures`: plotly figures of an analysis;
- :mod:`~services.reader_study.studies`: creating and listing studies (database use cases);
- :mod:`~services.reader_study.reading`: a reader's next read, blinded by arm, and its submission;
- :mod:`~services.reader_study.results`: a study's reads, its analysis and the export folder;
- :mod:`~services.reader_study.access`: whether a reader may see a case's image.

See docs/READER_STUDIES.md.
"""

"""Enrolment pages, one module per feature: ``stations`` (home, stations, sessions),
``wizard`` (find the citizen, the five-step intake, printed forms) and ``supervision``
(statistics, cards and the production file, conflicts, approval)."""

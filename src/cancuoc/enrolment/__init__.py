"""ID-card enrolment (issue 5). For now only the pure card rules live here."""

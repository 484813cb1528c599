"""cancuoc: ID-card issuance campaigns and one-stop desk dossiers."""

"""ID-card enrolment (issue 5): stations, the 5-step intake, device adapters, quality
rules, encrypted biometric storage, card records with expiry/MRZ/QR, offline sync."""

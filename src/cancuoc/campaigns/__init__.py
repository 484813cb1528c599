"""Issuance campaigns (issue 6): targets and quotas, teams, equipment and shifts, sessions
at sites, invitations with time slots, home visits, the daily quota report, forecasts."""

"""Field-kit devices: enrolment with username and password, listing, revocation."""

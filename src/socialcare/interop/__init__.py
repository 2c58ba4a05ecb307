"""Interoperability: FHIR SDOH Clinical Care exchange (/fhir), the Open Referral HSDS 3.0 directory,
and flat files (CSV/Excel) with row-level validation and an SFTP-style drop folder."""

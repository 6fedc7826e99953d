"""The demo country: its identifiers, its open mSupply database generator and its DHIS2 export.

One package so that the example specs, the generated stock database and the sandbox's metadata
agree by construction (every UID and code comes from ``identifiers``).
"""

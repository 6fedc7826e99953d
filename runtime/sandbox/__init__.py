"""A local DHIS2 Web API (the sandbox): DHIS2's validation, responses and refusals per version."""

"""AWS on this machine, for the local stack and the tests: the template's resources in moto, moto's
patches, Lambda's runtime and API Gateway. Not deployed; nothing in the service imports it."""
